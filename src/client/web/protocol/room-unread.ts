import type { HistoryRequests } from './history-requests';
import { ReadMarks } from './read-marks';
import type { SessionContext } from './session-context';
import type { SavedData } from './storage';
import type { RoomMessage } from './types';

/** At most this many rooms of the room list are probed per round (a bound on the requests). */
const PROBED_ROOMS = 30;

/**
 * Unread counts of the rooms other than the current one, and how far the current one is read.
 * Each other room is probed with a `history` of its newest message; its seq minus the read
 * mark (ReadMarks, kept per account) is the count. The current room is marked read as far as
 * the user sees it.
 */
export class RoomUnread {
  private readonly marks: ReadMarks;

  constructor(
    private readonly session: SessionContext,
    private readonly requests: HistoryRequests,
    saved: SavedData,
  ) {
    this.marks = new ReadMarks(saved);
  }

  /** Loads the read marks of `user` (at login); "" (a guest, or after logout): in memory only. */
  load(user: string): void {
    this.marks.load(user);
  }

  /** Probes each other room of the list (the first 30) that has no probe in flight. */
  probe(): void {
    const s = this.session.state;
    for (const r of s.rooms.slice(0, PROBED_ROOMS)) {
      if (r.roomid === s.room || this.requests.pending(r.roomid, 'probe')) continue;
      this.requests.add(r.roomid, 'probe');
      this.session.send({ type: 'history', roomid: r.roomid, limit: 1 });
    }
  }

  /** The answer to a probe of `roomid`: its unread count follows (none for the room we are in by now). */
  onProbe(roomid: string, epoch: string, messages: RoomMessage[]): void {
    const s = this.session.state;
    if (roomid === s.room) return;
    const newest = messages.length > 0 ? messages[messages.length - 1]!.seq : 0;
    const unread = this.marks.probed(roomid, epoch, newest);
    if (unread > 0) s.roomUnread.set(roomid, unread);
    else s.roomUnread.delete(roomid);
  }

  /** Marks the current room read up to its newest message, when the user sees it. */
  markRead(): void {
    const s = this.session.state;
    if (s.view.kind !== 'room' || !this.session.visible() || s.room === '') return;
    const t = s.timelines.get(s.room);
    if (!t || t.epoch === '') return;
    this.marks.read(s.room, t.epoch, t.lastSeq);
  }
}
