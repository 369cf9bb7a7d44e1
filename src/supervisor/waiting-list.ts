import type net from 'node:net';

/**
 * The clients a placement holds while no worker is ready for them, first come first served,
 * each with the time it began to wait (its first admission). In that order, the head has always
 * waited longest: the time bound (`workerWaitMs`, src/supervisor/wait-deadline.ts) needs one
 * timer, for the head.
 */
export class WaitingList {
  private readonly entries: Array<{ socket: net.Socket; since: number }> = [];

  get length(): number {
    return this.entries.length;
  }

  /**
   * The client begins to wait. `since` (ms since the epoch): when it was first admitted, which
   * for a socket placed again after a worker failed to take it is earlier than now; it goes
   * into its place by that time, so the head is still the longest waiting.
   */
  push(socket: net.Socket, since = Date.now()): void {
    let at = this.entries.length;
    while (at > 0 && this.entries[at - 1]!.since > since) at--;
    this.entries.splice(at, 0, { socket, since });
  }

  /** The client that has waited longest, removed; undefined when none waits. */
  shift(): net.Socket | undefined {
    return this.entries.shift()?.socket;
  }

  /** Every waiting client, removed, oldest first. */
  takeAll(): net.Socket[] {
    return this.entries.splice(0).map((e) => e.socket);
  }

  /** How long the oldest client has waited, in ms; null when none waits. */
  longestWait(): number | null {
    const head = this.entries[0];
    return head ? Date.now() - head.since : null;
  }

  /** The clients that have waited `ms` or longer, removed, oldest first. */
  takeWaitedFor(ms: number): net.Socket[] {
    const cutoff = Date.now() - ms;
    let n = 0;
    while (n < this.entries.length && this.entries[n]!.since <= cutoff) n++;
    return this.entries.splice(0, n).map((e) => e.socket);
  }
}
