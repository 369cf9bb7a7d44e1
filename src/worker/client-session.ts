import { NO_ONE, type SessionView } from '../core/effects';
import { MessageRateGuard, TokenBucket } from '../core/rate-limit';
import type { HandedSession } from '../ipc/supervisor-messages';
import { connectionKind, releaseSocket, stopReading, type ConnectionKind } from './socket-handoff';
import { ErrorCode, errorLine } from '../protocol/errors';
import { LineSplitter } from '../protocol/line-splitter';
import type { WriteBatcher } from '../net/write-batcher';
import type { SessionSocket } from './session-socket';

/** How long a client may stay over its output bound (but under the hard bound) before it is dropped. */
const SLOW_CONSUMER_GRACE_MS = 3000;
/**
 * The hard bound, as a multiple of --max-outbound-bytes: the largest single reply (a history
 * page: 200 lines of up to 64 KiB, JSON escaping included) must fit under it.
 */
const HARD_BOUND_FACTOR = 8;

/** The settings a session enforces (a subset of Config; see src/config/schema.ts). */
export interface SessionLimits {
  maxLineBytes: number;
  maxOutboundBytes: number;
  rateLimit: number;
  rateBurst: number;
  maxBytesPerSecond: number;
  lineTimeoutMs: number;
  firstMessageTimeoutMs: number;
  idleTimeoutMs: number;
}

/** The settings sessions read live: a reload changes them for every open session (Worker.reconfigure). */
export const LIVE_SESSION_SETTINGS = ['maxLineBytes', 'maxOutboundBytes', 'rateLimit', 'rateBurst', 'maxBytesPerSecond', 'lineTimeoutMs', 'firstMessageTimeoutMs', 'idleTimeoutMs'] as const satisfies ReadonlyArray<keyof SessionLimits>;

/** TCP keepalive probes start after this long without traffic: dead peers do not linger. */
const KEEPALIVE_MS = 60_000;

/**
 * One client connection inside a worker: bounded line framing in, bounded queue out, and the
 * per-connection limits: inbound bytes a second (over it the socket is paused, which costs
 * only this client), messages a second (checked by the worker through `rate`), and the line,
 * first-message and idle timeouts. What the lines mean is the worker's business (`onLine`).
 */
export class ClientSession {
  /** The hub's view of this client (identity, room, owned rooms); null until welcomed. */
  view: SessionView | null = null;
  /** Identities whose room messages this client does not want (its account's blocks). */
  blocked: ReadonlySet<string> = NO_ONE;
  /** Hash of the session's login token, kept for the hub (see MirroredView). */
  tokenHash: string | null = null;
  /** Hash of the session's resume token, kept for the hub (see MirroredView). */
  resumeHash: string | null = null;
  /** The socket is gone; the session lingers until the hub has been told. */
  closed = false;
  /**
   * The client declared itself extended (`hello`, or any non-core type): it gets every message.
   * Until then it gets only the seed-004 types (src/protocol/capabilities.ts).
   */
  extended = false;
  /** The supervisor's id of this connection (per-address accounting), reported when it ends. */
  connId: number | undefined = undefined;
  /** This connection's message rate (`rateLimit`, `rateBurst`); the worker consults it per line. */
  readonly rate: MessageRateGuard;
  private readonly splitter: LineSplitter;
  private readonly onData: (chunk: Buffer) => void;
  /** Inbound bytes a second; burst twice that. */
  private readonly inbound: TokenBucket;
  /** Being closed by the server: no more lines are handled, the socket is not resumed. */
  private ending = false;
  /** Paused until the byte bucket refills; the client's bytes wait in the kernel meanwhile. */
  private throttled = false;
  private lastReceivedAt = 0;
  private lineStartedAt = 0;
  private validSeen = false;
  /** Made on first use: most connections never start a timer of their own. */
  private timers: Set<NodeJS.Timeout> | null = null;
  private lineTimer: NodeJS.Timeout | null = null;
  private firstMessageTimer: NodeJS.Timeout | null = null;
  private drainTimer: NodeJS.Timeout | null = null;
  /** The idle check is armed (it re-arms itself while `idleTimeoutMs` is on). */
  private idleArmed = false;
  /** Why the server closed this client, for the log; null when the client went by itself. */
  closedBy: ErrorCode | null = null;
  /**
   * Being handed to another worker (an upgrade): reading has stopped for good; output is still
   * written until the hub's HANDED marker. See src/worker/hand-off.ts.
   */
  frozen = false;
  /** Input read but not yet handled: taken at `freeze`, or handed in by `resumeFrom`. */
  private unread: Buffer | null = null;

  constructor(
    readonly id: number,
    private readonly socket: SessionSocket,
    private readonly limits: SessionLimits,
    private readonly batcher: WriteBatcher,
    onLine: (session: ClientSession, line: string, utf8: boolean) => void,
    onClose: (session: ClientSession) => void,
  ) {
    this.splitter = new LineSplitter(limits.maxLineBytes);
    this.remoteAddress = socket.remoteAddress ?? 'local';
    const now = Date.now();
    this.rate = new MessageRateGuard(limits.rateLimit, limits.rateBurst, now);
    this.inbound = new TokenBucket(limits.maxBytesPerSecond, 2 * limits.maxBytesPerSecond, now);
    socket.setNoDelay(true);
    socket.setKeepAlive(true, KEEPALIVE_MS);
    const onBytes = (chunk: Buffer): void => {
      this.lastReceivedAt = Date.now();
      let lines = 0;
      const ok = this.splitter.push(chunk, (line, utf8) => {
        lines++;
        if (line.length > 0 && !this.closed && !this.ending) onLine(this, line, utf8);
      });
      if (!ok) return this.disconnect(ErrorCode.LINE_TOO_LONG, `line longer than ${limits.maxLineBytes} bytes`);
      this.watchLine(lines > 0);
      this.throttle(chunk.length);
    };
    // A WebSocket delivers whole messages (bounded by --max-line-bytes, UTF-8 checked): one
    // message is one line, no splitting; its transport times frames left unfinished.
    const onMessage = (message: Buffer): void => {
      this.lastReceivedAt = Date.now();
      if (message.length > 0 && !this.closed && !this.ending) onLine(this, message.toString('utf8'), true);
      this.throttle(message.length);
    };
    this.onData = socket.framing === 'messages' ? onMessage : onBytes;
    socket.on('error', () => {
      /* a reset by the peer; 'close' follows */
    });
    socket.on('close', () => {
      this.closed = true;
      this.stopTimers();
      onClose(this);
    });
  }

  /**
   * Starts reading the client's lines. Called once the hub has welcomed it, so every reply
   * (errors included) comes after the welcome sequence, as clients expect.
   */
  startReading(): void {
    if (this.closed || this.ending || this.frozen) return;
    this.lastReceivedAt = Date.now();
    this.armFirstMessage(this.limits.firstMessageTimeoutMs);
    this.armIdle(this.limits.idleTimeoutMs);
    // Bytes the previous worker had read and not handled (an upgrade) come before the socket's.
    const unread = this.unread;
    this.unread = null;
    if (unread && unread.length > 0) this.onData(unread);
    // Attaching the listener is what starts the flow; before it, bytes wait in the kernel.
    if (!this.ending && !this.closed) this.socket.on('data', this.onData);
  }

  /** What the connection is: only a 'plain' one (TCP, Unix) can be handed to another process. */
  get connectionKind(): ConnectionKind {
    return connectionKind(this.socket);
  }

  /**
   * Stops reading for good (the session is being handed to another worker; its connection is
   * 'plain'): the socket's handle stops reading at once, and the bytes already read, an
   * unfinished line and whatever Node had read but not yet emitted, are kept for the new
   * worker. Timers stop; output is still written.
   */
  freeze(): void {
    if (this.frozen) return;
    this.frozen = true;
    this.stopTimers();
    const held = stopReading(this.socket, this.onData);
    const parts = [this.splitter.takeBuffered()];
    if (held) parts.push(held);
    this.unread = Buffer.concat(parts);
  }

  /**
   * Resolves true once everything queued for the client is in the kernel (an upgrade passes the
   * socket on only then), false after `ms` or when the socket is gone.
   */
  async written(ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (!this.socket.destroyed && (this.socket.writableLength > 0 || this.socket.writableCorked > 0)) {
      if (Date.now() >= deadline) return false;
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    return !this.socket.destroyed && !this.closed;
  }

  /** What the new worker needs of this session beside its socket (see HandedSession). */
  handedState(newId: number): HandedSession {
    return { id: newId, connId: this.connId, extended: this.extended, validSeen: this.validSeen, rate: this.rate.snapshot(), inbound: this.inbound.snapshot(), unread: (this.unread ?? Buffer.alloc(0)).toString('base64') };
  }

  /**
   * Lets go of the socket: no listener of this session stays on it, and the raw handle (a TCP
   * or Pipe handle, what Node's IPC passes as a descriptor without reading from it) is returned
   * for sending. `closeCopy` afterwards closes this process's descriptor; the connection stays
   * open in the process that received it.
   */
  release(): { handle: object | null; closeCopy: () => void } {
    this.closed = true;
    this.stopTimers();
    return releaseSocket(this.socket);
  }

  /** Takes over the state of a session handed over by an upgrade; call before `startReading`. */
  resumeFrom(state: HandedSession): void {
    this.extended = state.extended;
    this.connId = state.connId;
    if (state.validSeen) this.validSeen = true;
    this.rate.load(state.rate);
    if (state.inbound) this.inbound.load(state.inbound);
    this.unread = Buffer.from(state.unread, 'base64');
  }

  /** The worker accepted a line as a valid message: the first-message timeout is met. */
  noteValidMessage(): void {
    if (this.validSeen) return;
    this.validSeen = true;
    this.clearTimer(this.firstMessageTimer);
    this.firstMessageTimer = null;
  }

  /** The peer's address; Unix-socket clients have none and show as "local". */
  readonly remoteAddress: string;

  /**
   * Queues bytes for the client; a client that lets its queue pass the bound is dropped.
   * `broadcast`: room traffic, held to --max-outbound-bytes strictly. Replies to the client's own
   * requests (a history page, a resume) may pass it for the grace period while it reads them.
   */
  send(bytes: Buffer | string, broadcast = false): void {
    if (this.closed || this.socket.destroyed || !this.socket.writable) return;
    this.batcher.write(this.socket, bytes);
    const max = this.limits.maxOutboundBytes;
    const queued = this.socket.writableLength;
    if (queued <= max) return;
    // Room traffic over the bound, or anything far over it: drop it now. Just over it with a big
    // reply (a resume, a history page): a reader that keeps up gets a grace period to read
    // below the bound before it is called slow.
    if (broadcast || queued > HARD_BOUND_FACTOR * max) return this.slowConsumer();
    if (this.drainTimer === null) {
      this.drainTimer = this.after(SLOW_CONSUMER_GRACE_MS, () => {
        this.drainTimer = null;
        if (this.socket.writableLength > max) this.slowConsumer();
      });
    }
  }

  private slowConsumer(): void {
    // Queued behind the backlog: a client that catches up within the close grace learns why.
    this.disconnect(ErrorCode.SLOW_CONSUMER, `slow consumer: more than ${this.limits.maxOutboundBytes} bytes waiting to be read`);
  }

  /**
   * Tells an extended client why, then closes once that is written. A core client gets no line
   * it would not know, just the close; the reason is logged when the socket closes (`closedBy`).
   */
  disconnect(code: ErrorCode, reason: string): void {
    if (this.socket.destroyed || this.ending) return;
    this.ending = true;
    this.closedBy = code;
    this.stopTimers();
    if (this.socket.closeWith) this.socket.closeWith(code, reason, this.extended ? errorLine(code, reason) : null);
    else if (this.extended) this.socket.end(errorLine(code, reason));
    else this.socket.end();
    this.socket.pause();
    // A client that does not read its last line does not hold the socket open.
    setTimeout(() => this.socket.destroy(), 2000).unref();
  }

  /** Closes after what is queued is written (the protocol's quit). */
  end(): void {
    if (!this.socket.destroyed) this.socket.end();
  }

  /**
   * Slowloris: a started line must end within `lineTimeoutMs`. The clock starts at the first
   * byte of a line and restarts with each new line.
   */
  private watchLine(endedLines: boolean): void {
    if (this.limits.lineTimeoutMs === 0 || this.ending) return;
    if (this.splitter.bufferedBytes === 0) {
      this.clearTimer(this.lineTimer);
      this.lineTimer = null;
    } else if (this.lineTimer === null || endedLines) {
      this.lineStartedAt = Date.now();
      this.clearTimer(this.lineTimer);
      this.lineTimer = this.after(this.limits.lineTimeoutMs, () => this.checkLine());
    }
  }

  private checkLine(): void {
    this.lineTimer = null;
    // Switched off by a reload since it was armed.
    if (this.limits.lineTimeoutMs <= 0) return;
    // While throttled the rest of the line may be waiting in the kernel: not the client's delay.
    const waited = Date.now() - this.lineStartedAt;
    if (this.throttled || waited < this.limits.lineTimeoutMs) {
      this.lineTimer = this.after(Math.max(1, this.limits.lineTimeoutMs - waited), () => this.checkLine());
      return;
    }
    this.disconnect(ErrorCode.LINE_TIMEOUT, `a line was started but not ended within ${this.limits.lineTimeoutMs} ms`);
  }

  /**
   * The limits object changed in place (a settings reload): the ones held outside it (line
   * bound, message and byte rates) follow, and timeouts switched on start counting now.
   */
  limitsChanged(): void {
    const { maxLineBytes, rateLimit, rateBurst, maxBytesPerSecond, idleTimeoutMs, lineTimeoutMs } = this.limits;
    this.splitter.setMaxLineBytes(maxLineBytes);
    this.socket.limitsChanged?.();
    this.rate.retune(rateLimit, rateBurst);
    this.inbound.retune(maxBytesPerSecond, 2 * maxBytesPerSecond);
    if (this.closed || this.ending || this.lastReceivedAt === 0) return;
    if (!this.idleArmed) this.armIdle(idleTimeoutMs);
    if (this.firstMessageTimer === null) this.armFirstMessage(this.limits.firstMessageTimeoutMs);
    if (lineTimeoutMs > 0 && this.lineTimer === null && this.splitter.bufferedBytes > 0) {
      this.lineStartedAt = Date.now();
      this.lineTimer = this.after(lineTimeoutMs, () => this.checkLine());
    }
  }

  private armFirstMessage(ms: number): void {
    if (ms <= 0 || this.validSeen) return;
    this.firstMessageTimer = this.after(ms, () => {
      this.firstMessageTimer = null;
      // Switched off by a reload since it was armed.
      if (this.limits.firstMessageTimeoutMs > 0) this.disconnect(ErrorCode.FIRST_MESSAGE_TIMEOUT, `no valid message within ${ms} ms of connecting`);
    });
  }

  private armIdle(ms: number): void {
    if (ms <= 0) return;
    this.idleArmed = true;
    this.after(ms, () => this.checkIdle());
  }

  /** Checked once per `idleTimeoutMs`, not re-armed per chunk: data costs no timer work. */
  private checkIdle(): void {
    this.idleArmed = false;
    // Switched off by a reload since it was armed.
    if (this.limits.idleTimeoutMs <= 0) return;
    const quiet = Date.now() - this.lastReceivedAt;
    if (this.throttled || quiet < this.limits.idleTimeoutMs) {
      this.armIdle(this.throttled ? this.limits.idleTimeoutMs : this.limits.idleTimeoutMs - quiet);
      return;
    }
    this.disconnect(ErrorCode.IDLE_TIMEOUT, `nothing received for ${this.limits.idleTimeoutMs} ms (send {"type":"ping"} to keep a connection open)`);
  }

  /**
   * Inbound bytes a second: over the bucket, stop reading until it has refilled. The client's
   * further bytes wait in its socket buffers (TCP backpressure): a flood costs the flooder.
   */
  private throttle(bytes: number): void {
    const waitMs = this.inbound.consume(Date.now(), bytes);
    if (waitMs === 0 || this.ending || this.throttled) return;
    this.throttled = true;
    this.socket.pause();
    this.after(waitMs, () => {
      this.throttled = false;
      if (!this.ending && !this.closed) this.socket.resume();
    });
  }

  private after(ms: number, run: () => void): NodeJS.Timeout {
    const timer = setTimeout(() => {
      this.timers?.delete(timer);
      run();
    }, ms);
    (this.timers ??= new Set()).add(timer);
    return timer;
  }

  private clearTimer(timer: NodeJS.Timeout | null): void {
    if (timer === null) return;
    clearTimeout(timer);
    this.timers?.delete(timer);
  }

  private stopTimers(): void {
    for (const t of this.timers ?? []) clearTimeout(t);
    this.timers = null;
    this.lineTimer = null;
    this.firstMessageTimer = null;
    this.drainTimer = null;
    this.idleArmed = false;
  }
}
