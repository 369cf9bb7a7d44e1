import { Connection, type SocketLike, type Timers } from './connection';
import { DirectMessages } from './direct-messages';
import { HistoryRequests } from './history-requests';
import { applyModeration } from './moderation-events';
import { applyPresence } from './presence-events';
import { RoomMembership } from './room-membership';
import { RoomUnread } from './room-unread';
import type { SessionContext } from './session-context';
import { SignIn } from './sign-in';
import { initialState, type ChatState } from './state';
import { SavedData, memoryStorage, type KeyValue } from './storage';
import { TimelineSync } from './timeline-sync';
import { parseServerFrame, type ClientRequest, type ServerMessage } from './types';

/** Errors that end the session on purpose: reconnecting would be wrong (PROTOCOL.md Errors). */
const FINAL_ERRORS = new Set(['SESSION_REPLACED', 'DISCONNECTED', 'LINE_TOO_LONG', 'FLOODING']);
/** Errors a probe of a room gets instead of its `history` when the room is gone or closed to us. */
const PROBE_REFUSALS = new Set(['NO_SUCH_ROOM', 'INVITE_ONLY', 'BANNED']);
/** At most this many toasts are kept (the oldest go). */
const TOASTS_KEPT = 5;

/** How the web app's protocol client is set up. */
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
 * views call): one WebSocket session (through Connection) and the state the views read
 * (ChatState). It follows the protocol's rules for a client: `hello` first; after a drop, log in
 * again with the token, `reclaim` the held session, rejoin the room and `resume` it from the
 * last seq seen in its epoch; drop messages already held (by id and seq); ack inbox DMs once
 * held. Each concern is a part of its own (sign-in, room membership, timelines, unread counts,
 * DMs, presence); this class owns the link and routes each server line to its part. It has no
 * DOM dependency.
 */
export class ChatSession {
  readonly state: ChatState = initialState();
  /** How many times the connection went down (for diagnostics and tests). */
  drops = 0;
  protected readonly context: SessionContext;
  protected readonly signIn: SignIn;
  protected readonly membership: RoomMembership;
  protected readonly timelineSync: TimelineSync;
  protected readonly unread: RoomUnread;
  protected readonly directMessages: DirectMessages;
  private readonly connection: Connection;
  private readonly historyRequests = new HistoryRequests();
  private readonly listeners = new Set<() => void>();
  private readonly timers: Timers;
  /** The token a `reclaim` after a drop presents (the last `session` answer). */
  private resumeToken = '';
  private toastSeq = 0;
  private notifyScheduled = false;

  constructor(private readonly options: ChatClientOptions) {
    const saved = new SavedData(options.storage ?? memoryStorage());
    this.timers = options.timers ?? { setTimeout: (f, ms) => setTimeout(f, ms), clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>) };
    this.context = {
      state: this.state,
      send: (request) => this.send(request),
      visible: () => (options.isVisible ? options.isVisible() : true),
      // Only while the user is not looking at the page: else the badges say it.
      notify: (title, body) => {
        if (!this.context.visible()) options.notify?.(title, body);
      },
      toast: (kind, text) => this.toast(kind, text),
    };
    this.signIn = new SignIn(this.context, saved);
    this.unread = new RoomUnread(this.context, this.historyRequests, saved);
    this.timelineSync = new TimelineSync(this.context, this.historyRequests, this.unread);
    this.membership = new RoomMembership(this.context, this.timelineSync);
    this.directMessages = new DirectMessages(this.context, saved, this.timers);
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
        down: (retry) => this.onDown(retry),
      },
    );
  }

  /** Whether the user has passed the sign-in screen (signed in, or chose to stay a guest); the views may send them back to it. */
  get entered(): boolean {
    return this.signIn.entered;
  }

  set entered(value: boolean) {
    this.signIn.entered = value;
  }

  /** The last sign-in error, for the form ("" when none). */
  get authError(): string {
    return this.signIn.authError;
  }

  /** Opens the connection and starts probing other rooms for unread messages. */
  start(): void {
    this.connection.start();
    this.scheduleProbe();
  }

  /** Calls `fn` after every state change (once per burst); returns the unsubscribe function. */
  subscribe(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Sends a request as is (false when the link is down: the views say so). */
  send(request: ClientRequest): boolean {
    return this.connection.send(request);
  }

  /** Asks each other room for its newest message, to count what is unread there (and the room list again). */
  probeRooms(): void {
    if (!this.connection.isOpen) return;
    this.unread.probe();
    this.send({ type: 'list' });
  }

  /** Queues a toast (at most 5 kept). */
  toast(kind: 'error' | 'info', text: string): void {
    this.state.toasts = [...this.state.toasts, { id: ++this.toastSeq, kind, text }].slice(-TOASTS_KEPT);
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

  private onOpen(reconnect: boolean): void {
    const s = this.state;
    s.link = 'online';
    this.send({ type: 'hello', capabilities: ['extended'] });
    this.signIn.onOpen(reconnect);
    if (reconnect && this.resumeToken) this.send({ type: 'reclaim', token: this.resumeToken });
    this.send({ type: 'session' });
    if (reconnect && s.room !== '') {
      // Join first, then resume, so nothing falls between the two (PROTOCOL.md "Gaps and resume").
      this.membership.rejoin(s.room);
      this.timelineSync.resume(s.room);
      this.directMessages.refresh();
    }
    this.send({ type: 'list' });
    this.changed();
  }

  private onDown(retry: boolean): void {
    this.drops++;
    this.state.link = retry ? 'reconnecting' : 'closed';
    // Requests in flight die with the link: their answers never come.
    this.timelineSync.linkDown();
    this.historyRequests.clear();
    this.directMessages.linkDown();
    this.changed();
  }

  private onFrame(text: string): void {
    const msg = parseServerFrame(text);
    if (!msg) return;
    this.handle(msg);
    this.changed();
  }

  /** Applies one server message to the state, through the part it concerns. */
  private handle(msg: ServerMessage): void {
    const s = this.state;
    this.membership.beforeLine(msg);
    switch (msg.type) {
      case 'hello':
        s.extended = true;
        return;
      case 'newidentity':
        return this.membership.onNewIdentity(msg.former, msg.identity);
      case 'roomchange':
        return this.membership.onRoomChange(msg.identity, msg.former, msg.roomid);
      case 'roomcontents':
        return this.membership.onRoomContents(msg.roomid, msg.identities, msg.owner);
      case 'roomlist':
        return this.membership.onRoomList(msg.rooms);
      case 'message':
        return this.timelineSync.onLive(msg);
      case 'history':
        if (this.historyRequests.answered(msg.roomid) === 'probe') return this.unread.onProbe(msg.roomid, msg.epoch, msg.messages);
        return this.timelineSync.onPage(msg.roomid, msg.epoch, msg.messages, msg.next);
      case 'resumed':
        return this.timelineSync.onResumed(msg.roomid, msg.seq, msg.epoch, msg.more);
      case 'recalled':
        // A recalled DM has no room.
        if (msg.roomid === '') for (const t of s.dms.values()) t.recall(msg.id);
        else s.timelines.get(msg.roomid)?.recall(msg.id);
        return;
      case 'dm':
        return this.directMessages.onDm(msg);
      case 'dmhistory':
        return this.directMessages.onHistory(msg.with, msg.messages, msg.next);
      case 'registered':
        return this.signIn.onRegistered(msg.username);
      case 'loggedin':
        return this.onLoggedIn(msg.identity, msg.token, msg.admin);
      case 'loggedout':
        this.signIn.onLoggedOut();
        this.unread.load('');
        return;
      case 'presence':
      case 'contacts':
      case 'presencechange':
      case 'profile':
      case 'blocklist':
      case 'search':
        return applyPresence(this.context, msg);
      case 'session':
        this.resumeToken = msg.token;
        return;
      case 'error':
        return this.onError(msg.code, msg.message);
      default:
        applyModeration(this.context, msg);
    }
  }

  private onLoggedIn(identity: string, token: string, admin: boolean): void {
    this.signIn.onLoggedIn(identity, token, admin);
    this.unread.load(identity);
    this.send({ type: 'presence', users: [identity] });
    this.directMessages.restore(identity);
    this.probeRooms();
  }

  private onError(code: string, message: string): void {
    const s = this.state;
    if (FINAL_ERRORS.has(code)) {
      s.closedReason = code === 'SESSION_REPLACED' ? 'This account was signed in on another device, so this one was closed.' : message;
      this.connection.stop();
      s.link = 'closed';
      return;
    }
    if (code === 'NO_SUCH_SESSION') return; // the held session lapsed: we carry on as a new one
    if (code === 'NO_SUCH_USER' && message.startsWith('no registered user or connected client')) return; // a presence ask raced a departure
    if (this.signIn.onError(code, message)) return;
    // A room probed for unread messages may be gone or closed to us (private, banned): that
    // answers the probe, quietly. The same codes right after a refused join are for the user.
    const afterRefusal = this.membership.takeRefusal();
    if (PROBE_REFUSALS.has(code) && !afterRefusal && this.historyRequests.dropProbe()) return;
    if (code === 'UNKNOWN_TYPE') {
      if (message.includes('"away"')) s.away = false;
      // A feature of a newer server (contacts, search, away...): say so once, plainly.
      const what = /"([^"]+)"/.exec(message)?.[1] ?? 'this';
      message = `This server does not support ${what} yet.`;
    }
    if (s.toasts.some((t) => t.text === message)) return;
    this.toast('error', message);
  }

  private scheduleProbe(): void {
    const every = this.options.probeMs ?? 15_000;
    if (every <= 0) return;
    this.timers.setTimeout(() => {
      this.probeRooms();
      this.scheduleProbe();
    }, every);
  }
}
