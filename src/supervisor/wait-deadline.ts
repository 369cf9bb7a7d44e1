import type net from 'node:net';
import type { WaitingList } from './waiting-list';

/**
 * `workerWaitMs`: how long a client may wait for a ready worker while none becomes ready.
 * Without it a client accepted while every worker crash-loops (broken code on disk, a missing
 * dependency) would be held until the server stops, its connection and address slot with it.
 *
 * A client is refused once it has waited `workerWaitMs` AND no worker has become ready for as
 * long: the workers make no progress. With a pool that is the same as its own wait (a ready
 * worker takes every waiting client). With dedicated placement clients wait in line for process
 * starts, `maxStarting` at a time, so under a burst the last of the line waits for many starts
 * (measured: 50 clients at once on 2 loaded cores, 30 s for the last); each start that ends is
 * progress, and none of them is refused while processes keep coming up.
 *
 * One timer for all the waiting clients, due when the oldest passes the bound: the waiting list
 * is FIFO (src/supervisor/waiting-list.ts), so no other client is due before it. When it fires,
 * every client past the bound is taken off the list at once and given to `late`, and the timer
 * is set again for the new oldest, if any.
 */
export class WaitDeadline {
  private timer: NodeJS.Timeout | null = null;
  /** When a worker last became ready for placement (ms since the epoch); 0: not since the start. */
  private lastReady = 0;

  constructor(
    /** The placement's waiting clients (oldest first). */
    private readonly waiting: WaitingList,
    /** The bound in force, in ms (read at each arming: a reload changes it). */
    private readonly maxWaitMs: () => number,
    /** The clients that waited too long, oldest first, already off the waiting list. */
    private readonly late: (sockets: net.Socket[]) => void,
  ) {}

  /**
   * A client began to wait: sets the timer for the oldest if none is set (one set already is
   * due no later than this client's deadline, being for an older client or a later progress).
   */
  arm(): void {
    if (this.timer) return;
    const waited = this.waiting.longestWait();
    if (waited === null) return;
    const stalled = Math.min(waited, Date.now() - this.lastReady);
    this.timer = setTimeout(() => this.fire(), Math.max(0, this.maxWaitMs() - stalled));
    // The listeners keep the process alive; a pending deadline alone must not.
    this.timer.unref();
  }

  /** A worker became ready for placement: the waiting clients' deadlines move on. */
  progressed(): void {
    this.lastReady = Date.now();
  }

  /** The bound changed (a reload): the timer is set again for the new value. */
  rearm(): void {
    this.stop();
    this.arm();
  }

  /** The server stops: its waiting clients are refused as shutting down, not as late. */
  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private fire(): void {
    this.timer = null;
    const max = this.maxWaitMs();
    if (Date.now() - this.lastReady >= max) {
      const late = this.waiting.takeWaitedFor(max);
      if (late.length > 0) this.late(late);
    }
    this.arm();
  }
}
