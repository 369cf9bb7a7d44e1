import { Connection, type SocketLike, type Timers } from './connection';
import { applyModeration } from './moderation-events';
import { initialState, threadOf, timelineOf, type ChatState } from './state';
import { ReadMarks } from './read-marks';
import { SavedData, memoryStorage, type KeyValue } from './storage';
import { fold, MAIN_HALL, parseServerFrame, type ClientRequest, type DirectMessage, type RoomMessage, type ServerMessage } from './types';

/** Errors that end the session on purpose: reconnecting would be wrong (PROTOCOL.md Errors). */
const FINAL_ERRORS = new Set(['SESSION_REPLACED', 'DISCONNECTED', 'LINE_TOO_LONG', 'FLOODING']);

/** How many history messages a page asks for. */
export const PAGE_SIZE = 50;

export interface ChatClientOptions {
  /** The WebSocket URL (same-origin `/ws` in the browser). */
  url: string;
  createSocket: (url: string) => SocketLike;
  storage?: KeyValue;
  timers?: Timers;
  /** Whether the user is looking at the page (document visible and focused); default always. */
  isVisible?: () => boolean;
  /** Called for a message worth a notification (not shown to the user right now). */
  notify?: (title: string, body: string) => void;
  /** Reconnect delays and keepalive (see Connection). */
  initialDelayMs?: number;
  maxDelayMs?: number;
  pingMs?: number;
  /** How often rooms other than the current one are probed for unread messages, ms (default 15000; 0: never). */
  probeMs?: number;
}

/**
 * The session half of the protocol client of the web app (ChatClient adds the actions the
 * views call): one WebSocket session (through Connection), the state the
 * views read (ChatState), and the actions the views call. It knows the protocol's rules that a
 * client must follow: `hello` first; after a drop, log in again with the token, `reclaim` the
 * held session, rejoin the room and `resume` it from the last seq seen in its epoch; drop
 * messages already held (by id and seq); ack inbox DMs once held. It has no DOM dependency.
 */
export class ChatSession {
  readonly state: ChatState = initialState();
  protected readonly connection: Connection;
  protected readonly saved: SavedData;
  protected readonly listeners = new Set<() => void>();
  protected readonly timers: Timers;
  protected resumeToken = '';
  /** History requests in flight per room, answered in order: 'page' fills the timeline, 'probe' counts unread. */
  protected readonly historyWaits = new Map<string, Array<'page' | 'probe'>>();
  /** dmhistory requests in flight per folded peer. */
  protected readonly dmWaits = new Map<string, number>();
  /** The seq each room has been gone through by a resume (blocked senders' seqs count). */
  protected readonly through = new Map<string, number>();
  protected readonly resuming = new Set<string>();
  protected readonly marks: ReadMarks;
  protected pendingCreate = '';
  /** The room our last `join` asked for, until its roomchange. */
  protected pendingJoin = '';
  /** The last line was the refusal of our join (its INVITE_ONLY / BANNED follows). */
  protected joinRefused = false;
  /** A move of our name to MainHall seen, not yet known to be ours (see onRoomChange). */
  protected maybeMovedOut: { former: string } | null = null;
  protected pendingRegister: { username: string; password: string } | null = null;
  protected ackTimer: unknown = null;
  protected ackHighest = 0;
  protected probeTimer: unknown = null;
  protected toastSeq = 0;
  protected notifyScheduled = false;
  /** Set while the first login with a saved token is under way (its failure shows the sign-in form). */
  protected tokenLogin = false;
  /** How many times the connection went down (for diagnostics and tests). */
  drops = 0;
  /** Whether the user has passed the sign-in screen (signed in, or chose to stay a guest). */
  entered = false;
  /** The last sign-in error, for the form. */
  authError = '';

  constructor(protected readonly options: ChatClientOptions) {
    this.saved = new SavedData(options.storage ?? memoryStorage());
    this.marks = new ReadMarks(this.saved);
    this.timers = options.timers ?? { setTimeout: (f, ms) => setTimeout(f, ms), clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>) };
    this.connection = new Connection(
      {
        url: options.url,
        createSocket: options.createSocket,
        timers: this.timers,
        initialDelayMs: options.initialDelayMs,
        maxDelayMs: options.maxDelayMs,
        pingMs: options.pingMs,
      },
      {
        open: (reconnect) => this.onOpen(reconnect),
        frame: (text) => this.onFrame(text),
        down: (retry) => {
          this.drops++;
          this.state.link = retry ? 'reconnecting' : 'closed';
          this.resuming.clear();
          this.historyWaits.clear();
          this.dmWaits.clear();
          this.changed();
        },
      },
    );
    if (this.saved.token) this.entered = true;
  }

  /** Opens the connection. */
  start(): void {
    this.connection.start();
    this.scheduleProbe();
  }

  /** Closes the connection for good. */
  stop(): void {
    this.connection.stop();
    if (this.probeTimer !== null) this.timers.clearTimeout(this.probeTimer);
  }

  /** Drops the socket as a network failure would (the client reconnects and resumes). */
  dropConnection(): void {
    this.connection.reconnectNow();
  }

  /** Calls `fn` after every state change; returns the unsubscribe function. */
  subscribe(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Sends a request as is (false when the link is down: the views say so). */
  send(request: ClientRequest): boolean {
    return this.connection.send(request);
  }

  // ---- session -------------------------------------------------------------------------

  protected onOpen(reconnect: boolean): void {
    const s = this.state;
    s.link = 'online';
    this.send({ type: 'hello', capabilities: ['extended'] });
    const token = s.token || this.saved.token;
    if (token) {
      this.tokenLogin = !reconnect;
      this.send({ type: 'login', token });
    }
    if (reconnect && this.resumeToken) this.send({ type: 'reclaim', token: this.resumeToken });
    this.send({ type: 'session' });
    if (reconnect && s.room !== '') {
      const room = s.room;
      // Join first, then resume, so nothing falls between the two (PROTOCOL.md "Gaps and resume").
      if (room !== MAIN_HALL) {
        this.pendingJoin = room;
        this.send({ type: 'join', roomid: room });
      }
      this.resumeRoom(room);
      // DMs pushed to the account's other devices while this one was away: the newest page.
      for (const t of s.dms.values()) this.requestDmPage(t.peer, false);
    }
    this.send({ type: 'list' });
    this.changed();
  }

  protected resumeRoom(room: string): void {
    const t = timelineOf(this.state, room);
    const since = Math.max(t.lastSeq, this.through.get(room) ?? 0);
    if (t.next === undefined && since === 0) {
      this.requestHistoryPage(room);
      return;
    }
    const request: ClientRequest = { type: 'resume', roomid: room, since };
    if (t.epoch) request.epoch = t.epoch;
    this.resuming.add(room);
    this.send(request);
  }

  protected onFrame(text: string): void {
    const msg = parseServerFrame(text);
    if (!msg) return;
    this.handle(msg);
    this.changed();
  }

  /** Applies one server message to the state (exposed for tests). */
  handle(msg: ServerMessage): void {
    const s = this.state;
    if (this.maybeMovedOut && msg.type !== 'roomlist') {
      // The line after a move of our name to MainHall says whose move it was.
      const { former } = this.maybeMovedOut;
      this.maybeMovedOut = null;
      if (msg.type === 'roomcontents' && msg.roomid === MAIN_HALL) this.moveSelf(former, MAIN_HALL);
      else this.otherMoved(s.identity, former, MAIN_HALL);
    }
    if (msg.type !== 'error' && msg.type !== 'roomchange') this.joinRefused = false;
    switch (msg.type) {
      case 'hello':
        s.extended = true;
        return;
      case 'newidentity':
        return this.onNewIdentity(msg.former, msg.identity);
      case 'roomchange':
        return this.onRoomChange(msg.identity, msg.former, msg.roomid);
      case 'roomcontents':
        if (msg.roomid === s.room) {
          s.members = [...msg.identities].sort((a, b) => a.localeCompare(b));
          s.owner = msg.owner;
          // roomlist counts names, as roomcontents lists them (PROTOCOL.md "Devices").
          const here = s.rooms.find((r) => r.roomid === msg.roomid);
          if (here) here.count = s.members.length;
          this.askPresence(s.members);
        }
        return;
      case 'roomlist':
        s.rooms = msg.rooms;
        for (const r of [...s.roomUnread.keys()]) if (!msg.rooms.some((x) => x.roomid === r)) s.roomUnread.delete(r);
        if (this.pendingCreate && msg.rooms.some((r) => r.roomid === this.pendingCreate)) this.requestJoin(this.pendingCreate);
        this.pendingCreate = '';
        return;
      case 'message':
        return this.onRoomMessage(msg, true);
      case 'history':
        return this.onHistory(msg.roomid, msg.epoch, msg.messages, msg.next);
      case 'resumed': {
        const t = timelineOf(s, msg.roomid);
        t.adoptEpoch(msg.epoch);
        this.through.set(msg.roomid, Math.max(this.through.get(msg.roomid) ?? 0, msg.seq));
        if (msg.more) this.send({ type: 'resume', roomid: msg.roomid, since: msg.seq, epoch: msg.epoch });
        else this.resuming.delete(msg.roomid);
        if (t.next === undefined) t.next = t.messages.length === 0 ? null : t.messages[0]!.seq;
        this.markRead();
        return;
      }
      case 'recalled':
        if (msg.roomid === '') for (const t of s.dms.values()) t.recall(msg.id);
        else s.timelines.get(msg.roomid)?.recall(msg.id);
        return;
      case 'dm':
        return this.onDm(msg, true);
      case 'dmhistory': {
        const t = threadOf(s, msg.with);
        const wait = this.dmWaits.get(fold(msg.with)) ?? 0;
        for (const dm of msg.messages) t.insert(dm);
        // The first page sets where older ones start; an older page moves it back.
        if (t.next === undefined || wait > 0) t.next = msg.next;
        if (wait > 0) this.dmWaits.set(fold(msg.with), wait - 1);
        return;
      }
      case 'registered':
        if (this.pendingRegister && fold(this.pendingRegister.username) === fold(msg.username)) {
          this.send({ type: 'login', username: this.pendingRegister.username, password: this.pendingRegister.password });
        }
        this.pendingRegister = null;
        return;
      case 'loggedin':
        return this.onLoggedIn(msg.identity, msg.token, msg.admin);
      case 'loggedout':
        s.username = '';
        s.token = '';
        s.admin = false;
        s.contacts = [];
        this.marks.load('');
        this.saved.token = '';
        this.entered = false;
        return;
      case 'blocklist':
        s.blocklist = msg.users;
        return;
      case 'profile':
        s.status = msg.status;
        s.dnd = msg.dnd;
        if (typeof msg.away === 'boolean') s.away = msg.away;
        return;
      case 'presence':
        for (const p of msg.users) s.presence.set(fold(p.username), p);
        this.ownPresence();
        return;
      case 'contacts':
        s.contacts = msg.contacts.map((p) => p.username);
        for (const p of msg.contacts) s.presence.set(fold(p.username), p);
        return;
      case 'presencechange': {
        const { type: _t, ...p } = msg;
        s.presence.set(fold(p.username), p);
        return;
      }
      case 'search':
        s.searchResults = msg.users;
        return;
      case 'session':
        this.resumeToken = msg.token;
        return;
      case 'error':
        return this.onError(msg.code, msg.message);
      default:
        applyModeration(this, msg);
    }
  }

  protected onNewIdentity(former: string, identity: string): void {
    const s = this.state;
    if (former === '' || fold(former) === fold(s.identity)) {
      if (former !== '' && former === identity && !s.username) this.toast('error', `That name is taken or not allowed; you are still ${identity}.`);
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
  protected onRoomChange(identity: string, former: string, roomid: string): void {
    const s = this.state;
    if (fold(identity) === fold(s.identity)) {
      if (former === roomid) {
        this.pendingJoin = '';
        this.joinRefused = true;
        this.send({ type: 'list' });
        return;
      }
      const ours = former === '' || (former === s.room && (roomid === this.pendingJoin || this.resuming.has(roomid)));
      if (ours) return this.moveSelf(former, roomid);
      if (former === s.room && roomid === MAIN_HALL) {
        this.maybeMovedOut = { former };
        return;
      }
    }
    this.otherMoved(identity, former, roomid);
  }

  /** Someone else (or another device of ours) moved: the member list and the counts follow. */
  protected otherMoved(identity: string, former: string, roomid: string): void {
    const s = this.state;
    if (roomid === s.room && !s.members.some((m) => fold(m) === fold(identity))) s.members = [...s.members, identity].sort((a, b) => a.localeCompare(b));
    // One name may stand for several devices: ask who is left rather than guess. (The room's
    // count follows its roomcontents; other rooms' counts come with the next roomlist.)
    if (former === s.room && roomid !== s.room) this.send({ type: 'who', roomid: s.room });
    const here = s.rooms.find((r) => r.roomid === s.room);
    if (here) here.count = s.members.length;
  }

  /** This connection moved from `former` to `roomid`. */
  protected moveSelf(former: string, roomid: string): void {
    const s = this.state;
    this.pendingJoin = '';
    if (roomid === '') return;
    for (const r of s.rooms) {
      if (r.roomid === roomid) r.count++;
      if (r.roomid === former) r.count = Math.max(0, r.count - 1);
    }
    const restoring = this.resuming.has(roomid);
    s.room = roomid;
    s.members = [s.identity];
    s.owner = '';
    s.private = false;
    s.roomInfo = null;
    s.roomUnread.delete(roomid);
    if (roomid !== MAIN_HALL) this.send({ type: 'who', roomid });
    if (!restoring) {
      // A fresh view of the room: its newest page. Coming back to it later starts afresh too,
      // so a timeline never has a hole where the user was elsewhere.
      s.timelines.delete(roomid);
      this.through.delete(roomid);
      this.requestHistoryPage(roomid);
    }
  }

  protected onRoomMessage(msg: RoomMessage, live: boolean): void {
    const s = this.state;
    const t = timelineOf(s, msg.roomid);
    const before = Math.max(t.lastSeq, this.through.get(msg.roomid) ?? 0);
    const epochBefore = t.epoch;
    const fresh = t.insert(msg);
    if (!fresh || !live || msg.roomid !== s.room) return;
    // A seq jump in the same epoch: something was missed (a hub restart); ask for it.
    if (epochBefore === msg.epoch && before > 0 && msg.seq > before + 1 && !this.resuming.has(msg.roomid)) {
      this.resuming.add(msg.roomid);
      this.send({ type: 'resume', roomid: msg.roomid, since: before, epoch: msg.epoch });
    }
    const mine = fold(msg.identity) === fold(s.identity);
    if (!mine && (s.view.kind !== 'room' || !this.visible())) {
      if (s.view.kind === 'room') s.hiddenUnread++;
      this.notify(`${msg.identity} in #${msg.roomid}`, msg.content || (msg.attachment ? `sent ${msg.attachment.name}` : ''));
    }
    this.markRead();
  }

  protected onHistory(roomid: string, epoch: string, messages: RoomMessage[], next: number | null): void {
    const waits = this.historyWaits.get(roomid) ?? [];
    const kind = waits.shift() ?? 'page';
    const s = this.state;
    if (kind === 'probe') {
      if (roomid === s.room) return;
      const newest = messages.length > 0 ? messages[messages.length - 1]!.seq : 0;
      const unread = this.marks.probed(roomid, epoch, newest);
      if (unread > 0) s.roomUnread.set(roomid, unread);
      else s.roomUnread.delete(roomid);
      return;
    }
    const t = timelineOf(s, roomid);
    t.adoptEpoch(epoch);
    for (const m of messages) t.insert(m);
    const oldestAsked = t.next;
    if (oldestAsked === undefined || next === null || (typeof oldestAsked === 'number' && next < oldestAsked)) t.next = next;
    if (roomid === s.room) this.markRead();
  }

  protected onDm(dm: DirectMessage, live: boolean): void {
    const s = this.state;
    const me = fold(s.username || s.identity);
    const peer = fold(dm.from) === me ? dm.to : dm.from;
    const t = threadOf(s, peer);
    const fresh = t.insert(dm);
    if (dm.inbox !== undefined) this.scheduleAck(dm.inbox);
    if (!fresh || !live) return;
    if (s.username) this.saved.addDmPeer(s.username, peer);
    if (fold(dm.from) === me) return;
    const looking = s.view.kind === 'dm' && fold(s.view.peer) === fold(peer) && this.visible();
    if (!looking) {
      if (s.view.kind === 'dm' && fold(s.view.peer) === fold(peer)) s.hiddenUnread++;
      else t.unread++;
      this.notify(`${dm.from} (direct message)`, dm.content || (dm.attachment ? `sent ${dm.attachment.name}` : ''));
    }
  }

  protected onLoggedIn(identity: string, token: string, admin: boolean): void {
    const s = this.state;
    s.identity = identity;
    s.username = identity;
    s.token = token;
    s.admin = admin;
    this.saved.token = token;
    this.entered = true;
    this.authError = '';
    this.tokenLogin = false;
    this.marks.load(identity);
    this.send({ type: 'presence', users: [identity] });
    for (const peer of this.saved.dmPeers(identity).slice(0, 10)) {
      if (!s.dms.has(fold(peer))) this.requestDmPage(peer, false);
    }
    this.probeRooms();
  }

  protected onError(code: string, message: string): void {
    const s = this.state;
    if (FINAL_ERRORS.has(code)) {
      s.closedReason = code === 'SESSION_REPLACED' ? 'This account was signed in on another device, so this one was closed.' : message;
      this.connection.stop();
      s.link = 'closed';
      return;
    }
    if (code === 'NO_SUCH_SESSION') return; // the held session lapsed: we carry on as a new one
    if (code === 'NO_SUCH_USER' && message.startsWith('no registered user or connected client')) return; // a presence ask raced a departure
    if (code === 'BAD_CREDENTIALS' || code === 'LOGIN_THROTTLED' || code === 'USERNAME_TAKEN' || code === 'INVALID_USERNAME' || code === 'WEAK_PASSWORD') {
      if (this.tokenLogin && code === 'BAD_CREDENTIALS') {
        this.saved.token = '';
        s.token = '';
        this.entered = false;
        this.tokenLogin = false;
        return;
      }
      this.pendingRegister = null;
      this.authError = message;
      if (!this.entered) return;
    }
    // A room probed for unread messages may be gone or closed to us (private, banned): that
    // answers the probe, quietly. The same codes right after a refused join are for the user.
    const afterRefusal = this.joinRefused;
    this.joinRefused = false;
    if ((code === 'NO_SUCH_ROOM' || code === 'INVITE_ONLY' || code === 'BANNED') && !afterRefusal && this.dropProbeFor()) return;
    if (code === 'UNKNOWN_TYPE') {
      if (message.includes('"away"')) s.away = false;
      // A feature of a newer server (contacts, search, away...): say so once, plainly.
      const what = /"([^"]+)"/.exec(message)?.[1] ?? 'this';
      message = `This server does not support ${what} yet.`;
    }
    if (this.state.toasts.some((t) => t.text === message)) return;
    this.toast('error', message);
  }

  /** A NO_SUCH_ROOM answers a probe of a room deleted meanwhile: forget that probe. */
  protected dropProbeFor(): boolean {
    for (const [room, waits] of this.historyWaits) {
      if (waits[0] === 'probe') {
        waits.shift();
        if (waits.length === 0) this.historyWaits.delete(room);
        return true;
      }
    }
    return false;
  }

  // ---- helpers ---------------------------------------------------------------------------

  /** Queues a toast (at most 5 kept). */
  toast(kind: 'error' | 'info', text: string): void {
    this.state.toasts = [...this.state.toasts, { id: ++this.toastSeq, kind, text }].slice(-5);
  }

  /** Bumps the version and tells subscribers (once per burst of frames). */
  changed(): void {
    this.state.version++;
    if (this.notifyScheduled) return;
    this.notifyScheduled = true;
    queueMicrotask(() => {
      this.notifyScheduled = false;
      for (const l of this.listeners) l();
    });
  }

  protected visible(): boolean {
    return this.options.isVisible ? this.options.isVisible() : true;
  }

  /** A desktop notification, only while the user is not looking at the page (else the badges say it). */
  protected notify(title: string, body: string): void {
    if (!this.visible()) this.options.notify?.(title, body);
  }

  protected askPresence(names: string[]): void {
    if (names.length === 0 || !this.state.extended) return;
    this.send({ type: 'presence', users: names.slice(0, 100) });
  }

  protected ownPresence(): void {
    const s = this.state;
    const me = s.presence.get(fold(s.username));
    if (me && s.username) {
      s.status = me.status;
      s.dnd = me.dnd;
      if (me.state) s.away = me.state === 'away';
    }
  }

  protected requestHistoryPage(roomid: string, before?: number): void {
    const waits = this.historyWaits.get(roomid) ?? [];
    waits.push('page');
    this.historyWaits.set(roomid, waits);
    const request: ClientRequest = { type: 'history', roomid, limit: PAGE_SIZE };
    if (before !== undefined) request.before = before;
    this.send(request);
  }

  protected requestDmPage(peer: string, older: boolean): void {
    const t = threadOf(this.state, peer);
    const request: ClientRequest = { type: 'dmhistory', with: peer, limit: PAGE_SIZE };
    if (older) {
      if (typeof t.next !== 'number') return;
      request.cursor = t.next;
      this.dmWaits.set(fold(peer), (this.dmWaits.get(fold(peer)) ?? 0) + 1);
    }
    this.send(request);
  }

  protected scheduleAck(n: number): void {
    this.ackHighest = Math.max(this.ackHighest, n);
    if (this.ackTimer !== null) return;
    // Acked once held in the state (the DM is shown and, with dmhistory, recoverable).
    this.ackTimer = this.timers.setTimeout(() => {
      this.ackTimer = null;
      this.send({ type: 'ack', inbox: this.ackHighest });
    }, 50);
  }

  protected scheduleProbe(): void {
    const every = this.options.probeMs ?? 15_000;
    if (every <= 0) return;
    this.probeTimer = this.timers.setTimeout(() => {
      this.probeRooms();
      this.scheduleProbe();
    }, every);
  }

  /** Asks each other room for its newest message, to count what is unread there. */
  probeRooms(): void {
    if (!this.connection.isOpen) return;
    for (const r of this.state.rooms.slice(0, 30)) {
      if (r.roomid === this.state.room) continue;
      const waits = this.historyWaits.get(r.roomid) ?? [];
      if (waits.includes('probe')) continue;
      waits.push('probe');
      this.historyWaits.set(r.roomid, waits);
      this.send({ type: 'history', roomid: r.roomid, limit: 1 });
    }
    this.send({ type: 'list' });
  }

  /** Moves this connection to `roomid` (the view follows: the room is shown). */
  protected requestJoin(roomid: string): void {
    const s = this.state;
    s.view = { kind: 'room' };
    s.roomUnread.delete(roomid);
    if (roomid !== s.room) {
      this.pendingJoin = roomid;
      this.send({ type: 'join', roomid });
    }
    this.changed();
  }

  /** Marks the current room read up to its newest message, when the user sees it. */
  markRead(): void {
    const s = this.state;
    if (s.view.kind !== 'room' || !this.visible() || s.room === '') return;
    const t = s.timelines.get(s.room);
    if (!t || t.epoch === '') return;
    this.marks.read(s.room, t.epoch, t.lastSeq);
  }
}
