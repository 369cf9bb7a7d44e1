import type net from 'node:net';
import { Backoff } from './backoff';
import type { Child } from './child';
import type { Placement, PlacementHost } from './placement';

/**
 * `dedicated`: one worker process per client, as in the seeds' fork-per-connection servers,
 * with pre-spawned spares (like Apache prefork) so a connect need not wait for a process
 * start, and a cap on processes. A worker ends with its client.
 */
export class DedicatedPlacement implements Placement {
  private readonly spares: Child[] = [];
  private readonly starting = new Set<Child>();
  private readonly busy = new Set<Child>();
  private readonly waiting: net.Socket[] = [];
  private readonly backoff = new Backoff();
  private refillTimer: NodeJS.Timeout | null = null;
  private startedResolve: (() => void) | null = null;

  constructor(
    private readonly host: PlacementHost,
    private readonly spareCount: number,
    private readonly maxProcesses: number,
  ) {}

  start(): Promise<void> {
    this.refill();
    if (this.starting.size === 0) return Promise.resolve();
    return new Promise((resolve) => (this.startedResolve = resolve));
  }

  place(socket: net.Socket): boolean {
    const spare = this.spares.shift();
    if (spare) {
      this.assign(spare, socket);
    } else if (this.processCount < this.maxProcesses || this.starting.size > this.waiting.length) {
      this.waiting.push(socket);
    } else {
      return false;
    }
    this.refill();
    return true;
  }

  onReady(worker: Child): void {
    this.starting.delete(worker);
    const socket = this.waiting.shift();
    if (socket) this.assign(worker, socket);
    else this.spares.push(worker);
    if (this.startedResolve && this.starting.size === 0) {
      this.startedResolve();
      this.startedResolve = null;
    }
  }

  onExit(worker: Child, ranForMs: number): void {
    const diedUnused = this.starting.delete(worker) || remove(this.spares, worker);
    this.busy.delete(worker);
    if (this.host.stopping) return;
    // A process that dies before serving anyone is a broken start: do not spin on it.
    if (diedUnused) this.scheduleRefill(this.backoff.next(ranForMs));
    else this.refill();
  }

  workers(): Child[] {
    return [...this.spares, ...this.starting, ...this.busy];
  }

  takeWaiting(): net.Socket[] {
    return this.waiting.splice(0);
  }

  private get processCount(): number {
    return this.spares.length + this.starting.size + this.busy.size;
  }

  private assign(worker: Child, socket: net.Socket): void {
    this.busy.add(worker);
    this.host.handOff(worker, socket);
  }

  /** Keeps `spareCount` idle processes, plus one for each client still waiting, under the cap. */
  private refill(): void {
    if (this.refillTimer || this.host.stopping) return;
    while (this.spares.length + this.starting.size < this.spareCount + this.waiting.length && this.processCount < this.maxProcesses) {
      this.starting.add(this.host.spawnWorker());
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
