import type net from 'node:net';
import type { Logger } from 'pino';
import type { Config } from '../config/schema';
import { NO_ONE } from '../core/effects';
import {
  Kind,
  encodeChat,
  encodeClose,
  encodeInTurn,
  encodeOpen,
  encodeRequest,
  type Hello,
  type HubToWorker,
} from '../ipc/hub-link-messages';
import { hubSocketPath } from '../ipc/paths';
import { trackConnection, workerMetrics } from '../metrics/worker-metrics';
import { WriteBatcher } from '../net/write-batcher';
import { advertisedHttp, coreServerLines, helloReplyLine, isCoreClientType, type AdvertisedHttp } from '../protocol/capabilities';
import { ErrorCode, errorLine } from '../protocol/errors';
import type { ClientMessage, CoreControlRequest } from '../protocol/messages';
import { parseClientLine, type ParseLimits, type ParseResult } from '../protocol/validate';
import { ClientSession, LIVE_SESSION_SETTINGS } from './client-session';
import { HubLink } from './hub-link';
import { FileAsker } from './file-asker';
import { Adoptions, HandOut, type HandOffHost, type HandOutResult } from './hand-off';
import type { HandedSession } from '../ipc/supervisor-messages';
import { withoutBlocked } from './room-lines';
import type { SessionSocket } from './session-socket';

/** While the hub restarts, requests wait up to this many bytes per worker. */
const MAX_QUEUED_WHILE_HUB_AWAY = 16 * 1024 * 1024;
const PONG_LINE = '{"type":"pong"}\n';

export interface WorkerEvents {
  /** The worker can take clients (its hub link is up for the first time). */
  ready(): void;
  /**
   * A client session ended and the hub has been told (or will be, on its return). `connId`:
   * the supervisor's id of the connection, as given to `adopt`.
   */
  sessionClosed(remaining: number, connId: number | undefined): void;
}

/**
 * A worker: the sessions of its clients, a mirror of their state as the hub last said it
 * (identity, room, owned rooms), and the fan-out of the hub's frames to its own sockets.
 */
export class Worker {
  private readonly sessions = new Map<number, ClientSession>();
  /** Room id -> this worker's sessions in it: the targets of a chat frame. */
  private readonly rooms = new Map<string, Set<ClientSession>>();
  private nextId = 1;
  private readonly hub: HubLink;
  private readonly batcher = new WriteBatcher();
  private everUp = false;
  private readonly parseLimits: ParseLimits;
  /** An upgrade: this worker's sessions on their way out, and others' on their way in. */
  private handOut: HandOut | null = null;
  private readonly adoptions: Adoptions;
  /** The settings in force: a copy every session reads its limits from, changed in place by a reload. */
  private readonly config: { -readonly [K in keyof Config]: Config[K] };
  /** The HTTP side's questions about files (src/worker/files-route.ts). */
  readonly files: FileAsker;
  /** The HTTP listener told in `hello` replies: from the config until the supervisor says how it is bound. */
  private http: AdvertisedHttp | null;

  constructor(
    private readonly workerId: number,
    config: Config,
    private readonly log: Logger,
    private readonly events: WorkerEvents,
  ) {
    this.config = { ...config };
    this.http = advertisedHttp(config);
    this.parseLimits = { maxJsonDepth: config.maxJsonDepth, maxContentLength: config.maxContentLength };
    this.files = new FileAsker((frame) => this.hub.send(frame));
    this.adoptions = new Adoptions(this.handOffHost());
    this.hub = new HubLink(hubSocketPath(config.dataDir), MAX_QUEUED_WHILE_HUB_AWAY, {
      hello: () => this.hello(),
      frame: (msg) => this.onHubFrame(msg),
      frameFailed: (msg, err) => this.log.error({ err, kind: msg.kind }, 'failed to handle a hub frame; skipped'),
      up: () => {
        this.log.info({ sessions: this.sessions.size }, 'linked to hub');
        if (!this.everUp) {
          this.everUp = true;
          this.events.ready();
        }
      },
      down: (err) => {
        if (err) this.log.error({ err, sessions: this.sessions.size }, 'hub link dropped: a hub frame could not be decoded; reconnecting');
        else this.log.warn({ sessions: this.sessions.size }, 'hub link lost; holding sessions until it is back');
      },
    });
  }

  start(): void {
    this.hub.start();
  }

  /** An upgrade: hands every plain session to worker `to` (src/worker/hand-off.ts). */
  handOffAll(to: number, pass: (session: HandedSession, handle: object | null, sent: () => void) => void, done: (result: HandOutResult) => void): void {
    if (this.handOut) return;
    this.handOut = new HandOut(this.handOffHost(), to, pass, done);
    this.handOut.start();
  }

  /** An upgrade: a session handed over by an old worker (`socket` null: its client left). */
  adoptHanded(socket: net.Socket | null, state: HandedSession): void {
    this.adoptions.fromOldWorker(socket, state);
  }

  private handOffHost(): HandOffHost {
    return {
      sessions: this.sessions,
      hubSend: (frame) => this.hub.send(frame),
      drop: (s) => {
        this.leaveRoomMirror(s);
        this.sessions.delete(s.id);
      },
      create: (id, socket) => {
        const s = new ClientSession(id, socket, this.config, this.batcher, (c, line, utf8) => this.onClientLine(c, line, utf8), (c) => this.onClientClosed(c));
        this.sessions.set(id, s);
        return s;
      },
      frame: (msg) => this.onHubFrame(msg),
      sessionClosed: (connId) => this.events.sessionClosed(this.sessions.size, connId),
      maxOutboundBytes: this.config.maxOutboundBytes,
      log: this.log,
    };
  }

  /**
   * The settings in force, the object every session reads its limits from: a reload changes
   * its live ones in place, so a reader takes a value when it applies it, not once at start
   * (the HTTP gateway's WebSocket sessions).
   */
  get settings(): Config {
    return this.config;
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  /** Bytes waiting to reach the hub (metrics). */
  get hubQueueBytes(): number {
    return this.hub.pendingBytes;
  }

  /** A client connection: a socket handed over by the supervisor, or a WebSocket on one. */
  adopt(socket: SessionSocket, connId?: number): void {
    trackConnection(socket);
    const id = this.nextId++;
    const session = new ClientSession(
      id,
      socket,
      this.config,
      this.batcher,
      (s, line, utf8) => this.onClientLine(s, line, utf8),
      (s) => this.onClientClosed(s),
    );
    session.connId = connId;
    this.sessions.set(id, session);
    // While the hub is away the next HELLO lists this session, and the hub welcomes it then.
    if (this.hub.isUp) this.hub.send(encodeOpen(id, session.remoteAddress));
  }

  /**
   * A settings reload: the live settings (src/config/reload.ts) take their new values, for
   * every session of this worker at once.
   */
  reconfigure(config: Config): void {
    for (const key of LIVE_SESSION_SETTINGS) (this.config as Record<string, unknown>)[key] = config[key];
    this.parseLimits.maxJsonDepth = config.maxJsonDepth;
    this.parseLimits.maxContentLength = config.maxContentLength;
    for (const s of this.sessions.values()) s.limitsChanged();
  }

  /** The HTTP listener as bound (the supervisor's 'listening'): told in `hello` replies from now on. */
  advertiseHttp(http: AdvertisedHttp | null): void {
    this.http = http;
  }

  /** Resolves once every frame for the hub so far has been written out. */
  flushHub(): Promise<void> {
    return this.hub.flush();
  }

  /** Says goodbye to every client; resolves when their sockets are closed or after `ms`. */
  async shutdown(ms: number): Promise<void> {
    const open = [...this.sessions.values()].filter((s) => !s.closed);
    for (const s of open) s.disconnect(ErrorCode.SHUTTING_DOWN, 'server is shutting down');
    const deadline = Date.now() + ms;
    while (open.some((s) => !s.closed) && Date.now() < deadline) await sleep(20);
    this.hub.stop();
  }

  private hello(): Hello {
    const sessions = [...this.sessions.values()].map((s) => ({ id: s.id, view: s.view, address: s.remoteAddress, tokenHash: s.tokenHash, resumeHash: s.resumeHash }));
    return { workerId: this.workerId, sessions };
  }

  private onClientLine(session: ClientSession, line: string, utf8: boolean): void {
    try {
      this.forwardClientLine(session, line, utf8);
    } catch (err) {
      // One bad line must never take down the other clients of this process.
      this.log.error({ err, sessionId: session.id }, 'failed to handle a client line');
      this.refuse(session, ErrorCode.INTERNAL_ERROR, 'the server could not handle this request');
    }
  }

  /**
   * Answers a line the worker itself refuses: an `error` for an extended client; nothing for a
   * core one (seed 004 has no error message), whose dropped line is logged instead.
   */
  private refuse(session: ClientSession, code: ErrorCode, message: string): void {
    workerMetrics.errors.incFor(code);
    if (session.extended) return this.answer(session, errorLine(code, message));
    // Rate-limited lines come in floods (until FLOODING closes the client): not worth a line each.
    const level = code === ErrorCode.RATE_LIMITED ? 'debug' : 'info';
    this.log[level]({ sessionId: session.id, identity: session.view?.identity, code, reason: message }, 'dropped a line of a core client (not answered)');
  }

  private forwardClientLine(session: ClientSession, line: string, utf8: boolean): void {
    // Before any parsing: a refused line costs a token check, not a JSON.parse.
    const verdict = session.rate.check(Date.now());
    if (verdict === 'flooding') {
      this.log.warn({ sessionId: session.id, remote: session.remoteAddress }, 'closed a flooding client');
      session.disconnect(ErrorCode.FLOODING, 'too many messages over the rate limit; closing');
      return;
    }
    if (verdict === 'limited') {
      this.refuse(session, ErrorCode.RATE_LIMITED, `over ${this.config.rateLimit} messages a second; message dropped`);
      return;
    }
    const parsed = parseClientLine(line, this.parseLimits, utf8);
    // Any type beyond seed 004, even one refused or unknown, is the client speaking extended.
    const type = parsed.ok ? parsed.message.type : parsed.type;
    if (type !== undefined && !session.extended && !isCoreClientType(type)) session.extended = true;
    if (!parsed.ok) return this.refuseLine(session, parsed);
    session.noteValidMessage();
    const msg = parsed.message;
    workerMetrics.messagesIn.incFor(msg.type === 'message' ? 'chat' : msg.type === 'ping' || msg.type === 'hello' ? 'keepalive' : 'request');
    // Keepalive and capabilities are the session's business: answered here, the hub never sees them.
    if (msg.type === 'ping') return this.answer(session, PONG_LINE);
    if (msg.type === 'hello') {
      // With the rate limits in force (a reload may change them), for clients to pace themselves.
      const { rateLimit, rateBurst, accountRateLimit } = this.config;
      return this.answer(session, helloReplyLine({ rate: rateLimit, burst: rateBurst, accountRate: accountRateLimit }, this.http));
    }
    this.toHub(session, msg);
  }

  /**
   * Sends `line`, the worker's own answer to a line of `session`, in turn with the replies to
   * its earlier requests (docs/PROTOCOL.md, "Framing": a client without request ids matches
   * replies by their order): through the hub, which queues it behind the session's requests
   * still in progress and sends it back like a reply (Hub.handle, Kind.IN_TURN). Cheaper than
   * knowing when the hub is idle for the session (a completion frame per request); these lines
   * are rare, and the rate limit bounds them. Sent directly only when the queue for an absent
   * hub is full (the hub away too long): answered then, though out of turn.
   */
  private answer(session: ClientSession, line: string): void {
    if (!this.hub.send(encodeInTurn(session.id, line))) session.send(line);
  }

  private toHub(session: ClientSession, msg: Exclude<ClientMessage, { type: 'ping' | 'hello' }>): void {
    // A room message carrying a file goes as a request: the hub looks the file up first.
    const frame = msg.type !== 'message' ? encodeRequest(session.id, msg) : msg.attachment ? encodeRequest(session.id, { type: 'message', content: msg.content, attachment: msg.attachment }) : encodeChat(session.id, msg.content);
    if (!this.hub.send(frame)) this.refuse(session, ErrorCode.BUSY, 'server is recovering; request dropped, try again');
  }

  /**
   * A refused line. A core client's core request whose name field is unusable (wrong type,
   * ill-formed text) is answered the seed way: the hub gets it with that name empty, which no
   * room or identity can be, and replies with its "no change" answer (newidentity with
   * former == identity, roomchange with former == roomid, the roomlist without the room, empty
   * roomcontents), in order with the client's other requests. Anything else is dropped.
   */
  private refuseLine(session: ClientSession, refused: Extract<ParseResult, { ok: false }>): void {
    if (!session.extended) {
      const noChange = seedRefusal(refused.type);
      if (noChange) return this.toHub(session, noChange);
    }
    this.refuse(session, refused.code, refused.message);
  }

  private onClientClosed(session: ClientSession): void {
    // Frozen for an upgrade: its HANDED reports it gone (the hub must hear of it from the new worker).
    if (this.handOut?.holds(session)) return;
    workerMetrics.closed.incFor(session.closedBy ?? 'client');
    if (session.closedBy && session.closedBy !== ErrorCode.SHUTTING_DOWN) {
      this.log.info({ sessionId: session.id, address: session.remoteAddress, identity: session.view?.identity, reason: session.closedBy }, 'client disconnected by the server');
    }
    this.leaveRoomMirror(session);
    // Known to the hub: keep it listed (for a HELLO) until the hub has been told it left.
    const queued = this.hub.send(encodeClose(session.id), () => this.forget(session));
    if (!queued || session.view === null) this.forget(session);
  }

  private forget(session: ClientSession): void {
    if (this.sessions.delete(session.id)) this.events.sessionClosed(this.sessions.size, session.connId);
  }

  private onHubFrame(msg: HubToWorker): void {
    this.adoptions.capture(msg);
    switch (msg.kind) {
      case Kind.HANDED:
        this.handOut?.onHanded(msg.id, msg.newId);
        return;
      case Kind.INCOMING:
        this.adoptions.fromHub(msg.id, msg.view);
        return;
      case Kind.TO_ROOM: {
        const members = this.rooms.get(msg.roomid);
        if (!members) return;
        workerMetrics.deliveries.inc(members.size * msg.senders.length);
        // Room traffic is what a slow reader falls behind on: held to the bound strictly.
        for (const s of members) s.send(s.blocked.size === 0 ? msg.lines : withoutBlocked(msg, s.blocked), true);
        return;
      }
      case Kind.TO_SESSIONS: {
        // Worked out once per frame, and only when a core client is among the targets.
        let core: Buffer | null = null;
        workerMetrics.deliveries.inc(msg.ids.length);
        for (const id of msg.ids) {
          const s = this.sessions.get(id);
          if (!s) continue;
          if (s.extended) s.send(msg.line);
          else if ((core ??= coreServerLines(msg.line)).length > 0) s.send(core);
        }
        return;
      }
      case Kind.STATE: {
        const session = this.sessions.get(msg.id);
        if (!session) return;
        this.leaveRoomMirror(session);
        const welcomed = session.view === null;
        const { blocked, tokenHash, resumeHash, ...view } = msg.view;
        session.view = view;
        session.blocked = blocked.length === 0 ? NO_ONE : new Set(blocked);
        session.tokenHash = tokenHash;
        session.resumeHash = resumeHash;
        if (session.closed) return;
        this.joinRoomMirror(session);
        if (welcomed) session.startReading();
        return;
      }
      case Kind.END:
        this.sessions.get(msg.id)?.end();
        return;
      case Kind.FILE_ANSWER:
        this.files.answered(msg.frame);
        return;
    }
  }

  private joinRoomMirror(session: ClientSession): void {
    const roomid = session.view!.roomid;
    let members = this.rooms.get(roomid);
    if (!members) this.rooms.set(roomid, (members = new Set()));
    members.add(session);
  }

  private leaveRoomMirror(session: ClientSession): void {
    const roomid = session.view?.roomid;
    if (roomid === undefined) return;
    const members = this.rooms.get(roomid);
    if (!members) return;
    members.delete(session);
    if (members.size === 0) this.rooms.delete(roomid);
  }
}

/**
 * The request whose hub answer is the seed-004 refusal of a core request of `type` (see
 * Worker.refuseLine); null for `message`, `list`, `quit` and lines of no known type.
 */
function seedRefusal(type: string | undefined): CoreControlRequest | null {
  switch (type) {
    case 'identitychange':
      return { type, identity: '' };
    case 'join':
    case 'who':
    case 'createroom':
    case 'delete':
      return { type, roomid: '' };
    default:
      return null;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
