import type { ReadMark, SavedData } from './storage';

/**
 * How far the user has read each room (the last seq seen, in its epoch), kept across page
 * loads per account, and the unread counts it gives: a room's newest seq (from a probe: a
 * `history` of one message) minus the mark. A room never looked at, or whose sequence restarted
 * (another epoch), counts from its newest message on: only what comes after is news.
 */
export class ReadMarks {
  private marks: Record<string, ReadMark> = {};
  private user = '';

  constructor(private readonly saved: SavedData) {}

  /** Loads the marks of `user` (at login); "" (a guest): marks kept in memory only. */
  load(user: string): void {
    this.user = user;
    this.marks = user ? this.saved.readMarks(user) : {};
  }

  /**
   * A probe found `newest` as the newest seq of `roomid` in `epoch`.
   * @returns the number of messages unread there (0 when none)
   */
  probed(roomid: string, epoch: string, newest: number): number {
    const mark = this.marks[roomid];
    if (!mark || mark.epoch !== epoch || mark.seq > newest) {
      this.set(roomid, { epoch, seq: newest });
      return 0;
    }
    return newest - mark.seq;
  }

  /** The user has seen `roomid` up to `seq` of `epoch`. */
  read(roomid: string, epoch: string, seq: number): void {
    const mark = this.marks[roomid];
    if (mark && mark.epoch === epoch && mark.seq >= seq) return;
    this.set(roomid, { epoch, seq });
  }

  private set(roomid: string, mark: ReadMark): void {
    this.marks[roomid] = mark;
    if (this.user) this.saved.saveReadMarks(this.user, this.marks);
  }
}
