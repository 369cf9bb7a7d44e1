/** What a `history` request was for: a page of a room's timeline, or a probe of its newest message (for its unread count). */
export type HistoryPurpose = 'page' | 'probe';

/**
 * The `history` requests in flight, per room, in the order sent. An answer does not say what it
 * was asked for, but the server answers a connection's requests in order, so the oldest request
 * of the room is the one answered. Forgotten when the link goes down (their answers never come).
 */
export class HistoryRequests {
  private readonly byRoom = new Map<string, HistoryPurpose[]>();

  /** Records a request for `roomid` just sent. */
  add(roomid: string, purpose: HistoryPurpose): void {
    const waits = this.byRoom.get(roomid) ?? [];
    waits.push(purpose);
    this.byRoom.set(roomid, waits);
  }

  /** Whether a request of `purpose` for `roomid` is in flight. */
  pending(roomid: string, purpose: HistoryPurpose): boolean {
    return (this.byRoom.get(roomid) ?? []).includes(purpose);
  }

  /** Takes the oldest request of `roomid`, which a `history` just answered ('page' when none was known). */
  answered(roomid: string): HistoryPurpose {
    return this.byRoom.get(roomid)?.shift() ?? 'page';
  }

  /**
   * Forgets the oldest probe at the head of a room's queue: an error (NO_SUCH_ROOM, INVITE_ONLY,
   * BANNED) answered it instead of a `history`, the room being gone or closed to us meanwhile.
   * @returns whether there was such a probe
   */
  dropProbe(): boolean {
    for (const [room, waits] of this.byRoom) {
      if (waits[0] === 'probe') {
        waits.shift();
        if (waits.length === 0) this.byRoom.delete(room);
        return true;
      }
    }
    return false;
  }

  /** The link went down: nothing in flight will be answered. */
  clear(): void {
    this.byRoom.clear();
  }
}
