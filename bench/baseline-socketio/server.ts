/**
 * The Socket.IO baseline: the same room chat as Switchboard on Socket.IO 4, scaled the way
 * Socket.IO documents it for one machine: the node cluster module (the primary accepts and
 * hands connections to the workers round-robin) and @socket.io/cluster-adapter (room
 * broadcasts cross workers through the primary). Websocket transport only, no compression,
 * no per-message work beyond the chat itself.
 *
 *   node dist/bench/baseline-socketio/server.js [--host H] [--port P] [--workers N]
 *
 * Prints one JSON line `{"msg":"listening","port":P}` once every worker listens.
 *
 * Events (client -> server): `join` (room id), `message` (content string).
 * Events (server -> client): `newidentity` {former, identity} on connect; `roomchange`
 * {identity, former, roomid} to both rooms on connect (MainHall), join and disconnect;
 * `message` {identity, content} to every member of the sender's room, sender included.
 * Unlike Switchboard it sends no roomlist/roomcontents on connect (they need cluster-wide
 * state): the baseline does less work per connect, never more.
 */
import cluster from 'node:cluster';
import http from 'node:http';
import os from 'node:os';
import { createAdapter, setupPrimary } from '@socket.io/cluster-adapter';
import { Server } from 'socket.io';

const MAIN_HALL = 'MainHall';

function option(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at !== -1 && process.argv[at + 1] !== undefined ? process.argv[at + 1]! : fallback;
}

const host = option('host', '127.0.0.1');
const port = Number(option('port', '0'));
const workers = Number(option('workers', String(os.availableParallelism())));

function log(msg: string, extra: Record<string, unknown> = {}): void {
  process.stdout.write(JSON.stringify({ role: cluster.isPrimary ? 'primary' : 'worker', pid: process.pid, ...extra, msg }) + '\n');
}

if (cluster.isPrimary) {
  setupPrimary();
  cluster.setupPrimary({ serialization: 'advanced' });
  let listening = 0;
  let stopping = false;
  cluster.on('listening', (_worker, address) => {
    if (++listening === workers) log('listening', { port: address.port, workers });
  });
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
      return;
    }
    log('worker died', { workerPid: worker.process.pid, code, signal });
    process.exit(1);
  });
  const stop = (): void => {
    stopping = true;
    for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGTERM');
    setTimeout(() => process.exit(0), 5000).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  for (let i = 0; i < workers; i++) cluster.fork({ BASELINE_WORKER_INDEX: String(i) });
} else {
  const index = Number(process.env.BASELINE_WORKER_INDEX ?? 0);
  const httpServer = http.createServer();
  const io = new Server(httpServer, { transports: ['websocket'], serveClient: false, perMessageDeflate: false, adapter: createAdapter() });
  // Identities unique across the cluster without coordination: guest<n * workers + index + 1>.
  let next = 0;
  io.on('connection', (socket) => {
    const identity = `guest${next++ * workers + index + 1}`;
    let room = MAIN_HALL;
    socket.join(MAIN_HALL);
    socket.emit('newidentity', { former: '', identity });
    io.to(MAIN_HALL).emit('roomchange', { identity, former: '', roomid: MAIN_HALL });
    socket.on('join', (roomid: unknown) => {
      if (typeof roomid !== 'string' || roomid === room) return void socket.emit('roomchange', { identity, former: room, roomid: room });
      const former = room;
      socket.leave(former);
      socket.join(roomid);
      room = roomid;
      io.to([former, roomid]).emit('roomchange', { identity, former, roomid });
    });
    socket.on('message', (content: unknown) => {
      if (typeof content === 'string') io.to(room).emit('message', { identity, content });
    });
    socket.on('disconnect', () => {
      io.to(room).emit('roomchange', { identity, former: room, roomid: '' });
    });
  });
  httpServer.listen(port, host);
  process.on('SIGTERM', () => {
    io.close();
    process.exit(0);
  });
}
