/**
 * The client's socket: connecting over TCP, TLS or a Unix socket, reading newline-delimited lines
 * (bounded), writing client messages, reconnecting with backoff.
 */
import * as net from 'node:net';
import * as tls from 'node:tls';
import type { Target } from './args';
import { LineSplitter, type SplitEvent } from './line-splitter';
import { backoffDelay, type Backoff } from './reconnect';
import { encodeClientMessage, type ClientMessage } from './wire';

/**
 * Opens a connection to `target` (over TLS when it says so: resolved once the handshake is done
 * and the server verified); rejects with the socket error (with its `code`) on failure.
 *
 * @param caPem with `target.tls`: the certificates to trust (the `--ca` file's text), read once
 *   by the caller so that every reconnection trusts the same; null for the default roots
 */
export function connectSocket(target: Target, timeoutMs: number, caPem: string | null = null): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const secure = target.kind === 'tcp' && target.tls !== undefined;
    const socket =
      target.kind === 'unix'
        ? net.createConnection({ path: target.path })
        : target.tls
          ? tls.connect({
              host: target.host,
              port: target.port,
              ca: caPem ?? undefined,
              rejectUnauthorized: !target.tls.insecure,
              minVersion: 'TLSv1.2',
            })
          : net.createConnection({ host: target.host, port: target.port });
    const fail = (err: Error): void => {
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    };
    const timer = setTimeout(() => {
      fail(Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: 'ETIMEDOUT' }));
    }, timeoutMs);
    socket.once('error', fail);
    socket.once(secure ? 'secureConnect' : 'connect', () => {
      clearTimeout(timer);
      socket.removeListener('error', fail);
      if (target.kind === 'tcp') socket.setNoDelay(true);
      resolve(socket);
    });
  });
}

/** OpenSSL's codes for a server certificate that did not verify, and Node's for a name mismatch. */
const CERTIFICATE_ERRORS = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_SIGNATURE_FAILURE',
  'INVALID_CA',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/**
 * A sentence for a TLS failure the user can act on, or null if `err` is not one: an untrusted
 * certificate, or a server that does not speak TLS on that port.
 */
export function describeTlsFailure(err: NodeJS.ErrnoException): string | null {
  const code = err.code ?? '';
  if (CERTIFICATE_ERRORS.has(code)) {
    return `the server's TLS certificate was not accepted: ${err.message} (${code}); trust it with --ca FILE, or skip verification with --insecure`;
  }
  if (code === 'ERR_SSL_WRONG_VERSION_NUMBER' || code === 'ERR_SSL_PACKET_LENGTH_TOO_LONG') {
    return `the server did not answer in TLS (${code}): is this its TLS port?`;
  }
  if (code.startsWith('ERR_SSL_')) return `TLS handshake failed: ${err.message.split('\n')[0]} (${code})`;
  return null;
}

export interface ConnectionHandlers {
  /** A line (or an over-long line) arrived from the server. */
  line(event: SplitEvent): void;
  /** The connection is closed; `error` is the socket error that closed it, if any. */
  closed(error: Error | null): void;
}

/** A connected socket speaking the line protocol. */
export class ServerConnection {
  private readonly splitter: LineSplitter;
  private error: Error | null = null;

  constructor(
    private readonly socket: net.Socket,
    handlers: ConnectionHandlers,
    maxLineBytes?: number,
  ) {
    this.splitter = new LineSplitter(maxLineBytes);
    socket.on('data', (chunk: Buffer) => {
      for (const event of this.splitter.push(chunk)) handlers.line(event);
    });
    socket.on('end', () => {
      for (const event of this.splitter.end()) handlers.line(event);
    });
    socket.on('error', (err) => {
      this.error = err;
    });
    socket.on('close', () => handlers.closed(this.error));
  }

  /** Sends one message; silently dropped if the socket can no longer be written. */
  send(message: ClientMessage): void {
    if (this.socket.writable) this.socket.write(encodeClientMessage(message));
  }

  /** Closes the connection at once. */
  destroy(): void {
    this.socket.destroy();
  }
}

export interface LinkHandlers {
  /** Connection number `count` (1 for the first) is open. */
  opened(count: number): void;
  line(event: SplitEvent): void;
  /** The open connection closed; `error` is the socket error that closed it, if any. */
  closed(error: Error | null): void;
  /**
   * Attempt `attempt` (1 for the first) to reconnect is scheduled `delayMs` from now; `failed` is
   * the previous attempt's error.
   */
  retrying(delayMs: number, failed: Error | null, attempt: number): void;
  /** `attempts` attempts in a row failed (`Backoff.maxAttempts`): no more are made. */
  gaveUp(attempts: number, failed: Error | null): void;
}

/**
 * The connection to one server across reconnections: at most one socket at a time, events of
 * a replaced socket ignored, attempts spaced by an exponential backoff with jitter.
 */
export class ServerLink {
  private connection: ServerConnection | null = null;
  private opened = 0;
  private attempt = 0;
  private timer: NodeJS.Timeout | null = null;
  private ended = false;

  /**
   * @param redial opens a new socket to the same server (null: no reconnection)
   */
  constructor(
    socket: net.Socket,
    private readonly redial: (() => Promise<net.Socket>) | null,
    private readonly backoff: Backoff,
    private readonly handlers: LinkHandlers,
    private readonly maxLineBytes?: number,
  ) {
    // Handlers may send from `opened`: let the constructor return first.
    queueMicrotask(() => this.attach(socket));
  }

  get isOpen(): boolean {
    return this.connection !== null;
  }

  get canReconnect(): boolean {
    return this.redial !== null;
  }

  /** Sends one message on the open connection; dropped if there is none. */
  send(message: ClientMessage): void {
    this.connection?.send(message);
  }

  /** Schedules a reconnection (after a close). */
  reconnect(failed: Error | null = null): void {
    if (this.ended || !this.redial || this.connection || this.timer) return;
    if (this.attempt >= (this.backoff.maxAttempts ?? Infinity)) {
      this.handlers.gaveUp(this.attempt, failed);
      return;
    }
    const delay = backoffDelay(this.attempt++, this.backoff);
    this.handlers.retrying(delay, failed, this.attempt);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.redial!().then(
        (socket) => {
          if (this.ended) socket.destroy();
          else this.attach(socket);
        },
        (err: Error) => this.reconnect(err),
      );
    }, delay);
  }

  /** The session is restored: the next drop starts the backoff from the beginning again. */
  settled(): void {
    this.attempt = 0;
  }

  /** Closes the connection at once and stops reconnecting. */
  end(): void {
    this.ended = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.connection?.destroy();
  }

  private attach(socket: net.Socket): void {
    if (this.ended) {
      socket.destroy();
      return;
    }
    const connection: ServerConnection = new ServerConnection(
      socket,
      {
        line: (event) => {
          if (this.connection === connection) this.handlers.line(event);
        },
        closed: (error) => {
          if (this.connection !== connection) return;
          this.connection = null;
          this.handlers.closed(error);
        },
      },
      this.maxLineBytes,
    );
    this.connection = connection;
    this.handlers.opened(++this.opened);
  }
}

/**
 * Whether `host:port` completes a TLS handshake within `timeoutMs` (the certificate is not
 * checked: only whether the port speaks TLS). Never rejects.
 */
export function speaksTls(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tls.connect({ host, port, rejectUnauthorized: false, servername: net.isIP(host) ? undefined : host });
    const done = (answer: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(answer);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.once('secureConnect', () => done(true));
    socket.once('error', () => done(false));
    socket.once('close', () => done(false));
  });
}
