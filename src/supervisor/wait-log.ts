import type { Logger } from 'pino';

/** Late refusals after the first of a spell are logged at most this often, with their count. */
const LATE_WARN_EVERY_MS = 10_000;

/**
 * What the log says about clients waiting for a ready worker, a few lines per spell however
 * many clients it holds: one when the spell begins (a client has to wait), one when it ends (a
 * worker is ready, whatever still waits is placed), and for the clients refused in between for
 * waiting `workerWaitMs` (src/supervisor/wait-deadline.ts) the first refusal at once, then at most
 * one line per LATE_WARN_EVERY_MS with the count since the last. A spell emptied by refusals is
 * not over: the next client to wait is part of it, and its end line counts every refusal.
 *
 * Waiting is routine with dedicated placement (a client whose process is starting), so the
 * begin and end lines are debug there; late refusals are warnings in either placement.
 */
export class WaitLog {
  /** When the spell began (ms since the epoch); null: no spell. */
  private since: number | null = null;
  private lateInSpell = 0;
  private lateSinceWarn = 0;
  private lastLateWarn = 0;

  constructor(
    private readonly log: Logger,
    private readonly placement: 'pool' | 'dedicated',
  ) {}

  /** After clients were added to or placed from the wait: `waiting` is how many wait now. */
  waiting(waiting: number): void {
    const level = this.placement === 'pool' ? 'warn' : 'debug';
    if (waiting > 0 && this.since === null) {
      this.since = Date.now();
      this.log[level]({ waiting }, 'no worker ready: new clients wait for one (workers starting or being replaced)');
    } else if (waiting === 0 && this.since !== null) {
      const refusedLate = this.lateInSpell > 0 ? { refusedLate: this.lateInSpell } : {};
      this.log[this.placement === 'pool' ? 'info' : 'debug']({ waitedMs: Date.now() - this.since, ...refusedLate }, 'a worker is ready: the waiting clients are placed');
      this.since = null;
      this.lateInSpell = 0;
      this.lateSinceWarn = 0;
    }
  }

  /** `refused` clients were closed for waiting `workerWaitMs`; `waiting` still wait. */
  refusedLate(refused: number, waiting: number, workerWaitMs: number): void {
    this.lateInSpell += refused;
    this.lateSinceWarn += refused;
    const now = Date.now();
    if (now - this.lastLateWarn < LATE_WARN_EVERY_MS) return;
    this.log.warn({ refused: this.lateSinceWarn, workerWaitMs, waiting }, 'refused clients that waited --worker-wait-ms for a worker: none became ready (are workers crashing at start?)');
    this.lastLateWarn = now;
    this.lateSinceWarn = 0;
  }
}
