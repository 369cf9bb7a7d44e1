/**
 * Memory of what has been shown, so that nothing is shown twice: room messages by room, epoch
 * and `seq` (a resume after a reconnection may repeat what arrived live; a seq of another
 * epoch is another message, so a new epoch forgets the room's seqs), direct messages by id
 * (an inbox delivery not yet acknowledged comes again), and the ids shown in short form, for
 * `#recall`. Pure and bounded: the oldest entries are forgotten first.
 */

/** Entries kept per room, and direct-message ids kept. */
export const DEFAULT_SEEN_LIMIT = 10_000;

interface RoomSeen {
  /** The epoch the seqs count in; undefined from a server without epochs. */
  epoch: string | undefined;
  /** Highest seq shown. */
  last: number;
  /** Seqs shown, oldest first (a Set keeps insertion order). */
  seqs: Set<number>;
}

/** Remembers the room messages and direct messages shown. */
export class SeenMessages {
  private readonly rooms = new Map<string, RoomSeen>();
  private readonly dms = new Set<string>();
  /**
   * Ids of the room messages shown: a new epoch that carries messages shown under the old one
   * (a restored server replays them under the same ids) does not show them twice.
   */
  private readonly roomIds = new Set<string>();

  constructor(private readonly limit: number = DEFAULT_SEEN_LIMIT) {}

  /** Whether the message `seq` of `roomid` (in `epoch`, when the server gives one) was shown already. */
  hasRoomMessage(roomid: string, seq: number, epoch?: string): boolean {
    const room = this.rooms.get(roomid);
    return room !== undefined && (epoch === undefined || epoch === room.epoch) && room.seqs.has(seq);
  }

  /**
   * Records that message `seq` of `roomid` is shown; false if it was already (then do not show
   * it again). A message of another epoch than the one remembered starts the room afresh.
   */
  addRoomMessage(roomid: string, seq: number, epoch?: string, id?: string): boolean {
    const room = this.roomIn(roomid, epoch);
    if (room.seqs.has(seq)) return false;
    room.seqs.add(seq);
    room.last = Math.max(room.last, seq);
    trim(room.seqs, this.limit);
    if (id === undefined) return true;
    if (this.roomIds.has(id)) return false;
    this.roomIds.add(id);
    trim(this.roomIds, this.limit);
    return true;
  }

  /**
   * Notes the room's current epoch (from `resumed`): when it is not the one remembered, what
   * was shown of the room counts in a sequence that is over and is forgotten.
   */
  noteEpoch(roomid: string, epoch: string): void {
    this.roomIn(roomid, epoch);
  }

  /** The highest seq shown of `roomid`: where a resume starts from. Undefined if none. */
  lastSeq(roomid: string): number | undefined {
    return this.rooms.get(roomid)?.last;
  }

  /** The epoch `lastSeq` counts in, if the server gave one. */
  epochOf(roomid: string): string | undefined {
    return this.rooms.get(roomid)?.epoch;
  }

  /** The room's memory for `epoch`: a new one when the epoch changed (undefined keeps it). */
  private roomIn(roomid: string, epoch: string | undefined): RoomSeen {
    let room = this.rooms.get(roomid);
    if (!room || (epoch !== undefined && epoch !== room.epoch)) {
      room = { epoch, last: 0, seqs: new Set() };
      this.rooms.set(roomid, room);
    }
    return room;
  }

  /** Records that the direct message `id` is shown; false if it was already. */
  addDirectMessage(id: string): boolean {
    if (this.dms.has(id)) return false;
    this.dms.add(id);
    trim(this.dms, this.limit);
    return true;
  }
}

function trim<T>(set: Set<T>, limit: number): void {
  if (set.size <= limit) return;
  for (const item of set) {
    set.delete(item);
    if (set.size <= limit) return;
  }
}

/** Maps the short form of the ids shown back to the full ids, for `#recall`. */
export class ShownIds {
  /** Short form → full ids with that ending (almost always one). */
  private readonly byShort = new Map<string, Set<string>>();
  private readonly order = new Set<string>();

  constructor(
    private readonly shorten: (id: string) => string,
    private readonly limit: number = DEFAULT_SEEN_LIMIT,
  ) {}

  remember(id: string): void {
    if (this.order.has(id)) return;
    this.order.add(id);
    const short = this.shorten(id);
    const ids = this.byShort.get(short) ?? new Set<string>();
    ids.add(id);
    this.byShort.set(short, ids);
    for (const old of this.order) {
      if (this.order.size <= this.limit) break;
      this.order.delete(old);
      const same = this.byShort.get(this.shorten(old));
      same?.delete(old);
      if (same?.size === 0) this.byShort.delete(this.shorten(old));
    }
  }

  /**
   * The full id for what the user typed: a short form shown for exactly one id gives that id;
   * anything else (a full id, an unknown or ambiguous short form) is passed on as typed, for
   * the server to judge.
   */
  resolve(typed: string): string {
    const ids = this.byShort.get(typed);
    return ids && ids.size === 1 ? [...ids][0]! : typed;
  }
}
