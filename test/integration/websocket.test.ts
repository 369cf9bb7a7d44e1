// The WebSocket gateway end to end: `switchboard serve --http-port 0`, browsers' protocol on
// /ws (the `ws` package as the client) beside plain TCP clients in the same rooms, under the
// same limits (frame size, rate, slow consumer), core rules, HTTPS, and the SIGTERM close.
import { after, before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import type net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { TestClient, type Msg } from '../helpers/client';
import { sendPacedByReader } from '../helpers/busy-room';
import { startServer, type RunningServer } from '../helpers/server';
import * as proc from '../helpers/procfs';
import { sleep, until, within } from '../helpers/wait';
import { WsTestClient } from '../helpers/ws-client';

const BIN = path.resolve(__dirname, '..', '..', '..', 'bin', 'switchboard.js');
const T = { timeout: 60_000 };
const CORE_TYPES = new Set(['newidentity', 'roomchange', 'roomlist', 'roomcontents', 'message']);
let n = 0;
const uniq = (p: string): string => `${p}${process.pid}x${n++}`;
const isError = (code: string) => (m: Msg) => m.type === 'error' && m.code === code;

type Peer = { c: TestClient | WsTestClient; id: string };

/** Clients of one test, closed when it ends. */
function clients(t: TestContext, server: () => RunningServer) {
  const open: Array<TestClient | WsTestClient> = [];
  t.after(() => Promise.all(open.map((c) => c.close())));
  return {
    async ws(opts: { core?: boolean } = {}): Promise<{ c: WsTestClient; id: string }> {
      const { client, identity } = await WsTestClient.welcomed(`ws://127.0.0.1:${server().httpPort}/ws`, opts);
      open.push(client);
      return { c: client, id: identity };
    },
    async tcp(): Promise<{ c: TestClient; id: string }> {
      const { client, identity } = await TestClient.welcomed(server().port);
      open.push(client);
      return { c: client, id: identity };
    },
  };
}

/** Puts `users` in a fresh room; each has seen all of them arrive. */
async function sameRoom(users: Peer[]): Promise<string> {
  const room = uniq('Ws');
  users[0]!.c.send({ type: 'createroom', roomid: room });
  await users[0]!.c.waitFor((m) => m.type === 'roomlist');
  for (const u of users) {
    u.c.send({ type: 'join', roomid: room });
    await u.c.waitFor((m) => m.type === 'roomchange' && m.identity === u.id && m.roomid === room);
  }
  for (let i = 0; i < users.length; i++) {
    for (const v of users.slice(i + 1)) await users[i]!.c.waitFor((m) => m.type === 'roomchange' && m.identity === v.id && m.roomid === room);
  }
  return room;
}

/** `from` says `content` in its room; `to` (and `from`) receive it. */
async function chat(from: Peer, to: Peer, content: string): Promise<void> {
  from.c.send({ type: 'message', content });
  const match = (m: Msg): boolean => m.type === 'message' && m.content === content && m.identity === from.id;
  await Promise.all([from.c.waitFor(match), to.c.waitFor(match)]);
}

/** The banner (stderr) may come after the 'listening' log line (stdout) that started the test. */
async function banner(srv: RunningServer): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!srv.stderr().includes('web app:') && Date.now() < deadline) await sleep(20);
}

describe('WebSocket sessions beside TCP', () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer({ args: ['--http-port', '0', '--workers', '2', '--max-line-bytes', '4096'] });
  });
  after(() => server?.stop());

  test('the banner prints the web app URL', async () => {
    await banner(server);
    assert.equal(typeof server.httpPort, 'number');
    assert.match(server.stderr(), new RegExp(`and HTTP 127\\.0\\.0\\.1:${server.httpPort};`));
    assert.match(server.stderr(), new RegExp(`^web app: http://127\\.0\\.0\\.1:${server.httpPort}/$`, 'm'));
  });

  test('a WebSocket client and a TCP client chat in one room, both ways; one JSON object per frame', T, async (t) => {
    const s = clients(t, () => server);
    const web = await s.ws();
    const term = await s.tcp();
    // Answered after the welcome, like any early line.
    assert.deepEqual(await until('the hello reply', () => web.c.helloReply), { type: 'hello', capabilities: ['extended'], limits: { rate: 20, burst: 40, accountRate: 40 }, http: { port: server.httpPort, tls: false } });
    await sameRoom([web, term]);
    await chat(web, term, 'from the browser');
    await chat(term, web, 'from the terminal');
    // A request answered with several lines at once (who) still arrives one object per frame.
    web.c.send({ type: 'who', roomid: 'MainHall' });
    await web.c.waitFor((m) => m.type === 'roomcontents' && m.roomid === 'MainHall');
    assert.deepEqual(web.c.rawFrames, [], 'every frame was exactly one JSON object');
    // One text frame holds one object: pretty-printed JSON is fine, two objects are not.
    web.c.send('{\n  "type": "message",\n  "content": "pretty"\n}');
    await term.c.waitFor((m) => m.type === 'message' && m.content === 'pretty');
    web.c.send('{"type":"ping"}\n{"type":"ping"}');
    await web.c.waitFor(isError('INVALID_JSON'));
    web.c.send({ type: 'ping' });
    await web.c.waitFor((m) => m.type === 'pong');
  });

  test('a core WebSocket client (no hello) sees only core types and gets no error frames', T, async (t) => {
    const s = clients(t, () => server);
    const core = await s.ws({ core: true });
    const term = await s.tcp();
    await sameRoom([core, term]);
    core.c.send('this is not JSON');
    core.c.send({ type: 'message', content: 12 });
    await chat(term, core, 'to a core client');
    await chat(core, term, 'from a core client');
    const types = core.c.received.map((m) => m.type);
    assert.ok(types.every((x) => CORE_TYPES.has(x)), `only core types: ${types.join(',')}`);
    assert.equal(core.c.helloReply, null);
  });

  test('a frame over --max-line-bytes closes that client with 1009; the others keep chatting', T, async (t) => {
    const s = clients(t, () => server);
    const big = await s.ws();
    const web = await s.ws();
    const term = await s.tcp();
    await sameRoom([big, web, term]);
    big.c.send({ type: 'message', content: 'x'.repeat(5000) });
    const { code, reason } = await big.c.closed;
    assert.equal(code, 1009);
    assert.equal(reason, 'LINE_TOO_LONG: message too big: at most 4096 bytes (--max-line-bytes)');
    await web.c.waitFor((m) => m.type === 'roomchange' && m.identity === big.id && m.roomid === '');
    await chat(web, term, 'still here');
    await chat(term, web, 'me too');
    assert.ok(!term.c.received.some((m) => m.type === 'message' && String(m.content).startsWith('xxx')), 'the oversized message went nowhere');
  });

  test('a frame announcing more than ws\'s 1 MiB backstop is refused on its header with 1009 and the reason naming --max-line-bytes, its payload never awaited', T, async (t) => {
    const s = clients(t, () => server);
    const web = await s.ws();
    // A masked text frame announcing 10 MiB (64-bit length), of which only 100 bytes are sent:
    // the close must come from the header alone, the server buffering none of the rest.
    // (One between --max-line-bytes and 1 MiB is refused once whole: see HttpGateway.)
    const raw = (web.c.ws as unknown as { _socket: net.Socket })._socket;
    const header = Buffer.from([0x81, 0x80 | 127, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4]);
    header.writeBigUInt64BE(10n * 1024n * 1024n, 2);
    raw.write(Buffer.concat([header, Buffer.alloc(100, 0x20)]));
    assert.ok(await within(web.c.closed, 10_000), 'closed on the header, not after waiting for the payload');
    const { code, reason } = await web.c.closed;
    assert.equal(code, 1009);
    assert.equal(reason, 'LINE_TOO_LONG: message too big: at most 4096 bytes (--max-line-bytes)');
  });

  test('a binary frame closes the client with 1003 and the reason', T, async (t) => {
    const s = clients(t, () => server);
    const web = await s.ws();
    web.c.ws.send(Buffer.from(JSON.stringify({ type: 'ping' })));
    const { code, reason } = await web.c.closed;
    assert.equal(code, 1003);
    assert.match(reason, /^BINARY_FRAME: /);
  });
});

describe('WebSocket rate limits', () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer({ args: ['--http-port', '0', '--workers', '1', '--rate-limit', '5', '--rate-burst', '5'] });
  });
  after(() => server?.stop());

  test('over the burst RATE_LIMITED; a flood ends with FLOODING and a 1008 close; the room keeps flowing', T, async (t) => {
    const s = clients(t, () => server);
    const flooder = await s.ws();
    const web = await s.ws();
    const term = await s.tcp();
    await sameRoom([flooder, web, term]);
    for (let i = 0; i < 12; i++) flooder.c.send({ type: 'message', content: `m${i}` });
    const replies = await flooder.c.drain(500);
    const limited = replies.filter(isError('RATE_LIMITED')).length;
    assert.ok(limited >= 5, `most of the burst refused: ${JSON.stringify(replies)}`);
    assert.ok(flooder.c.isOpen);
    await sleep(1200);
    for (let i = 0; i < 200; i++) flooder.c.send({ type: 'message', content: 'flood' });
    await flooder.c.waitFor(isError('FLOODING'));
    const { code, reason } = await flooder.c.closed;
    assert.equal(code, 1008);
    assert.match(reason, /^FLOODING: /);
    await chat(web, term, 'after the flood');
    const floods = term.c.received.filter((m) => m.type === 'message' && m.content === 'flood').length;
    assert.ok(floods <= 5, `at most the burst reached the room (${floods})`);
  });
});

describe('WebSocket slow consumers', () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer({
      args: [
        '--http-port', '0', '--workers', '1', '--max-outbound-bytes', String(1 << 20),
        '--rate-limit', '100000', '--rate-burst', '100000', '--max-bytes-per-second', String(1 << 30),
      ],
    });
  });
  after(() => server?.stop());

  test('a WebSocket member that never reads is closed as SLOW_CONSUMER; the room keeps flowing', T, async (t) => {
    const s = clients(t, () => server);
    const sender = await s.tcp();
    const reader = await s.ws();
    const stuck = await s.ws();
    await sameRoom([sender, reader, stuck]);
    const raw = (stuck.c.ws as unknown as { _socket: net.Socket })._socket;
    raw.pause(); // reads nothing from here on: kernel buffers fill, then the server's queue
    const content = 'z'.repeat(16000);
    const total = 1000;
    const fromSender = (): number => reader.c.received.filter((m) => m.type === 'message' && m.identity === sender.id).length;
    await sendPacedByReader((lines) => sender.c.send(lines), fromSender, content, total);
    await reader.c.waitFor((m) => m.type === 'message' && m.content === content + (total - 1), 30_000);
    const got = reader.c.received.filter((m) => m.type === 'message' && m.identity === sender.id).length;
    assert.equal(got, total, 'the reader got every message');
    await reader.c.waitFor((m) => m.type === 'roomchange' && m.identity === stuck.id && m.roomid === '', 10_000);
    await server.waitForLog((l) => l.reason === 'SLOW_CONSUMER');
    raw.resume();
    assert.ok(await within(stuck.c.closed, 10_000), 'the stuck client was closed');
  });
});

describe('HTTPS and the WebSocket over TLS', () => {
  let server: RunningServer;
  let ca: string;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sb-wss-'));
  before(async () => {
    const made = spawnSync(process.execPath, [BIN, 'cert', '--out', dir], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(made.status, 0, made.stderr);
    ca = fs.readFileSync(path.join(dir, 'cert.pem'), 'utf8');
    server = await startServer({ args: ['--http-port', 'off', '--https-port', '0', '--tls-cert', path.join(dir, 'cert.pem'), '--tls-key', path.join(dir, 'key.pem')] });
  });
  after(async () => {
    await server?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('the page over https and a wss:// session chatting with a TCP client', T, async (t) => {
    assert.equal(server.httpPort, null);
    await banner(server);
    assert.match(server.stderr(), new RegExp(`^web app: https://127\\.0\\.0\\.1:${server.httpsPort}/$`, 'm'));
    const page = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      https.get({ host: '127.0.0.1', port: server.httpsPort!, path: '/', ca }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode!, body }));
      }).on('error', reject);
    });
    assert.equal(page.status, 200);
    assert.match(page.body, /<html/i);
    const { client, identity } = await WsTestClient.welcomed(`wss://127.0.0.1:${server.httpsPort}/ws`, { ca });
    t.after(() => client.close());
    const s = clients(t, () => server);
    const term = await s.tcp();
    const web = { c: client, id: identity };
    await sameRoom([web, term]);
    await chat(web, term, 'over wss');
    await chat(term, web, 'back to wss');
  });
});

test('SIGTERM closes WebSocket clients with 1001 and the reason', T, async () => {
  const server = await startServer({ args: ['--http-port', '0'] });
  try {
    const ext = await WsTestClient.welcomed(`ws://127.0.0.1:${server.httpPort}/ws`);
    const core = await WsTestClient.welcomed(`ws://127.0.0.1:${server.httpPort}/ws`, { core: true });
    const stopped = server.stop();
    const [a, b] = await Promise.all([ext.client.closed, core.client.closed]);
    assert.equal(a.code, 1001);
    assert.match(a.reason, /^SHUTTING_DOWN: /);
    assert.equal(b.code, 1001);
    assert.ok(ext.client.received.some(isError('SHUTTING_DOWN')), 'the extended client also got the error frame');
    assert.ok(!core.client.received.some((m) => m.type === 'error'), 'the core client got no error frame');
    const exit = await stopped;
    assert.equal(exit.code, 0);
  } finally {
    await server.stop();
  }
});

test('dedicated placement: a page load and a WebSocket session each get a worker, which ends with them', T, async () => {
  const server = await startServer({ args: ['--http-port', '0', '--placement', 'dedicated', '--spares', '1'] });
  try {
    const page = await fetch(`http://127.0.0.1:${server.httpPort}/`, { headers: { Connection: 'close' } });
    assert.equal(page.status, 200);
    await page.text();
    const { client: web, identity } = await WsTestClient.welcomed(`ws://127.0.0.1:${server.httpPort}/ws`);
    const { client: term } = await TestClient.welcomed(server.port);
    web.send({ type: 'message', content: 'dedicated' });
    await term.waitFor((m) => m.type === 'message' && m.content === 'dedicated' && m.identity === identity);
    const localPort = (web.ws as unknown as { _socket: net.Socket })._socket.localPort!;
    const [holder] = proc.pidsHoldingTcpConnection(server.httpPort!, localPort, proc.descendants(server.pid));
    assert.ok(holder !== undefined && holder !== server.pid, 'a worker process holds the WebSocket');
    await web.close();
    assert.ok(await within(until('the worker to exit', () => !proc.isAlive(holder)), 10_000), 'its worker ended with it');
    await term.waitFor((m) => m.type === 'roomchange' && m.identity === identity && m.roomid === '');
    await term.close();
  } finally {
    await server.stop();
  }
});

test('first-message and idle timeouts close WebSocket sessions with 1008 and the code', T, async () => {
  const server = await startServer({ args: ['--http-port', '0', '--first-message-timeout-ms', '1000', '--idle-timeout-ms', '2500'] });
  try {
    const url = `ws://127.0.0.1:${server.httpPort}/ws`;
    const silent = await WsTestClient.welcomed(url, { core: true });
    const pinger = await WsTestClient.welcomed(url);
    pinger.client.send({ type: 'ping' });
    await pinger.client.waitFor((m) => m.type === 'pong');
    const first = await silent.client.closed;
    assert.equal(first.code, 1008);
    assert.match(first.reason, /^FIRST_MESSAGE_TIMEOUT: /);
    assert.equal(pinger.client.isOpen, true, 'the one that spoke is still open');
    const idle = await pinger.client.closed;
    assert.equal(idle.code, 1008);
    assert.match(idle.reason, /^IDLE_TIMEOUT: /);
    assert.ok(pinger.client.received.some(isError('IDLE_TIMEOUT')), 'the extended client got the error frame too');
  } finally {
    await server.stop();
  }
});

test('slowloris over WebSocket: a frame started and not finished within --line-timeout-ms closes with LINE_TIMEOUT', T, async () => {
  const server = await startServer({ args: ['--http-port', '0', '--line-timeout-ms', '1500'] });
  try {
    const url = `ws://127.0.0.1:${server.httpPort}/ws`;
    const slow = await WsTestClient.welcomed(url);
    const steady = await WsTestClient.welcomed(url);
    // A masked text frame announcing 100 bytes, of which 10 are sent, then a byte a second.
    const raw = (slow.client.ws as unknown as { _socket: net.Socket })._socket;
    raw.write(Buffer.concat([Buffer.from([0x81, 0x80 | 100, 1, 2, 3, 4]), Buffer.alloc(10, 0x20)]));
    const drip = setInterval(() => raw.write(Buffer.from([0x20])), 400);
    const t0 = Date.now();
    // Meanwhile an idle-but-complete client is not affected: it pings slower than the timeout.
    steady.client.send({ type: 'ping' });
    await sleep(1000);
    steady.client.send({ type: 'ping' });
    const closed = await slow.client.closed.finally(() => clearInterval(drip));
    const ms = Date.now() - t0;
    assert.equal(closed.code, 1008);
    assert.match(closed.reason, /^LINE_TIMEOUT: /);
    assert.ok(ms >= 1200 && ms < 6000, `closed after ${ms} ms`);
    await sleep(1000);
    steady.client.send({ type: 'ping' });
    await steady.client.waitFor((m) => m.type === 'pong');
    assert.equal(steady.client.isOpen, true);
    await steady.client.close();
  } finally {
    await server.stop();
  }
});
