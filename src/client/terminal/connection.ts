/**
 * The client's socket: connecting over TCP or a Unix socket, reading newline-delimited lines
 * (bounded), writing client messages.
 */
import * as net from 'node:net';
import type { Target } from './args';
import { LineSplitter, type SplitEvent } from './line-splitter';
import { encodeClientMessage, type ClientMessage } from './wire';

/** Opens a connection to `target`; rejects with the socket error (with its `code`) on failure. */
export function connectSocket(target: Target, timeoutMs: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket =
      target.kind === 'unix'
        ? net.createConnection({ path: target.path })
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
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeListener('error', fail);
      if (target.kind === 'tcp') socket.setNoDelay(true);
      resolve(socket);
    });
  });
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
