import type { ErrorCode } from '../protocol/errors';

/**
 * What a ClientSession needs of its connection. A `net.Socket` (TCP, TLS, Unix) is one as it
 * is, with no wrapper on the hot path; a WebSocket is adapted to it (websocket-transport.ts).
 */
export interface SessionSocket {
  /** The peer's address; undefined for a Unix-socket peer. */
  readonly remoteAddress?: string | undefined;
  readonly destroyed: boolean;
  readonly writable: boolean;
  /** Bytes queued for the peer and not yet handed to the kernel (the slow-consumer measure). */
  readonly writableLength: number;
  readonly writableCorked: number;
  /** Bytes received so far (metrics): a byte stream's all, a WebSocket's message payloads. */
  readonly bytesRead: number;
  /** Bytes written so far (metrics): a byte stream's all, a WebSocket's message payloads. */
  readonly bytesWritten: number;
  /**
   * Absent: a byte stream of newline-delimited JSON in arbitrary chunks. `messages`: each
   * `data` chunk is one whole message, already bounded and UTF-8 checked by the transport.
   */
  readonly framing?: 'messages';
  setNoDelay(noDelay?: boolean): unknown;
  setKeepAlive(enable?: boolean, initialDelay?: number): unknown;
  on(event: 'data', listener: (chunk: Buffer) => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
  on(event: 'close', listener: () => void): unknown;
  /** Queues one or more complete `\n`-terminated lines. */
  write(bytes: Buffer | string): unknown;
  end(): unknown;
  end(bytes: Buffer | string): unknown;
  cork(): void;
  uncork(): void;
  pause(): unknown;
  resume(): unknown;
  destroy(): unknown;
  /**
   * The server closes the connection for `code`: `line` (the error line for an extended
   * client, or null) is sent first, then the close in the transport's own terms (a WebSocket
   * close code and reason). Absent on a byte stream, which just ends after the line.
   */
  closeWith?(code: ErrorCode, reason: string, line: string | null): void;
  /**
   * A reload changed the live settings the transport enforces itself (a WebSocket's message
   * bound and frame timeout). Absent on a byte stream: its session enforces them all.
   */
  limitsChanged?(): void;
}
