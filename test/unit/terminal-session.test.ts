// The client's session logic against a scripted peer on a real socket (127.0.0.1 or a Unix
// socket): framing oddities, ordering, exit codes and the transcript. The client against the
// real server is covered by test/integration/terminal-client.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import { runConnect, type RunConnectOptions } from '../../src/client/terminal';

type Reply = (line: Record<string, unknown>, peer: Peer) => void;

interface Peer {
  socket: net.Socket;
  send(message: object | string): void;
}

const WELCOME = [
  { type: 'newidentity', former: '', identity: 'guest1' },
  { type: 'roomchange', identity: 'guest1', former: '', roomid: 'MainHall' },
  { type: 'roomlist', rooms: [{ roomid: 'MainHall', count: 1 }] },
  { type: 'roomcontents', roomid: 'MainHall', identities: ['guest1'], owner: '' },
];

/** A one-connection scripted server; records what the client sent. */
async function scriptedPeer(listen: { port: 0; host: '127.0.0.1' } | { path: string }, onLine: Reply, welcomeDelayMs = 0) {
  const received: string[] = [];
  const events: string[] = [];
  const server = net.createServer((socket) => {
    const peer: Peer = {
      socket,
      send: (m) => socket.write((typeof m === 'string' ? m : JSON.stringify(m)) + '\n'),
    };
    let buffer = '';
    socket.on('data', (d) => {
      buffer += d.toString();
      let nl;
      while ((nl = buffer.indexOf('\n')) !== -1) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        received.push(line);
        events.push('recv ' + line);
        onLine(JSON.parse(line), peer);
      }
    });
    socket.on('error', () => undefined);
    setTimeout(() => {
      events.push('welcome');
      for (const m of WELCOME) peer.send(m);
    }, welcomeDelayMs);
  });
  await new Promise<void>((resolve) => server.listen(listen, resolve));
  const address = server.address() as net.AddressInfo | string;
  return {
    target: typeof address === 'string' ? ['--unix', address] : [`127.0.0.1:${address.port}`],
    received,
    events,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Runs the client in line mode with `input` as its stdin (left open if `keepOpen`). */
async function client(args: string[], input: string, options: RunConnectOptions & { keepOpen?: boolean } = {}) {
  const stdin = new PassThrough();
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d) => (out += d));
  stderr.on('data', (d) => (err += d));
  if (options.keepOpen) stdin.write(input);
  else stdin.end(input);
  const code = await runConnect(args, { ...options, io: { stdin, stdout, stderr } });
  stdin.end();
  return { code, out, err, lines: out.split('\n').filter((l) => l !== '') };
}

/** Echoes messages and answers quit by closing, like a server would. */
const polite: Reply = (m, peer) => {
  if (m.type === 'message') peer.send({ type: 'message', identity: 'guest1', content: m.content });
  if (m.type === 'quit') {
    peer.send({ type: 'roomchange', identity: 'guest1', former: 'MainHall', roomid: '' });
    peer.socket.end();
  }
};

test('over a Unix socket: waits for the welcome, sends in order, quits at end of input', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sb-term-'));
  const peer = await scriptedPeer({ path: path.join(dir, 's.sock') }, polite, 150);
  try {
    const r = await client(peer.target, 'one\n\ntwo\n');
    assert.equal(r.code, 0);
    assert.deepEqual(r.lines, [
      `Connected to ${path.join(dir, 's.sock')} as guest1`,
      'guest1 moves to MainHall',
      'Rooms: MainHall 1',
      'MainHall contains guest1',
      'guest1: one',
      'guest1: two',
      'guest1 leaves MainHall',
      'Disconnected by server',
    ]);
    assert.deepEqual(peer.events, [
      'welcome',
      'recv {"type":"message","content":"one"}',
      'recv {"type":"message","content":"two"}',
      'recv {"type":"quit"}',
    ]);
  } finally {
    await peer.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('line mode waits for each answer before sending the next line', async () => {
  const replies: string[] = [];
  const peer = await scriptedPeer({ port: 0, host: '127.0.0.1' }, (m, p) => {
    if (m.type === 'join') {
      setTimeout(() => {
        replies.push('join answered');
        p.send({ type: 'roomchange', identity: 'guest1', former: 'MainHall', roomid: 'MainHall' });
      }, 150);
    } else {
      replies.push(`got ${m.type} after: ${replies.join(',')}`);
      polite(m, p);
    }
  });
  try {
    const r = await client(peer.target, '#join nowhere\n#join\nafter\n');
    assert.equal(r.code, 0);
    assert.deepEqual(r.lines.slice(4), [
      'The requested room is invalid or non existent',
      'usage: #join ROOM',
      'guest1: after',
      'guest1 leaves MainHall',
      'Disconnected by server',
    ]);
    assert.equal(replies[1], 'got message after: join answered');
  } finally {
    await peer.close();
  }
});

test('odd server lines are shown, never fatal; an error before close is the reason', async () => {
  const peer = await scriptedPeer({ port: 0, host: '127.0.0.1' }, (m, p) => {
    if (m.type !== 'message') return;
    p.send('this is not json');
    p.send({ type: 'ping', id: 1 });
    p.send('{"type":"message","identity":"x","content":"' + 'y'.repeat(5000) + '"}');
    p.send({ type: 'message', identity: 'eve', content: '\u001b[2Jboo' });
    p.send({ type: 'error', code: 'E_KICKED', message: 'bye now' });
    p.socket.end();
  });
  try {
    const r = await client(peer.target, 'hi\n', { maxLineBytes: 1000, keepOpen: true });
    assert.equal(r.code, 2);
    assert.deepEqual(r.lines.slice(4), [
      'this is not json',
      '{"type":"ping","id":1}',
      '(dropped a server line of 5046 bytes: too long)',
      'eve: \\x1b[2Jboo',
      'error E_KICKED: bye now',
      'Disconnected by server: bye now (E_KICKED)',
    ]);
    assert.equal(peer.received[0], '{"type":"message","content":"hi"}');
  } finally {
    await peer.close();
  }
});

test('a server that ignores quit is left after the quit timeout, exit 0', async () => {
  const peer = await scriptedPeer({ port: 0, host: '127.0.0.1' }, () => undefined);
  try {
    const started = Date.now();
    const r = await client(peer.target, '#quit\n', { timings: { quitTimeout: 200 } });
    assert.equal(r.code, 0);
    assert.equal(r.lines.at(-1), 'Disconnected (the server did not close the connection)');
    assert.ok(Date.now() - started < 2000);
    assert.deepEqual(peer.received, ['{"type":"quit"}']);
  } finally {
    await peer.close();
  }
});

test('--log appends the session with timestamps', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sb-term-'));
  const logFile = path.join(dir, 'session.log');
  fs.writeFileSync(logFile, 'earlier\n');
  const peer = await scriptedPeer({ port: 0, host: '127.0.0.1' }, polite);
  try {
    const r = await client([...peer.target, '--log', logFile], 'hello\n#who\n');
    assert.equal(r.code, 0);
    const log = fs.readFileSync(logFile, 'utf8').split('\n');
    assert.equal(log[0], 'earlier');
    const body = log.slice(1).filter((l) => l !== '').map((l) => {
      assert.match(l, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z /);
      return l.slice(25);
    });
    assert.deepEqual(body, [
      `--- connected to ${peer.target[0]}`,
      `out Connected to ${peer.target[0]} as guest1`,
      'out guest1 moves to MainHall',
      'out Rooms: MainHall 1',
      'out MainHall contains guest1',
      'in hello',
      'out guest1: hello',
      'in #who',
      'out usage: #who ROOM',
      'out guest1 leaves MainHall',
      'out Disconnected by server',
      '--- session ended, exit code 0',
    ]);
  } finally {
    await peer.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('an unreachable server: a clear message and exit code 1', async () => {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  const r = await client([`127.0.0.1:${port}`], 'hello\n');
  assert.equal(r.code, 1);
  assert.equal(r.out, '');
  assert.match(r.err, new RegExp(`^cannot connect to 127\\.0\\.0\\.1:${port}: ECONNREFUSED `));
});

test('bad arguments: usage on stderr, exit code 1', async () => {
  const r = await client(['--nope'], '');
  assert.equal(r.code, 1);
  assert.match(r.err, /unknown option --nope\nusage: switchboard connect/);
});
