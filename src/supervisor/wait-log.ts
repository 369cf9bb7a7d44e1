import type { Logger } from 'pino';

/** Refusals after the first of a burst are logged at most this often, with their count. */
const REFUSED_WARN_EVERY_MS = 10_000;

/** A warning for a burst of refusals: the first at once, then at most one per REFUSED_WARN_EVERY_MS. */
class BurstWarning {
  private sinceWarn = 0;
  private lastWarn = 0;

  /** Counts `n` refusals; returns how many to report now (those since the last warning), or null. */
  add(n: number): number | null {
    this.sinceWarn += n;
    const now = Date.now();
    if (now - this.lastWarn < REFUSED_WARN_EVERY_MS) return null;
    const count = this.sinceWarn;
    this.lastWarn = now;
    this.sinceWarn = 0;
    return count;
  }

  /** The refusals not reported yet are dropped (counted elsewhere: the spell's end line). */
  forget(): void {
    this.sinceWarn = 0;
  }
}

/**
 * What the log says about clients waiting for a ready worker, a few lines per spell however
 * many clients it holds: one when the spell begins (a client has to wait), one when it ends (a
 * worker is ready, whatever still waits is placed), and for the clients refused in between for
 * waiting `workerWaitMs` (src/supervisor/wait-deadline.ts) the first refusal at once, then at most
 * one line per REFUSED_WARN_EVERY_MS with the count since the last. A spell emptied by refusals is
 * not over: the next client to wait is part of it, and its end line counts every refusal.
 *
 * Waiting is routine with dedicated placement (a client whose process is starting), so the
 * begin and end lines are debug there; late refusals are warnings in either placement. So are
 * the refusals of clients bounced between dying workers (src/supervisor/placement-count.ts),
 * logged the same way: the first at once, then at most one line per REFUSED_WARN_EVERY_MS.
 */
export class WaitLog {
  /** When the spell began (ms since the epoch); null: no spell. */
  private since: number | null = null;
  private lateInSpell = 0;
  private readonly lateWarning = new BurstWarning();
  private readonly bouncedWarning = new BurstWarning();

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
      this.lateWarning.forget();
    }
  }

  /** `refused` clients were closed for waiting `workerWaitMs`; `waiting` still wait. */
  refusedLate(refused: number, waiting: number, workerWaitMs: number): void {
    this.lateInSpell += refused;
    const count = this.lateWarning.add(refused);
    if (count === null) return;
    this.log.warn({ refused: count, workerWaitMs, waiting }, 'refused clients that waited --worker-wait-ms for a worker: none became ready (are workers crashing at start?)');
  }

  /** A client was closed after `placements` workers in a row died before taking it. */
  refusedBounced(placements: number): void {
    const count = this.bouncedWarning.add(1);
    if (count === null) return;
    this.log.warn({ refused: count, placements }, 'refused clients that workers kept dying with before taking them (are workers crashing as they get clients?)');
  }
}
