import type { HistoryRequests } from './history-requests';
import type { RoomUnread } from './room-unread';
import type { SessionContext } from './session-context';
import { timelineOf } from './state';
import { fold, type ClientRequest, type RoomMessage } from './types';

/** How many history messages a page asks for. */
export const PAGE_SIZE = 50;

/**
 * Keeps each room's timeline complete: `history` pages (the newest on entering a room, older
 * ones on scrolling back), live messages, and `resume` after a drop or a gap in the live seqs
 * (PROTOCOL.md "Gaps and resume"). The timelines themselves dedupe what overlaps.
 */
export class TimelineSync {
  /** The seq each room has been gone through by a resume (blocked senders' seqs count: they never arrive). */
  private readonly through = new Map<string, number>();
  /** Rooms with a resume under way (a move into one of them is the restore's rejoin). */
  private readonly resuming = new Set<string>();

  constructor(
    private readonly session: SessionContext,
    private readonly requests: HistoryRequests,
    private readonly unread: RoomUnread,
  ) {}

  /** Asks for the page of `roomid` before seq `before` (the newest page when omitted). */
  requestPage(roomid: string, before?: number): void {
    this.requests.add(roomid, 'page');
    const request: ClientRequest = { type: 'history', roomid, limit: PAGE_SIZE };
    if (before !== undefined) request.before = before;
    this.session.send(request);
  }

  /** Asks for the page before the oldest message shown of `roomid`, unless one is on its way or the start is reached. */
  loadOlder(roomid: string): void {
    const t = this.session.state.timelines.get(roomid);
    if (!t || typeof t.next !== 'number') return;
    if (this.loadingOlder(roomid)) return;
    this.requestPage(roomid, t.next);
  }

  /** Whether a page of `roomid` is on its way. */
  loadingOlder(roomid: string): boolean {
    return this.requests.pending(roomid, 'page');
  }

  /** A `history` page: into the timeline; `next` moves back only (an older page was asked for). */
  onPage(roomid: string, epoch: string, messages: RoomMessage[], next: number | null): void {
    const s = this.session.state;
    const t = timelineOf(s, roomid);
    t.adoptEpoch(epoch);
    for (const m of messages) t.insert(m);
    const oldestAsked = t.next;
    if (oldestAsked === undefined || next === null || (typeof oldestAsked === 'number' && next < oldestAsked)) t.next = next;
    if (roomid === s.room) this.unread.markRead();
  }

  /**
   * A live room message: into its timeline; in the current room, a seq jump asks for what was
   * missed, and a message from someone else while the user is not looking counts and notifies.
   */
  onLive(msg: RoomMessage): void {
    const s = this.session.state;
    const t = timelineOf(s, msg.roomid);
    const before = this.seenThrough(msg.roomid);
    const epochBefore = t.epoch;
    const fresh = t.insert(msg);
    if (!fresh || msg.roomid !== s.room) return;
    // A seq jump in the same epoch: something was missed (a hub restart); ask for it.
    if (epochBefore === msg.epoch && before > 0 && msg.seq > before + 1 && !this.resuming.has(msg.roomid)) {
      this.resuming.add(msg.roomid);
      this.session.send({ type: 'resume', roomid: msg.roomid, since: before, epoch: msg.epoch });
    }
    const mine = fold(msg.identity) === fold(s.identity);
    if (!mine && (s.view.kind !== 'room' || !this.session.visible())) {
      if (s.view.kind === 'room') s.hiddenUnread++;
      this.session.notify(`${msg.identity} in #${msg.roomid}`, msg.content || (msg.attachment ? `sent ${msg.attachment.name}` : ''));
    }
    this.unread.markRead();
  }

  /**
   * After a reconnect: asks for what `room` got meanwhile, from the last seq seen in its epoch
   * (its newest page when nothing was seen yet).
   */
  resume(room: string): void {
    const t = timelineOf(this.session.state, room);
    const since = this.seenThrough(room);
    if (t.next === undefined && since === 0) {
      this.requestPage(room);
      return;
    }
    const request: ClientRequest = { type: 'resume', roomid: room, since };
    if (t.epoch) request.epoch = t.epoch;
    this.resuming.add(room);
    this.session.send(request);
  }

  /** A `resumed`: the replay went through `seq`; follow it while the server has `more`. */
  onResumed(roomid: string, seq: number, epoch: string, more: boolean): void {
    const t = timelineOf(this.session.state, roomid);
    t.adoptEpoch(epoch);
    this.through.set(roomid, Math.max(this.through.get(roomid) ?? 0, seq));
    if (more) this.session.send({ type: 'resume', roomid, since: seq, epoch });
    else this.resuming.delete(roomid);
    if (t.next === undefined) t.next = t.messages.length === 0 ? null : t.messages[0]!.seq;
    this.unread.markRead();
  }

  /** Whether a resume of `roomid` is under way. */
  restoring(roomid: string): boolean {
    return this.resuming.has(roomid);
  }

  /**
   * A fresh view of `roomid`: its newest page. Coming back to a room later starts afresh too,
   * so a timeline never has a hole where the user was elsewhere.
   */
  reload(roomid: string): void {
    this.session.state.timelines.delete(roomid);
    this.through.delete(roomid);
    this.requestPage(roomid);
  }

  /** The link went down: resumes under way end with it (the reconnect starts new ones). */
  linkDown(): void {
    this.resuming.clear();
  }

  /** The highest seq of `roomid` held or gone through by a resume: where the next resume starts. */
  private seenThrough(roomid: string): number {
    return Math.max(timelineOf(this.session.state, roomid).lastSeq, this.through.get(roomid) ?? 0);
  }
}
