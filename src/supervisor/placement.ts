import type net from 'node:net';
import type { Child } from './child';
import type { WaitingList } from './waiting-list';

/** What a placement policy needs from the supervisor. */
export interface PlacementHost {
  /** Starts a worker process; its 'ready' and exit are routed back to the policy. */
  spawnWorker(): Child;
  /** Passes the socket to the worker and counts it. */
  handOff(worker: Child, socket: net.Socket): void;
  readonly stopping: boolean;
}

/** Decides which worker process serves a new client. */
export interface Placement {
  /** Resolves when the first workers are ready to take clients. */
  start(): Promise<void>;
  /**
   * Places the client, or returns false when no process can be had (the cap is reached).
   * `waitingSince`: when the client was first admitted (ms since the epoch; default now), the
   * start of its wait should it have to wait.
   */
  place(socket: net.Socket, waitingSince?: number): boolean;
  onReady(worker: Child): void;
  onExit(worker: Child, ranForMs: number): void;
  /** Every live worker process. */
  workers(): Child[];
  /**
   * The clients accepted but not yet handed to a worker, oldest first: counted against
   * `maxClients` (so the wait is bounded in number) and refused past `workerWaitMs`
   * (src/supervisor/wait-deadline.ts). The policy adds and places; the supervisor reads and
   * takes out what it refuses.
   */
  readonly waiting: WaitingList;
  /** An upgrade (src/supervisor/upgrade.ts): the workers whose sessions move to new ones. */
  upgradeTargets(): Child[];
  /** How many new workers the upgrade starts, given the number of targets. */
  upgradeWorkersWanted(targets: number): number;
  /**
   * The new workers are ready: they take the targets' place (new clients go to them; a
   * target's exit is not a crash to make up for), and idle workers of the old code go.
   */
  swapIn(targets: Child[], fresh: Child[]): void;
}
