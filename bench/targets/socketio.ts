import path from 'node:path';
import { launch } from './launch';
import type { Target, TargetOptions } from './target';

const SERVER = path.join(__dirname, '..', 'baseline-socketio', 'server.js');

export function socketIoRole(_pid: number, isRoot: boolean): string {
  return isRoot ? 'primary' : 'worker';
}

/** Starts the Socket.IO baseline (node cluster + cluster adapter) with as many workers. */
export async function startSocketIo(opts: TargetOptions): Promise<Target> {
  // Dedicated placement has no Socket.IO counterpart: the baseline always runs a pool.
  const server = await launch([process.execPath, ...opts.nodeArgs, SERVER, '--host', '127.0.0.1', '--port', '0', '--workers', String(opts.workers)]);
  return {
    kind: 'socketio',
    protocol: opts.sioClient === 'lean' ? 'socketio-lean' : 'socketio',
    host: '127.0.0.1',
    port: server.port,
    rootPid: server.pid,
    roleOf: socketIoRole,
    tail: server.tail,
    exit: server.exit,
    stop: () => server.stop(),
  };
}
