import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { metricsPort } from '../helpers/metrics';
import { isAlive } from '../helpers/procfs';
import { expectFields, ok, runCli, say, welcomed, type Conn } from '../helpers/requests';
import { startServer, type RunningServer } from '../helpers/server';
import { within } from '../helpers/wait';

/**
 * The control socket against the real server (two workers): `switchboard status` in text and
 * JSON matches the processes and clients that exist, `switchboard admin notice|disconnect|
 * close-room` act as an administrator's requests, and the socket itself is private, bounded
 * and survives bad requests.
 */

interface Status {
  pid: number;
  processes: Array<{ role: string; id: number | null; pid: number; clients: number; rssBytes: number; cpuPercent: number; uptimeMs: number }>;
  listeners: Array<{ kind: string; address: string }>;
  clients: number;
  rooms: number;
  sessions: number;
  rates: { messagesInPerSecond: number; messagesOutPerSecond: number; windowMs: number };
}

async function status(server: RunningServer): Promise<Status> {
  const r = await runCli(['status', '--data-dir', server.dataDir, '--json']);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as Status;
}

/** Sends raw lines on the control socket; resolves with the reply lines once `count` arrived or it closed. */
function rawControl(server: RunningServer, text: string, count: number): Promise<{ replies: Array<{ ok: boolean; error?: { code: string } }>; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = net.createConnection(path.join(server.dataDir, 'run', 'control.sock'));
    let buf = '';
    const replies: Array<{ ok: boolean; error?: { code: string } }> = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`control socket: ${replies.length} of ${count} replies: ${buf}`));
    }, 5000);
    socket.setEncoding('utf8');
    socket.on('error', () => {});
    socket.on('connect', () => socket.write(text));
    socket.on('data', (chunk: string) => {
      buf += chunk;
      let nl;
      while ((nl = buf.indexOf('\n')) !== -1) {
        replies.push(JSON.parse(buf.slice(0, nl)) as { ok: boolean });
        buf = buf.slice(nl + 1);
      }
      if (replies.length >= count) {
        clearTimeout(timer);
        socket.destroy();
        resolve({ replies, closed: false });
      }
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ replies, closed: true });
    });
  });
}

describe('control socket', () => {
  let server: RunningServer;
  const conns: Conn[] = [];

  before(async () => {
    server = await startServer({ args: ['--host', '127.0.0.1', '--workers', '2', '--admins', 'root', '--metrics-port', '0'] });
    for (let i = 0; i < 3; i++) conns.push(await welcomed(server.port));
  });

  after(async () => {
    await Promise.all(conns.map((c) => within(c.c.close(), 2000)));
    await server?.stop();
  });

  test('the socket is 0600 in a 0700 directory', () => {
    const run = path.join(server.dataDir, 'run');
    assert.equal(fs.statSync(run).mode & 0o777, 0o700);
    const sock = fs.statSync(path.join(run, 'control.sock'));
    assert.ok(sock.isSocket());
    assert.equal(sock.mode & 0o777, 0o600);
  });

  test('status --json: supervisor, hub and workers with live pids; clients, rooms and rates', async () => {
    const [a] = conns;
    await ok(a!.c, { type: 'createroom', roomid: 'Attic' }, 'roomlist');
    for (let i = 0; i < 10; i++) await say(a!, `m${i}`);
    const s = await status(server);
    const port = await metricsPort(server);
    assert.equal(s.pid, server.pid);
    const roles = s.processes.map((p) => (p.id === null ? p.role : `${p.role} ${p.id}`));
    assert.deepEqual(roles, ['supervisor', 'hub', 'worker 1', 'worker 2']);
    assert.equal(s.processes[0]!.pid, server.pid);
    for (const p of s.processes) {
      assert.ok(isAlive(p.pid), `${p.role} pid ${p.pid} exists`);
      assert.ok(p.rssBytes > 1024 * 1024, `${p.role} RSS ${p.rssBytes}`);
      assert.ok(p.cpuPercent >= 0 && p.uptimeMs > 0);
    }
    assert.equal(s.clients, 3);
    assert.equal(s.sessions, 3);
    assert.equal(s.processes[0]!.clients, 3);
    assert.equal(s.processes.filter((p) => p.role === 'worker').reduce((n, p) => n + p.clients, 0), 3);
    assert.equal(s.rooms, 2, 'MainHall and Attic');
    assert.ok(s.rates.messagesInPerSecond > 0 && s.rates.messagesOutPerSecond > 0, `rates after 10 messages: ${JSON.stringify(s.rates)}`);
    assert.ok(s.listeners.some((l) => l.kind === 'tcp' && l.address === `127.0.0.1:${server.port}`), JSON.stringify(s.listeners));
    assert.ok(s.listeners.some((l) => l.kind === 'control' && l.address === path.join(server.dataDir, 'run', 'control.sock')));
    // The port the metrics server took (--metrics-port 0), not the setting's 0.
    assert.ok(s.listeners.some((l) => l.kind === 'metrics' && l.address === `127.0.0.1:${port}`), JSON.stringify(s.listeners));
  });

  test('status as text: a row per process with its pid, the listeners and the counts', async () => {
    const r = await runCli(['status', '--data-dir', server.dataDir]);
    assert.equal(r.code, 0, r.stderr);
    const s = await status(server);
    for (const p of s.processes) {
      const label = p.id === null ? p.role : `${p.role} ${p.id}`;
      assert.match(r.stdout, new RegExp(`^${label}\\s+${p.pid}\\s`, 'm'), `row for ${label}:\n${r.stdout}`);
    }
    assert.match(r.stdout, /Clients: 3 {3}Rooms: 2/);
    assert.match(r.stdout, new RegExp(`tcp\\s+127\\.0\\.0\\.1:${server.port}`));
    assert.match(r.stdout, new RegExp(`^  metrics\\s+127\\.0\\.0\\.1:${await metricsPort(server)}$`, 'm'));
    assert.match(r.stdout, /Messages: [\d.]+\/s in, [\d.]+\/s out/);
  });

  test('admin notice reaches every connected client', async () => {
    const r = await runCli(['admin', 'notice', 'maintenance', 'at', 'noon', '--data-dir', server.dataDir]);
    assert.equal(r.code, 0, r.stderr);
    for (const conn of conns) {
      const n = await conn.c.waitFor((m) => m.type === 'notice');
      expectFields(n, { from: '(server)', content: 'maintenance at noon' });
    }
  });

  test('admin disconnect closes the named client with the reason; an unknown name is refused', async () => {
    const victim = await welcomed(server.port);
    await ok(victim.c, { type: 'identitychange', identity: 'spammer' }, 'newidentity');
    const r = await runCli(['admin', 'disconnect', 'spammer', 'too', 'many', 'links', '--data-dir', server.dataDir]);
    assert.equal(r.code, 0, r.stderr);
    const why = await victim.c.waitFor((m) => m.type === 'error');
    expectFields(why, { code: 'DISCONNECTED', message: 'disconnected by an administrator: too many links' });
    assert.ok(await within(victim.c.closed, 3000), 'its connection is closed');
    const unknown = await runCli(['admin', 'disconnect', 'nobodyhere', '--data-dir', server.dataDir]);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /NO_SUCH_USER/);
    // The supervisor counts it gone once its worker says so.
    let clients = -1;
    for (let i = 0; i < 20 && clients !== 3; i++) clients = (await status(server)).clients;
    assert.equal(clients, 3);
  });

  test('admin close-room moves the members to MainHall; MainHall and unknown rooms are refused', async () => {
    const [a, b] = conns;
    await ok(a!.c, { type: 'createroom', roomid: 'Cellar' }, 'roomlist');
    await ok(a!.c, { type: 'join', roomid: 'Cellar' }, 'roomchange', (m) => m.identity === a!.id);
    await ok(b!.c, { type: 'join', roomid: 'Cellar' }, 'roomchange', (m) => m.identity === b!.id);
    const r = await runCli(['admin', 'close-room', 'Cellar', '--data-dir', server.dataDir, '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { closed: 'Cellar', moved: 2 });
    for (const conn of [a!, b!]) {
      const moved = await conn.c.waitFor((m) => m.type === 'roomchange' && m.identity === conn.id && m.roomid === 'MainHall');
      expectFields(moved, { former: 'Cellar' });
    }
    const list = await ok(a!.c, { type: 'list' }, 'roomlist');
    assert.ok(!(list.rooms as Array<{ roomid: string }>).some((x) => x.roomid === 'Cellar'));
    const main = await runCli(['admin', 'close-room', 'MainHall', '--data-dir', server.dataDir]);
    assert.equal(main.code, 1);
    assert.match(main.stderr, /NOT_ALLOWED/);
    const none = await runCli(['admin', 'close-room', 'Nowhere', '--data-dir', server.dataDir]);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /NO_SUCH_ROOM/);
  });

  test('bad requests get error replies, in order, and the server goes on', async () => {
    const { replies } = await rawControl(server, 'not json\n[1]\n{"op":"constructor"}\n{"op":"notice"}\n{"op":"status"}\n', 5);
    assert.deepEqual(
      replies.map((r) => (r.ok ? 'ok' : r.error!.code)),
      ['BAD_REQUEST', 'BAD_REQUEST', 'UNKNOWN_OP', 'BAD_REQUEST', 'ok'],
    );
    const big = await rawControl(server, `{"op":"status","pad":"${'x'.repeat(70 * 1024)}"}\n`, 1);
    assert.equal(big.replies[0]?.error?.code, 'REQUEST_TOO_LARGE');
    assert.equal((await status(server)).clients >= 3, true);
    // A client of the chat noticed nothing.
    await say(conns[0]!, 'still here');
  });

  test('a data dir with no server: a clear error, exit 1', async () => {
    const empty = fs.mkdtempSync(path.join(server.dataDir, 'none-'));
    const r = await runCli(['status', '--data-dir', empty]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /no server is running at data dir/);
    const admin = await runCli(['admin', 'notice', 'hi', '--data-dir', empty]);
    assert.equal(admin.code, 1);
    assert.match(admin.stderr, /no server is running at data dir/);
  });
});

test('a control socket left by a killed server is replaced at the next start', async () => {
  const first = await startServer({ args: ['--host', '127.0.0.1', '--workers', '1'], detached: true });
  const dataDir = first.dataDir;
  const socketPath = path.join(dataDir, 'run', 'control.sock');
  // The whole group at once, as a dead machine: nothing removes the socket file.
  process.kill(-first.pid, 'SIGKILL');
  await first.exited;
  assert.ok(fs.existsSync(socketPath), 'the killed server left its socket file');
  const dead = await runCli(['status', '--data-dir', dataDir]);
  assert.equal(dead.code, 1);
  assert.match(dead.stderr, /no server is running at data dir .*nothing answers on the control socket/);
  const second = await startServer({ args: ['--host', '127.0.0.1', '--workers', '1'], dataDir });
  try {
    const s = JSON.parse((await runCli(['status', '--data-dir', dataDir, '--json'])).stdout) as Status;
    assert.equal(s.pid, second.pid);
    await second.stop();
    assert.ok(fs.existsSync(path.join(dataDir, 'run')) && !fs.existsSync(socketPath), 'removed at the stop');
  } finally {
    if (second.process.exitCode === null) await second.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});
