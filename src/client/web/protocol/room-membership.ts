import { askPresence } from './presence-events';
import type { SessionContext } from './session-context';
import type { TimelineSync } from './timeline-sync';
import { fold, MAIN_HALL, type ServerMessage } from './types';

/**
 * Which room this connection is in, who is there with it, and the room list. It tells this
 * connection's moves from those of the account's other devices, which reach it under the same
 * name (PROTOCOL.md "Devices"), and keeps the member list and the counts in step.
 */
export class RoomMembership {
  /** The room our last `createroom` made, joined once the room list shows it. */
  private pendingCreate = '';
  /** The room our last `join` asked for, until its roomchange. */
  private pendingJoin = '';
  /** The last line was the refusal of our join (its INVITE_ONLY / BANNED follows). */
  private joinRefused = false;
  /** A move of our name to MainHall seen, not yet known to be ours (see onRoomChange). */
  private maybeMovedOut: { former: string } | null = null;

  constructor(
    private readonly session: SessionContext,
    private readonly timelines: TimelineSync,
  ) {}

  /** Moves this connection to `roomid`; the view follows (the room is shown). */
  join(roomid: string): void {
    const s = this.session.state;
    s.view = { kind: 'room' };
    s.roomUnread.delete(roomid);
    if (roomid !== s.room) {
      this.pendingJoin = roomid;
      this.session.send({ type: 'join', roomid });
    }
  }

  /** Creates `roomid`, then joins it once the room list shows it. */
  create(roomid: string, isPrivate: boolean): void {
    this.pendingCreate = roomid;
    this.session.send(isPrivate ? { type: 'createroom', roomid, private: true } : { type: 'createroom', roomid });
  }

  /** After a reconnect, before the resume: back into `room` (a new connection starts in MainHall). */
  rejoin(room: string): void {
    if (room === MAIN_HALL) return;
    this.pendingJoin = room;
    this.session.send({ type: 'join', roomid: room });
  }

  /**
   * Called with every server line before it is applied: the line after a move of our name to
   * MainHall says whose move it was, and a refusal is known as such only up to the next line.
   */
  beforeLine(msg: ServerMessage): void {
    if (this.maybeMovedOut && msg.type !== 'roomlist') {
      const { former } = this.maybeMovedOut;
      this.maybeMovedOut = null;
      if (msg.type === 'roomcontents' && msg.roomid === MAIN_HALL) this.moveSelf(former, MAIN_HALL);
      else this.otherMoved(this.session.state.identity, former, MAIN_HALL);
    }
    if (msg.type !== 'error' && msg.type !== 'roomchange') this.joinRefused = false;
  }

  /**
   * Whether the error being handled follows the refusal of our join (then it is the user's
   * news, not the answer to a probe); asking forgets it.
   */
  takeRefusal(): boolean {
    const refused = this.joinRefused;
    this.joinRefused = false;
    return refused;
  }

  /** A `newidentity`: ours (the welcome, or a rename) or a member's, renamed in the list. */
  onNewIdentity(former: string, identity: string): void {
    const s = this.session.state;
    if (former === '' || fold(former) === fold(s.identity)) {
      if (former !== '' && former === identity && !s.username) this.session.toast('error', `That name is taken or not allowed; you are still ${identity}.`);
      s.identity = identity;
    }
    if (former !== '' && former !== identity) {
      s.members = s.members.map((m) => (fold(m) === fold(former) ? identity : m));
      if (fold(s.owner) === fold(former)) s.owner = identity;
    }
  }

  /**
   * A `roomchange`. The server tells a device none of its account's other devices' moves
   * (PROTOCOL.md "Devices"), but an older server did, under the same name: a move of our name is ours only
   * when it is the refusal or the welcome, the join we asked for, the room a restore rejoins,
   * or a move to MainHall that the mover-only `roomlist`/`roomcontents` of MainHall confirm
   * (a kick, a ban, a deleted room). Anything else is another device, i.e. another member.
   */
  onRoomChange(identity: string, former: string, roomid: string): void {
    const s = this.session.state;
    if (fold(identity) === fold(s.identity)) {
      if (former === roomid) {
        this.pendingJoin = '';
        this.joinRefused = true;
        this.session.send({ type: 'list' });
        return;
      }
      const ours = former === '' || (former === s.room && (roomid === this.pendingJoin || this.timelines.restoring(roomid)));
      if (ours) return this.moveSelf(former, roomid);
      if (former === s.room && roomid === MAIN_HALL) {
        this.maybeMovedOut = { former };
        return;
      }
    }
    this.otherMoved(identity, former, roomid);
  }

  /** A `roomcontents` of the current room: its members, its owner, and their presence. */
  onRoomContents(roomid: string, identities: string[], owner: string): void {
    const s = this.session.state;
    if (roomid !== s.room) return;
    s.members = [...identities].sort((a, b) => a.localeCompare(b));
    s.owner = owner;
    // roomlist counts names, as roomcontents lists them (PROTOCOL.md "Devices").
    const here = s.rooms.find((r) => r.roomid === roomid);
    if (here) here.count = s.members.length;
    askPresence(this.session, s.members);
  }

  /** A `roomlist`: rooms gone lose their unread count; a room we just created is joined. */
  onRoomList(rooms: Array<{ roomid: string; count: number }>): void {
    const s = this.session.state;
    s.rooms = rooms;
    for (const r of [...s.roomUnread.keys()]) if (!rooms.some((x) => x.roomid === r)) s.roomUnread.delete(r);
    if (this.pendingCreate && rooms.some((r) => r.roomid === this.pendingCreate)) this.join(this.pendingCreate);
    this.pendingCreate = '';
  }

  /** Someone else (or another device of ours) moved: the member list and the counts follow. */
  private otherMoved(identity: string, former: string, roomid: string): void {
    const s = this.session.state;
    if (roomid === s.room && !s.members.some((m) => fold(m) === fold(identity))) s.members = [...s.members, identity].sort((a, b) => a.localeCompare(b));
    // One name may stand for several devices: ask who is left rather than guess. (The room's
    // count follows its roomcontents; other rooms' counts come with the next roomlist.)
    if (former === s.room && roomid !== s.room) this.session.send({ type: 'who', roomid: s.room });
    const here = s.rooms.find((r) => r.roomid === s.room);
    if (here) here.count = s.members.length;
  }

  /** This connection moved from `former` to `roomid`. */
  private moveSelf(former: string, roomid: string): void {
    const s = this.session.state;
    this.pendingJoin = '';
    if (roomid === '') return;
    for (const r of s.rooms) {
      if (r.roomid === roomid) r.count++;
      if (r.roomid === former) r.count = Math.max(0, r.count - 1);
    }
    const restoring = this.timelines.restoring(roomid);
    s.room = roomid;
    s.members = [s.identity];
    s.owner = '';
    s.private = false;
    s.roomInfo = null;
    s.roomUnread.delete(roomid);
    if (roomid !== MAIN_HALL) this.session.send({ type: 'who', roomid });
    if (!restoring) this.timelines.reload(roomid);
  }
}
