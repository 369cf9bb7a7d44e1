import type net from 'node:net';

/**
 * Why a child did not take a client socket handed to it:
 * - `gone`: its IPC channel was closed, or the send failed (it is dying; its exit may not be seen yet);
 * - `exited`: it exited (channel read to its end) without confirming the socket;
 * - `lost`: it confirmed a later hand-off first: this one never reached its 'message' handler
 *   (Node drops a handle message whose descriptor did not arrive, NODE_HANDLE_NACK).
 */
export type UntakenReason = 'gone' | 'exited' | 'lost';

/**
 * The client sockets handed to one child and not yet confirmed, in hand-off order. The
 * supervisor's copy of each descriptor stays open until the child says 'conn-taken', so a
 * socket the child never got can be placed on another worker instead of being dropped.
 *
 * The child confirms each 'conn' as it reads it, and the channel keeps order, so a confirmation
 * of hand-off k also settles every earlier one still here: those were lost on the way.
 */
export class HandOffs {
  private next = 1;
  private readonly pending = new Map<number, { socket: net.Socket; untaken: (why: UntakenReason) => void }>();

  /** Records a socket about to be sent; returns its hand-off number (the `handOff` of 'conn'). */
  add(socket: net.Socket, untaken: (why: UntakenReason) => void): number {
    const handOff = this.next++;
    this.pending.set(handOff, { socket, untaken });
    return handOff;
  }

  /** The child has socket `handOff`: the supervisor's copy is closed (close(2), no FIN: the child's stays open). */
  taken(handOff: number): void {
    for (const [n, entry] of this.pending) {
      if (n > handOff) break;
      this.pending.delete(n);
      if (n === handOff) entry.socket.destroy();
      else entry.untaken('lost');
    }
  }

  /** Socket `handOff` did not reach the child; a no-op once it was settled. */
  untaken(handOff: number, why: UntakenReason): void {
    const entry = this.pending.get(handOff);
    if (!entry) return;
    this.pending.delete(handOff);
    entry.untaken(why);
  }

  /** The child is gone: every socket it did not confirm (called before its exit is handled). */
  untakenAll(why: UntakenReason): void {
    for (const n of [...this.pending.keys()]) this.untaken(n, why);
  }
}
