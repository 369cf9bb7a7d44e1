import fs from 'node:fs';
import net from 'node:net';
import type { Logger } from 'pino';
import { CONTROL_IDLE_TIMEOUT_MS, ControlCode, ControlError, MAX_CONTROL_CONNECTIONS, MAX_CONTROL_REQUEST_BYTES, type ControlReply } from '../ipc/control-protocol';
import { LineSplitter } from '../protocol/line-splitter';
import { CONTROL_OPS, type ControlHost } from './control-ops';
import { answers } from './data-dir';

/**
 * Request lines read ahead of the one being handled: beyond, the connection is paused (what
 * one chunk already held is kept, so a connection holds at most a chunk's worth more).
 */
const MAX_QUEUED_LINES = 8;

/**
 * The supervisor's control socket, `<data-dir>/run/control.sock` (0600 in a 0700 directory:
 * the server's owner only). Speaks src/ipc/control-protocol.ts: each request line is answered
 * by one reply line, in order. Every request is bounded (size, lines queued, connections, idle
 * time) and a bad one gets an error reply; nothing a client sends can take the server down.
 */
export class ControlServer {
  private server: net.Server | null = null;
  private readonly sockets = new Set<net.Socket>();

  constructor(
    readonly socketPath: string,
    private readonly host: ControlHost,
    private readonly log: Logger,
  ) {}

  /** Listens; a socket file left by a killed server is replaced, one a live server answers on is an error. */
  async start(): Promise<void> {
    if (await answers(this.socketPath)) throw new Error(`control socket ${this.socketPath} is in use by another server`);
    fs.rmSync(this.socketPath, { force: true });
    const server = net.createServer((socket) => this.accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.socketPath, () => {
        server.off('error', reject);
        resolve();
      });
    });
    fs.chmodSync(this.socketPath, 0o600);
    server.on('error', (err) => this.log.error({ err }, 'control socket error'));
    this.server = server;
  }

  /** Stops listening, closes the open connections and removes the socket file. */
  close(): void {
    if (!this.server) return;
    this.server.close();
    this.server = null;
    for (const s of this.sockets) s.destroy();
    fs.rmSync(this.socketPath, { force: true });
  }

  private accept(socket: net.Socket): void {
    socket.on('error', () => {});
    if (this.sockets.size >= MAX_CONTROL_CONNECTIONS) {
      socket.end(reply({ ok: false, error: { code: ControlCode.UNAVAILABLE, message: `more than ${MAX_CONTROL_CONNECTIONS} control connections at once` } }));
      return;
    }
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.setTimeout(CONTROL_IDLE_TIMEOUT_MS, () => socket.destroy());
    const splitter = new LineSplitter(MAX_CONTROL_REQUEST_BYTES);
    const queue: string[] = [];
    let running = false;
    const drain = async (): Promise<void> => {
      running = true;
      while (queue.length > 0 && !socket.destroyed) {
        const answer = await this.answer(queue.shift()!);
        if (!socket.destroyed) socket.write(reply(answer));
      }
      running = false;
      if (!socket.destroyed) socket.resume();
    };
    socket.on('data', (chunk: Buffer) => {
      const ok = splitter.push(chunk, (line) => {
        if (line.trim().length > 0) queue.push(line);
      });
      if (!ok) {
        // Answered after the requests before it; then the connection ends.
        queue.length = 0;
        socket.end(reply({ ok: false, error: { code: ControlCode.REQUEST_TOO_LARGE, message: `request longer than ${MAX_CONTROL_REQUEST_BYTES} bytes` } }));
        return;
      }
      if (queue.length > MAX_QUEUED_LINES) socket.pause();
      if (!running) void drain();
    });
  }

  /** One request line's reply; never throws. */
  private async answer(line: string): Promise<ControlReply> {
    let request: unknown;
    try {
      request = JSON.parse(line);
    } catch {
      return failure(ControlCode.BAD_REQUEST, 'request is not valid JSON');
    }
    if (typeof request !== 'object' || request === null || Array.isArray(request) || typeof (request as { op?: unknown }).op !== 'string') {
      return failure(ControlCode.BAD_REQUEST, 'request must be a JSON object with a string "op"');
    }
    const args = request as { op: string; [arg: string]: unknown };
    const handler = CONTROL_OPS.get(args.op);
    if (!handler) return failure(ControlCode.UNKNOWN_OP, `unknown op ${JSON.stringify(args.op.slice(0, 40))} (known: ${[...CONTROL_OPS.keys()].join(', ')})`);
    try {
      return { ok: true, result: await handler(args, this.host) };
    } catch (err) {
      if (err instanceof ControlError) return failure(err.code, err.message);
      this.log.error({ err, op: args.op }, 'control request failed');
      return failure(ControlCode.INTERNAL_ERROR, `the server could not handle "${args.op}" (see its log)`);
    }
  }
}

function failure(code: string, message: string): ControlReply {
  return { ok: false, error: { code, message } };
}

function reply(r: ControlReply): string {
  return JSON.stringify(r) + '\n';
}
