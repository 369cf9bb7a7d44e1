import type net from 'node:net';
import { Backoff } from './backoff';
import type { Child } from './child';
import type { Placement, PlacementHost } from './placement';
import { WaitingList } from './waiting-list';

/**
 * `pool`: N long-lived workers, each new client to the least loaded ready one. A crashed
 * worker is replaced after a backoff that grows while it keeps crashing.
 */
export class PoolPlacement implements Placement {
  private readonly live = new Set<Child>();
  readonly waiting = new WaitingList();
  private readonly backoff = new Backoff();
  private startedResolve: (() => void) | null = null;

  constructor(
    private readonly host: PlacementHost,
    private readonly size: number,
  ) {}

  start(): Promise<void> {
    for (let i = 0; i < this.size; i++) this.live.add(this.host.spawnWorker());
    return new Promise((resolve) => (this.startedResolve = resolve));
  }

  place(socket: net.Socket, waitingSince?: number): boolean {
    const worker = this.leastLoaded();
    if (worker) this.host.handOff(worker, socket);
    else this.waiting.push(socket, waitingSince);
    return true;
  }

  onReady(): void {
    if (this.startedResolve && [...this.live].every((w) => w.ready)) {
      this.startedResolve();
      this.startedResolve = null;
    }
    for (let socket = this.waiting.shift(); socket; socket = this.waiting.shift()) this.host.handOff(this.leastLoaded()!, socket);
  }

  onExit(worker: Child, ranForMs: number): void {
    if (!this.live.delete(worker) || this.host.stopping) return;
    setTimeout(() => {
      if (!this.host.stopping) this.live.add(this.host.spawnWorker());
    }, this.backoff.next(ranForMs));
  }

  workers(): Child[] {
    return [...this.live];
  }

  upgradeTargets(): Child[] {
    return [...this.live].filter((w) => w.alive);
  }

  /** As many as the pool's size: the same pool, on the new code. */
  upgradeWorkersWanted(): number {
    return this.size;
  }

  swapIn(targets: Child[], fresh: Child[]): void {
    for (const w of targets) this.live.delete(w);
    for (const w of fresh) this.live.add(w);
    for (let socket = this.waiting.shift(); socket; socket = this.waiting.shift()) this.host.handOff(this.leastLoaded()!, socket);
  }

  private leastLoaded(): Child | undefined {
    let best: Child | undefined;
    for (const w of this.live) if (w.ready && w.alive && (!best || w.sessions < best.sessions)) best = w;
    return best;
  }
}
