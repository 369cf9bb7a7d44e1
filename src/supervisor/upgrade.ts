import type { Logger } from 'pino';
import type { ChildToSupervisor } from '../ipc/supervisor-messages';
import type { Child } from './child';
import type { Placement } from './placement';

/** New workers must be ready (linked to the hub) within this long, or the upgrade is called off. */
const READY_TIMEOUT_MS = 20_000;
/** Old workers must have handed everything over and exited within this long; then they are killed. */
const HANDOFF_TIMEOUT_MS = 30_000;

/**
 * What an upgrade did, as `switchboard upgrade` prints it. `sessionsMoved`: plain TCP and
 * Unix-socket sessions now served by a new worker on the same connection; `sessionsClosed`:
 * those closed instead, by why (`tls`: TLS sessions, told SHUTTING_DOWN; `left`: the client
 * went during its hand-off; `slow-consumer`; ...).
 */
export interface UpgradeResult {
  ok: boolean;
  /** Why it failed or was refused (ok false). */
  error?: string;
  workersReplaced: number;
  oldPids: number[];
  newPids: number[];
  sessionsMoved: number;
  sessionsClosed: Record<string, number>;
  durationMs: number;
}

/** What an upgrade needs of the supervisor. */
export interface UpgradeHost {
  readonly placement: Placement;
  /** Starts a worker process (from the worker code on disk now). */
  spawnWorker(): Child;
  /** A session moved from `from` to `to` (the supervisor's per-worker and per-address books). */
  sessionMoved(from: Child, to: Child, connId: number | undefined): void;
}

/**
 * One upgrade of the worker processes (SIGUSR2, `switchboard upgrade`): starts new workers
 * from the code on disk, and once all are ready, has each old worker hand its live sessions to
 * one of them (the protocol: src/worker/hand-off.ts), relaying each socket's descriptor and
 * state; old workers exit when done. New workers that do not come up call the upgrade off
 * before any session moved: the old workers go on serving.
 */
export class Upgrade {
  private readonly starting = new Set<Child>();
  private readonly readyWaiters = new Map<Child, () => void>();
  private readonly pairs = new Map<Child, Child>();
  private moved = 0;
  private readonly closed: Record<string, number> = {};

  constructor(
    private readonly host: UpgradeHost,
    private readonly log: Logger,
  ) {}

  /** The old and new workers of this upgrade (a stop during it must reach them all). */
  children(): Child[] {
    return [...this.pairs.keys(), ...this.pairs.values(), ...this.starting];
  }

  /** True for a new worker of this upgrade that is not ready yet ('ready' comes here). */
  owns(child: Child): boolean {
    return this.starting.has(child);
  }

  onReady(child: Child): void {
    child.ready = true;
    this.starting.delete(child);
    this.readyWaiters.get(child)?.();
  }

  async run(): Promise<UpgradeResult> {
    const t0 = Date.now();
    const { placement } = this.host;
    const olds = placement.upgradeTargets();
    const fresh = placement.upgradeWorkersWanted(olds.length);
    const news: Child[] = [];
    for (let i = 0; i < fresh; i++) {
      const child = this.host.spawnWorker();
      this.starting.add(child);
      news.push(child);
    }
    this.log.info({ oldWorkers: olds.map((w) => w.pid), newWorkers: news.map((w) => w.pid) }, 'upgrade: starting new workers');
    const up = await this.allReady(news);
    if (up !== true) {
      for (const w of news) {
        w.upgradedAway = true;
        w.kill('SIGKILL');
      }
      this.starting.clear();
      this.log.error({ reason: up }, 'upgrade called off; the old workers go on serving');
      return this.result(false, t0, olds, [], up);
    }
    placement.swapIn(olds, news);
    for (const [i, old] of olds.entries()) {
      const to = news[i % news.length]!;
      this.pairs.set(old, to);
      old.upgradedAway = true;
      old.ready = false;
      old.send({ type: 'upgrade-handoff', to: to.id });
    }
    await waitExited(olds, HANDOFF_TIMEOUT_MS);
    const result = this.result(true, t0, olds, news);
    this.log.info(result, 'upgrade done');
    return result;
  }

  /** A message of an old worker about its hand-off; the handle is a socket's (`handed`). */
  onOldWorkerMessage(from: Child, msg: ChildToSupervisor, handle: object | undefined): void {
    if (msg.type === 'handoff-done') {
      for (const [why, n] of Object.entries(msg.closed)) this.closed[why] = (this.closed[why] ?? 0) + n;
      return;
    }
    if (msg.type !== 'handed') return;
    const to = this.pairs.get(from);
    if (!to) {
      (handle as { close?: () => void } | undefined)?.close?.();
      return;
    }
    if (!msg.session.gone) this.moved++;
    else this.closed.left = (this.closed.left ?? 0) + 1;
    this.host.sessionMoved(from, to, msg.session.connId);
    to.sendWithHandle({ type: 'adopt', session: msg.session }, handle ?? null, (err) => {
      // Sent: the descriptor is in the new worker; this process's copy goes.
      (handle as { close?: () => void } | undefined)?.close?.();
      if (err) this.log.error({ err, workerId: to.id }, 'upgrade: passing a session to the new worker failed; its client is cut off');
    });
  }

  /** True once every worker is ready, or why not: one exited, or the time ran out. */
  private allReady(news: Child[]): Promise<true | string> {
    return new Promise((resolve) => {
      let left = news.length;
      if (left === 0) return resolve(true);
      const timer = setTimeout(() => resolve(`new workers not ready within ${READY_TIMEOUT_MS} ms`), READY_TIMEOUT_MS);
      for (const w of news) {
        this.readyWaiters.set(w, () => {
          if (--left === 0) {
            clearTimeout(timer);
            resolve(true);
          }
        });
        void w.exited.then(({ code, signal }) => {
          if (!w.ready) {
            clearTimeout(timer);
            resolve(`a new worker exited before it was ready (code ${code}, signal ${signal})`);
          }
        });
      }
    });
  }

  private result(ok: boolean, t0: number, olds: Child[], news: Child[], error?: string): UpgradeResult {
    return {
      ok,
      ...(error ? { error } : {}),
      workersReplaced: ok ? olds.length : 0,
      oldPids: olds.map((w) => w.pid ?? 0),
      newPids: news.map((w) => w.pid ?? 0),
      sessionsMoved: this.moved,
      sessionsClosed: this.closed,
      durationMs: Date.now() - t0,
    };
  }
}

/** Waits for the children to exit; those still alive after `ms` are killed. */
async function waitExited(children: Child[], ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)));
  await Promise.race([Promise.all(children.map((c) => c.exited)), late]);
  clearTimeout(timer);
  for (const c of children) c.kill('SIGKILL');
  await Promise.all(children.map((c) => c.exited));
}
