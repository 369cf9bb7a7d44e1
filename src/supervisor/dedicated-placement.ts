import type net from 'node:net';
import { Backoff } from './backoff';
import type { Child } from './child';
import type { Placement, PlacementHost } from './placement';
import { WaitingList } from './waiting-list';

/** How far back the connect rate is counted: a second of arrivals is kept ready ahead. */
const RATE_WINDOW_MS = 1000;
/** Spares above `spares` are stopped after this long without a new client (Apache's idle maintenance, slower). */
const RETIRE_AFTER_MS = 10_000;

export interface DedicatedLimits {
  /** `spares`: idle processes kept ready at least. */
  minSpares: number;
  /** `maxSpares`: idle processes at most when the spares grow with the connect rate. */
  maxSpares: number;
  /** `maxProcesses`: worker processes at most, spares included. */
  maxProcesses: number;
  /**
   * Processes starting at once. A start is mostly CPU (Node and the worker's modules), so more
   * starts than cores only make every one of them late; fewer at a time become ready one by one.
   */
  maxStarting: number;
}

/**
 * `dedicated`: one worker process per client, as in the seeds' fork-per-connection servers,
 * with pre-spawned spares (like Apache prefork) so a connect need not wait for a process
 * start, and a cap on processes. A worker ends with its client.
 *
 * The spares grow with the connect rate, as Apache prefork's do between MinSpareServers and
 * MaxSpareServers: the target is `minSpares` plus the clients placed in the last second, at
 * most `maxSpares` (and never below `minSpares`). Each arrival thus takes one spare and asks
 * for two, so a burst is met by spares started a second of arrivals ahead. After
 * RETIRE_AFTER_MS without an arrival the spares above `minSpares` are stopped.
 */
export class DedicatedPlacement implements Placement {
  private readonly spares: Child[] = [];
  private readonly starting = new Set<Child>();
  private readonly busy = new Set<Child>();
  /** Spares told to stop after a quiet spell; alive until they exit. */
  private readonly retiring = new Set<Child>();
  readonly waiting = new WaitingList();
  /** When each client of the last RATE_WINDOW_MS was placed (ms, ascending). */
  private arrivals: number[] = [];
  private readonly backoff = new Backoff();
  private refillTimer: NodeJS.Timeout | null = null;
  private retireTimer: NodeJS.Timeout | null = null;
  private startedResolve: (() => void) | null = null;

  constructor(
    private readonly host: PlacementHost,
    private readonly limits: DedicatedLimits,
  ) {}

  /** Resolves when the first `minSpares` processes are ready: the server is ready only then. */
  start(): Promise<void> {
    this.refill();
    if (this.starting.size === 0) return Promise.resolve();
    return new Promise((resolve) => (this.startedResolve = resolve));
  }

  place(socket: net.Socket, waitingSince?: number): boolean {
    const spare = this.spares.shift();
    if (spare) {
      this.assign(spare, socket);
    } else if (this.processCount < this.limits.maxProcesses || this.starting.size > this.waiting.length) {
      this.waiting.push(socket, waitingSince);
    } else {
      return false;
    }
    this.arrived(Date.now());
    this.refill();
    return true;
  }

  onReady(worker: Child): void {
    this.starting.delete(worker);
    const socket = this.waiting.shift();
    if (socket) this.assign(worker, socket);
    else this.spares.push(worker);
    // A start slot is free: the next start may begin.
    this.refill();
    if (this.startedResolve && this.starting.size === 0) {
      this.startedResolve();
      this.startedResolve = null;
    }
  }

  onExit(worker: Child, ranForMs: number): void {
    const diedUnused = this.starting.delete(worker) || remove(this.spares, worker);
    this.busy.delete(worker);
    this.retiring.delete(worker);
    if (this.host.stopping) return;
    // A process that dies before serving anyone is a broken start: do not spin on it.
    if (diedUnused) this.scheduleRefill(this.backoff.next(ranForMs));
    else this.refill();
  }

  workers(): Child[] {
    return [...this.spares, ...this.starting, ...this.busy, ...this.retiring];
  }

  /** The processes serving a client: each hands it to a new process of its own. */
  upgradeTargets(): Child[] {
    return [...this.busy].filter((w) => w.alive);
  }

  upgradeWorkersWanted(targets: number): number {
    return targets;
  }

  /**
   * Each new process serves the client of one old one; the old spares (old code) are stopped,
   * and the refill that follows their exit starts spares from the new code.
   */
  swapIn(targets: Child[], fresh: Child[]): void {
    for (const w of targets) this.busy.delete(w);
    for (const w of fresh) this.busy.add(w);
    for (const w of this.spares.splice(0)) {
      this.retiring.add(w);
      w.send({ type: 'shutdown' });
    }
  }

  private get processCount(): number {
    return this.spares.length + this.starting.size + this.busy.size + this.retiring.size;
  }

  /** Idle processes wanted now: `minSpares` plus the last second's arrivals, within `maxSpares`. */
  private targetSpares(now: number): number {
    while (this.arrivals.length > 0 && this.arrivals[0]! <= now - RATE_WINDOW_MS) this.arrivals.shift();
    const { minSpares, maxSpares } = this.limits;
    return Math.max(minSpares, Math.min(maxSpares, minSpares + this.arrivals.length));
  }

  private arrived(now: number): void {
    this.arrivals.push(now);
    if (this.retireTimer) clearTimeout(this.retireTimer);
    this.retireTimer = setTimeout(() => this.retireIdle(), RETIRE_AFTER_MS);
    this.retireTimer.unref();
  }

  private assign(worker: Child, socket: net.Socket): void {
    this.busy.add(worker);
    this.host.handOff(worker, socket);
  }

  /**
   * Starts processes until the spares (ready or starting) reach the target plus one for each
   * client still waiting, within the process cap and `maxStarting` starts at once.
   */
  private refill(): void {
    if (this.refillTimer || this.host.stopping) return;
    const wanted = this.targetSpares(Date.now()) + this.waiting.length;
    while (this.spares.length + this.starting.size < wanted && this.processCount < this.limits.maxProcesses && this.starting.size < this.limits.maxStarting) {
      this.starting.add(this.host.spawnWorker());
    }
  }

  /** After a quiet spell: idle processes above the target (now `minSpares`) stop, newest first. */
  private retireIdle(): void {
    this.retireTimer = null;
    if (this.host.stopping) return;
    const extra = this.spares.length - this.targetSpares(Date.now());
    for (const worker of this.spares.splice(this.spares.length - Math.max(0, extra))) {
      this.retiring.add(worker);
      worker.send({ type: 'shutdown' });
    }
  }

  private scheduleRefill(ms: number): void {
    if (this.refillTimer) return;
    this.refillTimer = setTimeout(() => {
      this.refillTimer = null;
      this.refill();
    }, ms);
  }
}

function remove<T>(items: T[], item: T): boolean {
  const i = items.indexOf(item);
  if (i !== -1) items.splice(i, 1);
  return i !== -1;
}
