import { EventEmitter } from 'node:events';
import type net from 'node:net';
import { WebSocket } from 'ws';
import { ErrorCode } from '../protocol/errors';
import type { SessionSocket } from './session-socket';

/**
 * WebSocket close codes the server sends (RFC 6455 §7.4.1). The reason text is
 * `CODE: message` with CODE from src/protocol/errors.ts, cut to the 123 bytes a close frame holds.
 */
export const CloseCode = {
  /** The client quit, or the server closed it normally. */
  NORMAL: 1000,
  /** The server is shutting down (SHUTTING_DOWN). */
  GOING_AWAY: 1001,
  /** A binary frame (BINARY_FRAME): protocol messages are text frames. */
  UNSUPPORTED_DATA: 1003,
  /** A limit or rule of the protocol was broken (SLOW_CONSUMER, FLOODING, IDLE_TIMEOUT, ...). */
  POLICY_VIOLATION: 1008,
  /** A message over --max-line-bytes (LINE_TOO_LONG; see webSocketClass). */
  MESSAGE_TOO_BIG: 1009,
  /** The server failed (INTERNAL_ERROR). */
  INTERNAL_ERROR: 1011,
} as const;

/** The close code for a server-side disconnect reason. */
export function closeCodeFor(code: ErrorCode): number {
  switch (code) {
    case ErrorCode.SHUTTING_DOWN:
      return CloseCode.GOING_AWAY;
    case ErrorCode.BINARY_FRAME:
      return CloseCode.UNSUPPORTED_DATA;
    case ErrorCode.LINE_TOO_LONG:
      return CloseCode.MESSAGE_TOO_BIG;
    case ErrorCode.INTERNAL_ERROR:
      return CloseCode.INTERNAL_ERROR;
    default:
      return CloseCode.POLICY_VIOLATION;
  }
}

/** A close frame's reason: at most 123 bytes of UTF-8, cut on a character boundary. */
export function closeReason(code: ErrorCode, message: string): string {
  let text = `${code}: ${message}`;
  while (Buffer.byteLength(text) > 123) text = text.slice(0, -1);
  return text;
}

/** The close reason of a message over --max-line-bytes (`maxLineBytes`: the limit in force). */
function tooBigReason(maxLineBytes: number): string {
  return closeReason(ErrorCode.LINE_TOO_LONG, tooBigMessage(maxLineBytes));
}

function tooBigMessage(maxLineBytes: number): string {
  return `message too big: at most ${maxLineBytes} bytes (--max-line-bytes)`;
}

/**
 * `ws`'s WebSocket class for a WebSocketServer (its public `WebSocket` option). ws refuses a
 * message over the server's `maxPayload` itself, from the frame header before any of the
 * payload is buffered, by calling `close(1009)` with no reason; this class adds the reason
 * (`LINE_TOO_LONG: message too big: at most N bytes ...`) the server's other closes carry,
 * with N = `maxLineBytes()` read at that moment (the limit in force, which a reload changes).
 * Only that close has code 1009 and no reason: the server's own closes always give one.
 */
export function webSocketClass(maxLineBytes: () => number): typeof WebSocket {
  return class extends WebSocket {
    override close(code?: number, data?: string | Buffer): void {
      super.close(code, code === CloseCode.MESSAGE_TOO_BIG && (data === undefined || data.length === 0) ? tooBigReason(maxLineBytes()) : data);
    }
  };
}

/**
 * The live settings a WebSocket transport enforces, read at each use: the worker's settings
 * object, which a reload changes in place (Worker.reconfigure).
 */
export interface WebSocketLimits {
  /** --max-line-bytes: the longest message accepted (bytes of payload). */
  readonly maxLineBytes: number;
  /** --line-timeout-ms: a frame started must be complete within this; 0 = no limit. */
  readonly lineTimeoutMs: number;
}

/** Messages held while the session does not read, at most this far over --max-line-bytes (bytes). */
const HELD_HEADROOM_BYTES = 128 * 1024;

/**
 * A WebSocket as a SessionSocket, so a ClientSession runs on it unchanged: one text frame in
 * is one `data` chunk (one protocol message), each `\n`-terminated line written goes out as
 * one text frame. Reading waits for the session (messages parsed meanwhile are held, bounded),
 * writes are corked on the TCP socket underneath, so the worker's write batching applies.
 */
export class WebSocketTransport extends EventEmitter implements SessionSocket {
  readonly framing = 'messages' as const;
  readonly remoteAddress: string | undefined;
  /** Payload bytes of the messages received (binary ones too), for the metrics. */
  bytesRead = 0;
  /** Payload bytes of the messages sent (the lines without their `\n`), for the metrics. */
  bytesWritten = 0;
  /** Messages received while the session was not reading (before its welcome, or throttled). */
  private held: Buffer[] = [];
  private heldBytes = 0;
  private paused = true;
  private closeEmitted = false;
  /** When the frame now being received started (0: none under way); see watchPartialFrames. */
  private partialSince = 0;
  private partialTimer: NodeJS.Timeout | null = null;

  /**
   * @param ws an open server-side WebSocket (ws, noServer mode) on `raw`
   * @param raw the connection under it (TCP or TLS)
   * @param limits the live limits, read at each use (see WebSocketLimits). A message over
   *   `maxLineBytes` closes the client (1009); messages held while not reading may total
   *   `maxLineBytes` + 128 KiB. A frame (or fragmented message) started must be complete
   *   within `lineTimeoutMs` (slowloris).
   */
  constructor(
    private readonly ws: WebSocket,
    private readonly raw: net.Socket,
    private readonly limits: WebSocketLimits,
  ) {
    super();
    this.remoteAddress = raw.remoteAddress;
    ws.pause();
    // Watched even with the timeout off: a reload may switch it on (limitsChanged).
    this.watchPartialFrames();
    ws.on('message', (data: Buffer, isBinary: boolean) => this.onMessage(data, isBinary));
    ws.on('error', (err) => this.emit('error', err));
    ws.on('close', () => {
      if (this.closeEmitted) return;
      this.closeEmitted = true;
      this.held = [];
      if (this.partialTimer !== null) clearTimeout(this.partialTimer);
      this.emit('close');
    });
    // Like a socket's flow starting when its 'data' listener is attached (ClientSession.startReading).
    this.on('newListener', (event: string) => {
      if (event === 'data') setImmediate(() => this.resume());
    });
  }

  get destroyed(): boolean {
    return this.ws.readyState === WebSocket.CLOSED || this.raw.destroyed;
  }

  get writable(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  /** ws's own measure: bytes in the socket's queue and in its sender's. */
  get writableLength(): number {
    return this.ws.bufferedAmount;
  }

  get writableCorked(): number {
    return this.raw.writableCorked;
  }

  cork(): void {
    this.raw.cork();
  }

  uncork(): void {
    this.raw.uncork();
  }

  setNoDelay(noDelay?: boolean): this {
    this.raw.setNoDelay(noDelay);
    return this;
  }

  setKeepAlive(enable?: boolean, initialDelay?: number): this {
    this.raw.setKeepAlive(enable, initialDelay);
    return this;
  }

  /** Each complete line of `bytes` becomes one text frame (without its `\n`). */
  write(bytes: Buffer | string): boolean {
    if (this.ws.readyState !== WebSocket.OPEN) return false;
    const buf = typeof bytes === 'string' ? Buffer.from(bytes) : bytes;
    let start = 0;
    for (;;) {
      const nl = buf.indexOf(0x0a, start);
      const end = nl === -1 ? buf.length : nl;
      if (end > start) {
        this.ws.send(buf.subarray(start, end), { binary: false });
        this.bytesWritten += end - start;
      }
      if (nl === -1) break;
      start = nl + 1;
    }
    return true;
  }

  /** The protocol's `quit`, or a close without a reason: 1000 after what is queued. */
  end(bytes?: Buffer | string): this {
    if (bytes !== undefined) this.write(bytes);
    this.closeSafely(CloseCode.NORMAL, '');
    return this;
  }

  closeWith(code: ErrorCode, reason: string, line: string | null): void {
    if (line !== null) this.write(line);
    this.closeSafely(closeCodeFor(code), closeReason(code, reason));
  }

  pause(): this {
    this.paused = true;
    this.ws.pause();
    return this;
  }

  resume(): this {
    this.paused = false;
    // A frame's clock does not count the time its rest waited on our pause.
    if (this.partialSince !== 0) this.partialSince = Date.now();
    // Held messages first, in order; the session may pause again (throttle) on any of them.
    while (this.held.length > 0 && !this.paused) {
      const message = this.held.shift()!;
      this.heldBytes -= message.length;
      this.emit('data', message);
    }
    if (!this.paused) this.ws.resume();
    return this;
  }

  destroy(): this {
    this.ws.terminate();
    return this;
  }

  /**
   * A reload changed the limits: a line timeout switched on counts from now for a frame
   * already under way, as a TCP session's line does (ClientSession.limitsChanged). The others
   * are read where they apply.
   */
  limitsChanged(): void {
    if (this.partialSince === 0 || this.partialTimer !== null || this.limits.lineTimeoutMs <= 0) return;
    this.partialSince = Date.now();
    this.armPartial();
  }

  private onMessage(data: Buffer, isBinary: boolean): void {
    this.bytesRead += data.length;
    // Closed by the server: what ws still parses before the client's close frame is not read.
    if (this.ws.readyState !== WebSocket.OPEN) return;
    // ws's own maxPayload is the hard maximum (see HttpGateway): the limit in force is ours to
    // enforce, so that a reload applies to this open session too.
    const maxLineBytes = this.limits.maxLineBytes;
    if (data.length > maxLineBytes) {
      this.closeWith(ErrorCode.LINE_TOO_LONG, tooBigMessage(maxLineBytes), null);
      return;
    }
    if (isBinary) {
      // Never a protocol message: an extended or core client alike learns it from the close.
      this.closeWith(ErrorCode.BINARY_FRAME, 'binary frames are not accepted; send each JSON object as one text frame', null);
      return;
    }
    if (!this.paused && this.held.length === 0) {
      this.emit('data', data);
      return;
    }
    // Paused, ws may still parse what its last socket chunk held: kept in order for resume().
    this.held.push(data);
    this.heldBytes += data.length;
    if (this.heldBytes > this.limits.maxLineBytes + HELD_HEADROOM_BYTES) {
      this.held = [];
      this.heldBytes = 0;
      this.closeWith(ErrorCode.FLOODING, 'too many messages before the server could read them', null);
    }
  }

  /**
   * The WebSocket form of the line timeout: after each chunk the socket delivers (this
   * listener runs after ws's own, which parsed it), a frame or fragmented message left
   * incomplete starts the clock; complete ones stop it. ws has no public view of that, so its
   * receiver's state is read (ws 8, up to 8.21.3 at least: `_bufferedBytes`, `_fragments`,
   * `_state` 0 = between frames); if a future ws lacks those fields this check is off, never
   * wrong (the slowloris test in test/integration/websocket.test.ts then fails). Public events
   * cannot replace it: a chunk that ends one message (`message` fires) may start the next, so
   * a client prefixing each unfinished frame with a whole message would never start the clock;
   * being exact without these fields means parsing frame headers a second time.
   */
  private watchPartialFrames(): void {
    const receiver = (this.ws as unknown as { _receiver?: { _bufferedBytes?: unknown; _fragments?: unknown; _state?: unknown } })._receiver;
    if (!receiver || typeof receiver._bufferedBytes !== 'number' || !Array.isArray(receiver._fragments) || typeof receiver._state !== 'number') return;
    const r = receiver as { _bufferedBytes: number; _fragments: unknown[]; _state: number };
    this.raw.on('data', () => {
      const partial = r._bufferedBytes > 0 || r._fragments.length > 0 || r._state !== 0;
      if (!partial) this.partialSince = 0;
      else if (this.partialSince === 0) {
        this.partialSince = Date.now();
        this.armPartial();
      }
    });
  }

  private armPartial(): void {
    const ms = this.limits.lineTimeoutMs;
    if (ms > 0 && this.partialTimer === null) this.partialTimer = setTimeout(() => this.checkPartial(), ms);
  }

  private checkPartial(): void {
    this.partialTimer = null;
    const ms = this.limits.lineTimeoutMs;
    // Switched off by a reload since it was armed.
    if (this.partialSince === 0 || ms <= 0 || this.ws.readyState !== WebSocket.OPEN) return;
    const waited = Date.now() - this.partialSince;
    // While paused (before the welcome, or throttled) the rest may be waiting in the kernel:
    // not the client's delay.
    if (this.paused || waited < ms) {
      this.partialTimer = setTimeout(() => this.checkPartial(), Math.max(1, ms - waited));
      return;
    }
    this.closeWith(ErrorCode.LINE_TIMEOUT, `a frame was started but not finished within ${ms} ms`, null);
  }

  private closeSafely(code: number, reason: string): void {
    const state = this.ws.readyState;
    if (state === WebSocket.CLOSING || state === WebSocket.CLOSED) return;
    this.ws.close(code, reason);
  }
}
