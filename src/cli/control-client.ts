import net from 'node:net';
import path from 'node:path';
import type { ControlReply, ControlRequest } from '../ipc/control-protocol';
import { controlSocketPath } from '../ipc/paths';

/** A refusal by the server (`{"ok":false}`): its code and message, as the CLI prints them. */
export class ControlRefused extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Largest reply read: a status of a server with 256 workers is far below. */
const MAX_REPLY_BYTES = 16 * 1024 * 1024;

/**
 * Sends one request to the running server of `dataDir` through its control socket and
 * resolves with the reply's `result`. Rejects with an Error that says what to do when no
 * server runs there (no socket, or one a dead server left), with ControlRefused when the
 * server refuses, and after `timeoutMs` without a reply.
 */
export function askServer(dataDir: string, request: ControlRequest, timeoutMs = 30_000): Promise<unknown> {
  const dir = path.resolve(dataDir);
  const socketPath = controlSocketPath(dir);
  return new Promise((resolve, reject) => {
    const socket = net.createConnection(socketPath);
    let text = '';
    const timer = setTimeout(() => fail(new Error(`the server at ${dir} did not answer within ${timeoutMs} ms`)), timeoutMs);
    function fail(err: Error): void {
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    }
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(JSON.stringify(request) + '\n'));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED') fail(new Error(`no server is running at data dir ${dir} (${err.code === 'ENOENT' ? 'no control socket' : 'nothing answers on the control socket'} ${socketPath}); start one with: switchboard serve --data-dir ${dataDir}`));
      else if (err.code === 'EACCES') fail(new Error(`permission denied on ${socketPath}: run this as the user the server runs as`));
      else fail(new Error(`cannot reach the server at ${socketPath}: ${err.message}`));
    });
    socket.on('close', () => fail(new Error(`the server at ${dir} closed the control connection without a reply`)));
    socket.on('data', (chunk: string) => {
      text += chunk;
      if (text.length > MAX_REPLY_BYTES) return fail(new Error('the server\'s reply is too large'));
      const nl = text.indexOf('\n');
      if (nl === -1) return;
      clearTimeout(timer);
      socket.removeAllListeners('close');
      socket.destroy();
      let reply: ControlReply;
      try {
        reply = JSON.parse(text.slice(0, nl)) as ControlReply;
      } catch {
        return reject(new Error('the server\'s reply is not JSON'));
      }
      if (reply.ok) resolve(reply.result);
      else reject(new ControlRefused(reply.error.code, reply.error.message));
    });
  });
}
