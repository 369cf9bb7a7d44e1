// After a reconnection the terminal client goes back to its room and replays what it missed
// there; a room that turned it away meanwhile (made private, or a ban) is not replayed. The
// server is a scripted peer on 127.0.0.1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import { runConnect } from '../../src/client/terminal';

type Line = Record<string, unknown>;

const WELCOME = [
  { type: 'newidentity', former: '', identity: 'guest1' },
  { type: 'roomchange', identity: 'guest1', former: '', roomid: 'MainHall' },
  { type: 'roomlist', rooms: [{ roomid: 'MainHall', count: 1 }] },
  { type: 'roomcontents', roomid: 'MainHall', identities: ['guest1'], owner: '' },
];

/**
 * A server that welcomes each connection as guest1, answers `list` and `quit` itself and the
 * rest with `reply`; it records what each connection (1, 2, ...) received.
 */
async function scriptedServer(reply: (line: Line, send: (m: object) => void, socket: net.Socket, index: number) => void) {
  const received: Line[][] = [[]];
  const server = net.createServer((socket) => {
    const index = received.push([]) - 1;
    const send = (m: object): void => void socket.write(JSON.stringify(m) + '\n');
    let buffer = '';
    socket.on('data', (chunk) => {
      buffer += chunk.toString();
      let nl;
      while ((nl = buffer.indexOf('\n')) !== -1) {
        const line = JSON.parse(buffer.slice(0, nl)) as Line;
        buffer = buffer.slice(nl + 1);
        // The client's capability declaration, answered as Switchboard does; not recorded.
        if (line.type === 'hello') {
          send({ type: 'hello', capabilities: ['extended'] });
          continue;
        }
        received[index]!.push(line);
        if (line.type === 'quit') {
          send({ type: 'roomchange', identity: 'guest1', former: 'MainHall', roomid: '' });
          socket.end();
        } else if (line.type === 'list') {
          send(WELCOME[2]!);
        } else {
          reply(line, send, socket, index);
        }
      }
    });
    socket.on('error', () => undefined);
    for (const m of WELCOME) send(m);
  });
  await new Promise<void>((resolve) => server.listen({ port: 0, host: '127.0.0.1' }, resolve));
  return {
    target: `127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The client in line mode, its stdin open; its output collected. */
function startClient(target: string) {
  const stdin = new PassThrough();
  const stdout = new PassThrough();
  let out = '';
  stdout.on('data', (d) => (out += d));
  const config = fs.mkdtempSync(path.join(os.tmpdir(), 'sb-rejoin-'));
  const done = runConnect([target, '--config-dir', config], {
    io: { stdin, stdout, stderr: new PassThrough() },
    timings: { reconnectInitial: 20, reconnectMax: 40 },
  }).finally(() => fs.rmSync(config, { recursive: true, force: true }));
  return {
    stdin,
    done,
    lines: () => out.split('\n').filter((l) => l !== ''),
    async waitFor(pattern: RegExp): Promise<void> {
      const deadline = Date.now() + 5000;
      while (!pattern.test(out)) {
        if (Date.now() > deadline) throw new Error(`no ${pattern} in:\n${out}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
  };
}

const said = (seq: number) => ({ type: 'message', identity: 'bob', content: `n${seq}`, roomid: 'Attic', id: `id-${seq}`, seq, ts: 0 });

for (const refusal of ['BANNED', 'INVITE_ONLY']) {
  test(`a rejoin refused with ${refusal} after a reconnection: no replay of the room, the session goes on`, async () => {
    const server = await scriptedServer((line, send, socket, index) => {
      if (line.type !== 'join') return;
      if (index === 1) {
        send({ type: 'roomchange', identity: 'guest1', former: 'MainHall', roomid: 'Attic' });
        send(said(1));
        setTimeout(() => socket.destroy(), 20); // as if the server process died
      } else {
        send({ type: 'roomchange', identity: 'guest1', former: 'MainHall', roomid: 'MainHall' });
        send({ type: 'error', code: refusal, message: 'not for you' });
      }
    });
    const client = startClient(server.target);
    try {
      client.stdin.write('/join Attic\n');
      await client.waitFor(new RegExp(`\\(${refusal}\\)\\n`));
      client.stdin.end('/list\n');
      assert.equal(await client.done, 0);
      assert.deepEqual(server.received[2]!.map((m) => m.type), ['join', 'session', 'list', 'quit'], 'no resume; a resume token asked for again');
      const lines = client.lines();
      assert.deepEqual(lines.slice(lines.indexOf('bob: n1')), [
        'bob: n1',
        'Connection lost; reconnecting in 0.0s\u2026 (attempt 1 of 20)',
        `Reconnected to ${server.target} as guest1`,
        'guest1 moves to MainHall',
        'Rooms: MainHall 1',
        'MainHall contains guest1',
        // One sentence, not the seed refusal and then the error.
        refusal === 'BANNED'
          ? 'You cannot join Attic, you are banned from it: not for you (BANNED)'
          : 'You cannot join Attic: it is private and you are not invited. (INVITE_ONLY)',
        'Rooms: MainHall 1',
        'guest1 leaves MainHall',
        'Disconnected (end of input)',
      ]);
    } finally {
      client.stdin.end();
      await server.close();
    }
  });
}

test('the resume token of the dropped connection is reclaimed first; each connection asks for its own', async () => {
  const server = await scriptedServer((line, send, socket, index) => {
    if (line.type === 'session') send({ type: 'session', token: `token-${index}`, graceMs: 60000 });
    if (line.type === 'identitychange') {
      send({ type: 'newidentity', former: 'guest1', identity: line.identity as string });
      setTimeout(() => socket.destroy(), 20); // as if the worker process died
    }
    if (line.type === 'reclaim') {
      send({ type: 'newidentity', former: 'guest1', identity: 'kept' });
      send({ type: 'reclaimed', identity: 'kept', roomid: 'MainHall' });
    }
  });
  const client = startClient(server.target);
  try {
    client.stdin.write('#identitychange kept\n');
    await client.waitFor(/guest1 is now kept\n[^]*guest1 is now kept\n/);
    client.stdin.end();
    assert.equal(await client.done, 0);
    assert.deepEqual(server.received[1]!.map((m) => m.type), ['session', 'identitychange']);
    assert.deepEqual(server.received[2]!.slice(0, 2), [{ type: 'reclaim', token: 'token-1' }, { type: 'session' }]);
  } finally {
    client.stdin.end();
    await server.close();
  }
});

// --- several servers (the nodes of a cluster): failover ---------------------------------

/** A loopback port nothing listens on (it was free a moment ago). */
async function deadTarget(): Promise<string> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen({ port: 0, host: '127.0.0.1' }, resolve));
  const { port } = probe.address() as net.AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return `127.0.0.1:${port}`;
}

const inEpoch = (seq: number) => ({ ...said(seq), epoch: 'e1' });

test('several servers: a dropped connection comes back on the next one, which the room is resumed on with its seq and epoch', async () => {
  let a: Awaited<ReturnType<typeof scriptedServer>> | null = null;
  a = await scriptedServer((line, send, socket) => {
    if (line.type !== 'join') return;
    send({ type: 'roomchange', identity: 'guest1', former: 'MainHall', roomid: 'Attic' });
    send(inEpoch(1));
    send(inEpoch(2));
    // The node dies: its socket goes, and it no longer accepts connections.
    setTimeout(() => {
      socket.destroy();
      void a!.close();
    }, 20);
  });
  const b = await scriptedServer((line, send) => {
    if (line.type === 'join') send({ type: 'roomchange', identity: 'guest1', former: 'MainHall', roomid: 'Attic' });
    if (line.type === 'resume') {
      // The other node has what was missed, same seq and epoch; and a repeat of a seen one.
      send(inEpoch(2));
      send(inEpoch(3));
      send({ type: 'resumed', roomid: 'Attic', seq: 3, epoch: 'e1', more: false });
    }
    if (line.type === 'session') send({ type: 'error', code: 'CLUSTER_UNSUPPORTED', message: 'not here' });
  });
  const client = startClient(`${a.target},${b.target}`);
  try {
    client.stdin.write('/join Attic\n');
    await client.waitFor(/bob: n3\n/);
    client.stdin.end();
    assert.equal(await client.done, 0);
    assert.deepEqual(b.received[1]!.slice(0, 2), [
      { type: 'join', roomid: 'Attic' },
      { type: 'resume', roomid: 'Attic', since: 2, epoch: 'e1' },
    ]);
    const lines = client.lines();
    assert.ok(lines.includes(`Reconnected to ${b.target} as guest1`), lines.join('\n'));
    assert.ok(lines[0]!.startsWith(`Connected to ${a.target} as guest1`), lines[0]);
    assert.deepEqual(lines.filter((l) => l.startsWith('bob: ')), ['bob: n1', 'bob: n2', 'bob: n3'], 'each message once, in order');
  } finally {
    client.stdin.end();
    await b.close();
  }
});

test('several servers: the first that answers is used; reconnection goes round them in turn, a dead one costs an attempt', async () => {
  const dead = await deadTarget();
  let drops = 0;
  const a = await scriptedServer((line, _send, socket) => {
    if (line.type === 'identitychange' && drops++ === 0) setTimeout(() => socket.destroy(), 20);
  });
  const c = await scriptedServer((line, send) => {
    if (line.type === 'identitychange') send({ type: 'newidentity', former: 'guest1', identity: line.identity as string });
  });
  // Dead first: the start goes on to the next. Then A drops: the next is dead again (one
  // failed attempt), then C.
  const client = startClient(`${dead},${a.target},${dead},${c.target}`);
  try {
    client.stdin.write('#identitychange zed\n');
    await client.waitFor(/Reconnected to [^\n]* as guest1\n/);
    client.stdin.write('#identitychange zed\n');
    await client.waitFor(/guest1 is now zed\n/);
    client.stdin.end();
    assert.equal(await client.done, 0);
    const lines = client.lines();
    assert.ok(lines[0]!.startsWith(`Connected to ${a.target} as guest1`), lines[0]);
    const after = lines.slice(lines.findIndex((l) => l.startsWith('Connection lost')));
    assert.match(after[1]!, /^Reconnect failed \(ECONNREFUSED\); retrying in /);
    assert.equal(after[2], `Reconnected to ${c.target} as guest1`);
    assert.equal(a.received.length, 2, 'A was dialled once');
  } finally {
    client.stdin.end();
    await a.close();
    await c.close();
  }
});

test('several servers, none answering: one line per server on stderr, exit code 1', async () => {
  const [d1, d2] = [await deadTarget(), await deadTarget()];
  const stderr = new PassThrough();
  let err = '';
  stderr.on('data', (d) => (err += d));
  const config = fs.mkdtempSync(path.join(os.tmpdir(), 'sb-rejoin-'));
  try {
    const code = await runConnect([`${d1},${d2}`, '--config-dir', config], { io: { stdin: new PassThrough(), stdout: new PassThrough(), stderr } });
    assert.equal(code, 1);
    assert.deepEqual(err.split('\n').filter(Boolean).map((l) => l.replace(/ \(.*$/, '')), [`cannot connect to ${d1}: ECONNREFUSED`, `cannot connect to ${d2}: ECONNREFUSED`]);
  } finally {
    fs.rmSync(config, { recursive: true, force: true });
  }
});
