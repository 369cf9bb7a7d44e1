import type net from 'node:net';
import type { SessionView } from '../core/effects';
import { ErrorCode, errorLine } from '../protocol/errors';
import { LineSplitter } from '../protocol/line-splitter';
import type { WriteBatcher } from '../net/write-batcher';

export interface SessionLimits {
  maxLineBytes: number;
  maxOutboundBytes: number;
}

/**
 * One client connection inside a worker: bounded line framing in, bounded queue out.
 * What the lines mean is the worker's business (`onLine`).
 */
export class ClientSession {
  /** The hub's view of this client (identity, room, owned rooms); null until welcomed. */
  view: SessionView | null = null;
  /** Identities whose room messages this client does not want (its account's blocks). */
  blocked: ReadonlySet<string> = new Set();
  /** Hash of the session's login token, kept for the hub (see MirroredView). */
  tokenHash: string | null = null;
  /** The socket is gone; the session lingers until the hub has been told. */
  closed = false;
  private readonly splitter: LineSplitter;
  private readonly onData: (chunk: Buffer) => void;

  constructor(
    readonly id: number,
    private readonly socket: net.Socket,
    private readonly limits: SessionLimits,
    private readonly batcher: WriteBatcher,
    onLine: (session: ClientSession, line: string) => void,
    onClose: (session: ClientSession) => void,
  ) {
    this.splitter = new LineSplitter(limits.maxLineBytes);
    this.remoteAddress = socket.remoteAddress ?? 'local';
    socket.setNoDelay(true);
    this.onData = (chunk: Buffer) => {
      const ok = this.splitter.push(chunk, (line) => {
        if (line.length > 0 && !this.closed) onLine(this, line);
      });
      if (!ok) this.disconnect(ErrorCode.LINE_TOO_LONG, `line longer than ${limits.maxLineBytes} bytes`);
    };
    socket.on('error', () => {
      /* a reset by the peer; 'close' follows */
    });
    socket.on('close', () => {
      this.closed = true;
      onClose(this);
    });
  }

  /**
   * Starts reading the client's lines. Called once the hub has welcomed it, so every reply
   * (errors included) comes after the welcome sequence, as clients expect.
   */
  startReading(): void {
    // Attaching the listener is what starts the flow; before it, bytes wait in the kernel.
    this.socket.on('data', this.onData);
  }

  /** The peer's address; Unix-socket clients have none and show as "local". */
  readonly remoteAddress: string;

  /** Queues bytes for the client; a client that lets its queue pass the bound is dropped. */
  send(bytes: Buffer | string): void {
    if (this.closed || this.socket.destroyed || !this.socket.writable) return;
    this.batcher.write(this.socket, bytes);
    if (this.socket.writableLength > this.limits.maxOutboundBytes) {
      // Queued behind the backlog: a client that catches up within the grace period learns why.
      this.disconnect(ErrorCode.SLOW_CONSUMER, `slow consumer: more than ${this.limits.maxOutboundBytes} bytes waiting to be read`);
    }
  }

  /** Tells the client why, then closes once that is written. */
  disconnect(code: ErrorCode, reason: string): void {
    if (this.socket.destroyed) return;
    this.socket.end(errorLine(code, reason));
    this.socket.pause();
    // A client that does not read its last line does not hold the socket open.
    setTimeout(() => this.socket.destroy(), 2000).unref();
  }

  /** Closes after what is queued is written (the protocol's quit). */
  end(): void {
    if (!this.socket.destroyed) this.socket.end();
  }
}
