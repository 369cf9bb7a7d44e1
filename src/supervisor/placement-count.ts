import type net from 'node:net';

/**
 * Placements one client socket may have: its first, and two more after workers that died
 * before taking it (src/supervisor/hand-offs.ts); a fourth is refused. One failed hand-off is
 * routine (the worker was killed or crashed with the socket in flight); a second happens when
 * the whole pool dies at once (the socket may meet a second dead worker, its death not seen
 * yet, before it waits for a replacement: test/integration/worker-replacement.test.ts kills both
 * of 2). A third in a row means workers die as they are given clients: each placement again
 * waits for a new worker to come up, which resets the --worker-wait-ms clock, so without this
 * bound such a client would be bounced for as long as the workers keep dying.
 */
export const MAX_PLACEMENTS = 3;

/**
 * How often each client socket has been placed on a worker, and when it was first: kept by
 * socket (a WeakMap: nothing to remove when the socket goes).
 */
export class PlacementCount {
  private readonly bySocket = new WeakMap<net.Socket, { placements: number; since: number }>();

  /**
   * A placement of `socket` begins (its admission, or a placement again): counted. Returns when
   * its first began (ms since the epoch) and whether this is a placement again.
   */
  placing(socket: net.Socket): { since: number; again: boolean } {
    const entry = this.bySocket.get(socket);
    if (entry) {
      entry.placements++;
      return { since: entry.since, again: true };
    }
    const since = Date.now();
    this.bySocket.set(socket, { placements: 1, since });
    return { since, again: false };
  }

  /** How often `socket` has been placed so far (0: never). */
  placements(socket: net.Socket): number {
    return this.bySocket.get(socket)?.placements ?? 0;
  }
}
