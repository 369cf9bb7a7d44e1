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
  /** Which connection of the client this is: 1 for the first, 2 after a reconnection... */
  index: number;
  send(message: object | string): void;
}

/** The client's first line on every connection: it reads every message type (docs/PROTOCOL.md). */
const HELLO = '{"type":"hello","capabilities":["extended"]}';

const WELCOME = [
  { type: 'newidentity', former: '', identity: 'guest1' },
  { type: 'roomchange', identity: 'guest1', former: '', roomid: 'MainHall' },
  { type: 'roomlist', rooms: [{ roomid: 'MainHall', count: 1 }] },
  { type: 'roomcontents', roomid: 'MainHall', identities: ['guest1'], owner: '' },
];

/**
 * A scripted server (each connection welcomed as guest1); records what the client sent, but for
 * the `session` request (resume token) a reconnecting client sends on each connection: this
 * server knows no such thing and does not answer it (the resume tests below script their own).
 */
async function scriptedPeer(
  listen: { port: 0; host: '127.0.0.1' } | { path: string },
  onLine: Reply,
  welcomeDelayMs = 0,
  onConnect: (peer: Peer) => void = () => undefined,
) {
  const received: string[] = [];
  /** The connections (by index) whose client sent the `hello` declaration, in order. */
  const hellos: number[] = [];
  const events: string[] = [];
  let connections = 0;
  const server = net.createServer((socket) => {
    const peer: Peer = {
      socket,
      index: ++connections,
      send: (m) => socket.write((typeof m === 'string' ? m : JSON.stringify(m)) + '\n'),
    };
    let buffer = '';
    socket.on('data', (d) => {
      buffer += d.toString();
      let nl;
      while ((nl = buffer.indexOf('\n')) !== -1) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        if (line === '{"type":"session"}') continue;
        // As Switchboard does: the client's declaration is answered, and kept apart from the rest.
        if (line === HELLO) {
          hellos.push(peer.index);
          peer.send({ type: 'hello', capabilities: ['extended'] });
          continue;
        }
        received.push(line);
        events.push('recv ' + line);
        onLine(JSON.parse(line), peer);
      }
    });
    socket.on('error', () => undefined);
    setTimeout(() => {
      events.push('welcome');
      for (const m of WELCOME) peer.send(m);
      onConnect(peer);
    }, welcomeDelayMs);
  });
  await new Promise<void>((resolve) => server.listen(listen, resolve));
  const address = server.address() as net.AddressInfo | string;
  return {
    target: typeof address === 'string' ? ['--unix', address] : [`127.0.0.1:${address.port}`],
    received,
    hellos,
    events,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

// Saved logins go to a directory of this test run, never to the user's own.
const configRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'sb-term-cfg-'));
process.on('exit', () => fs.rmSync(configRoot, { recursive: true, force: true }));
const hermetic: RunConnectOptions = { env: { XDG_CONFIG_HOME: configRoot } };

/** The client in line mode, its stdin open for the test to write to. */
function running(args: string[], options: RunConnectOptions = {}) {
  const stdin = new PassThrough();
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  let wake: (() => void) | null = null;
  stdout.on('data', (d) => {
    out += d;
    wake?.();
  });
  stderr.on('data', (d) => (err += d));
  const done = runConnect(args, { ...hermetic, ...options, io: { stdin, stdout, stderr } }).finally(() => stdin.end());
  return {
    stdin,
    done,
    lines: () => out.split('\n').filter((l) => l !== ''),
    err: () => err,
    /** Waits until the output matches (5 s at most). */
    async waitFor(pattern: RegExp): Promise<void> {
      const deadline = Date.now() + 5000;
      while (!pattern.test(out)) {
        if (Date.now() > deadline) throw new Error(`no ${pattern} in:\n${out}`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 100);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
    },
  };
}

/** Runs the client in line mode with `input` as its stdin (left open if `keepOpen`). */
async function client(args: string[], input: string, options: RunConnectOptions & { keepOpen?: boolean } = {}) {
  const c = running(args, options);
  if (options.keepOpen) c.stdin.write(input);
  else c.stdin.end(input);
  const code = await c.done;
  const out = c.lines().join('\n');
  return { code, out: out === '' ? '' : out + '\n', err: c.err(), lines: c.lines() };
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
      'Disconnected (end of input)',
    ]);
    assert.deepEqual(peer.hellos, [1], 'hello first');
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

test('a server that closes before its welcome: the client says it may be full or refusing us', async () => {
  // Switchboard refuses at admission (full, too many connections from one address, stopping)
  // with a plain close: the client has not declared itself extended yet.
  const server = net.createServer((socket) => socket.end());
  await new Promise<void>((resolve) => server.listen({ port: 0, host: '127.0.0.1' }, resolve));
  try {
    const r = await client([`127.0.0.1:${(server.address() as net.AddressInfo).port}`, '--no-reconnect'], 'hi\n', { keepOpen: true });
    assert.equal(r.code, 2);
    assert.deepEqual(r.lines, [
      'Disconnected by server before its welcome: it may be full, have too many connections from this address, or be shutting down; or this is its TLS port (then connect with --tls)',
    ]);
  } finally {
    // Not awaited: its callback may never come once every connection is gone (the loop empties).
    server.close();
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
    assert.equal(r.code, 3);
    assert.deepEqual(r.lines.slice(4), [
      'There is no room named nowhere (/list shows the rooms; /createroom nowhere makes one).',
      'usage: #join ROOM',
      'guest1: after',
      'guest1 leaves MainHall',
      'Disconnected (end of input)',
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
      '/message was refused: bye now. (E_KICKED)',
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
    assert.equal(r.lines.at(-1), 'Disconnected (you quit; the server did not close the connection)');
    // Not before its time; the message above says it was the timeout that ended it.
    assert.ok(Date.now() - started >= 200);
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
    const r = await client([...peer.target, '--log', logFile], 'hello\n#who a b\n');
    assert.equal(r.code, 3);
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
      'in #who a b',
      'out usage: #who [ROOM]',
      'out guest1 leaves MainHall',
      'out Disconnected (end of input)',
      '--- session ended, exit code 3',
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

// --- accounts, direct messages, reconnection ------------------------------------------------

/**
 * A peer speaking enough of the accounts extension: password and token logins (token
 * `tok-<user>`), logout, DMs echoed with ids, and whatever `extra` adds. Identity per
 * connection; quit answered by closing.
 */
function accountsPeer(extra: Reply = () => undefined): { reply: Reply; acks: number[] } {
  const acks: number[] = [];
  let dms = 0;
  const identities = new Map<net.Socket, string>();
  const reply: Reply = (m, p) => {
    const me = identities.get(p.socket) ?? 'guest1';
    const rename = (to: string) => {
      p.send({ type: 'newidentity', former: me, identity: to });
      identities.set(p.socket, to);
    };
    switch (m.type) {
      case 'login': {
        const user = typeof m.token === 'string' ? m.token.replace(/^tok-/, '') : String(m.username);
        if (m.token === 'tok-revoked') {
          p.send({ type: 'error', code: 'BAD_CREDENTIALS', message: 'unknown token' });
          return;
        }
        rename(user);
        p.send({ type: 'loggedin', identity: user, token: `tok-${user}` });
        break;
      }
      case 'logout':
        rename('guest5');
        p.send({ type: 'loggedout', identity: 'guest5' });
        break;
      case 'dm':
        p.send({ type: 'dm', id: `dm-${++dms}`, from: me, to: m.to, content: m.content, ts: 0 });
        break;
      case 'ack':
        acks.push(m.inbox as number);
        break;
      case 'quit':
        p.send({ type: 'roomchange', identity: me, former: 'MainHall', roomid: '' });
        p.socket.end();
        break;
    }
    extra(m, p);
  };
  return { reply, acks };
}

test('login saved (0600) and used on the next run; inbox DMs shown once and acknowledged; logout forgets it', async () => {
  const configDir = fs.mkdtempSync(path.join(configRoot, 'login-'));
  const logFile = path.join(configDir, 'session.log');
  const { reply, acks } = accountsPeer((m, p) => {
    if (m.type === 'login' && m.token === 'tok-alice') {
      const dm = { type: 'dm', from: 'bob', to: 'alice', ts: 0 };
      p.send({ ...dm, id: 'd1', content: 'while you were out', inbox: 1 });
      p.send({ ...dm, id: 'd2', content: 'still there?', inbox: 2 });
      p.send({ ...dm, id: 'd1', content: 'while you were out', inbox: 1 }); // delivered twice
    }
  });
  const peer = await scriptedPeer({ port: 0, host: '127.0.0.1' }, reply);
  const target = peer.target[0]!;
  const args = [...peer.target, '--config-dir', configDir];
  try {
    const first = await client([...args, '--log', logFile], '/login\n/login alice pw-secret-1\n');
    assert.equal(first.code, 3);
    assert.deepEqual(first.lines.slice(4), [
      `No saved login for ${target}: log in with /login USER`,
      'guest1 is now alice',
      'Logged in as alice',
      'alice leaves MainHall',
      'Disconnected (end of input)',
    ]);
    const file = path.join(configDir, 'tokens.json');
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    assert.deepEqual(JSON.parse(fs.readFileSync(file, 'utf8')), { [target]: { username: 'alice', token: 'tok-alice' } });
    const log = fs.readFileSync(logFile, 'utf8');
    assert.match(log, /Z in \/login alice \*{8}$/m);
    assert.doesNotMatch(log, /pw-secret-1/);

    const received = peer.received.length;
    const second = await client(args, '/msg bob hi there\n/logout\n');
    assert.equal(second.code, 0);
    assert.deepEqual(second.lines.slice(4), [
      'guest1 is now alice',
      'Logged in as alice',
      '[dm offline] bob -> alice: while you were out',
      '[dm offline] bob -> alice: still there?',
      '[dm] alice -> bob: hi there [dm-1]',
      'alice is now guest5',
      'Logged out; now guest5',
      'guest5 leaves MainHall',
      'Disconnected (end of input)',
    ]);
    assert.equal(peer.received[received], '{"type":"login","token":"tok-alice"}');
    assert.deepEqual(acks, [2], 'one acknowledgement, of the highest');
    assert.deepEqual(JSON.parse(fs.readFileSync(file, 'utf8')), {});

    const before = peer.received.length;
    const third = await client(args, '');
    assert.equal(third.code, 0);
    assert.deepEqual(peer.received.slice(before), ['{"type":"quit"}'], 'no saved login left to use');
    assert.deepEqual(third.lines.slice(4), ['guest1 leaves MainHall', 'Disconnected (end of input)']);
  } finally {
    await peer.close();
  }
});

test('offline DMs shown just before the end of input are acknowledged before the quit', async () => {
  const configDir = fs.mkdtempSync(path.join(configRoot, 'ack-'));
  const { reply, acks } = accountsPeer((m, p) => {
    if (m.type === 'login' && m.token === 'tok-carol') p.send({ type: 'dm', id: 'd9', from: 'bob', to: 'carol', content: 'hello', ts: 0, inbox: 7 });
  });
  const peer = await scriptedPeer({ port: 0, host: '127.0.0.1' }, reply);
  const args = [...peer.target, '--config-dir', configDir];
  try {
    assert.equal((await client(args, '/login carol pw-secret-1\n')).code, 0);
    const before = peer.received.length;
    // Nothing to type: the saved login, its inbox, and the end of input all come at once.
    const run = await client(args, '');
    assert.equal(run.code, 0);
    assert.ok(run.lines.includes('[dm offline] bob -> carol: hello'), run.out);
    const sent = peer.received.slice(before).map((l) => (JSON.parse(l) as { type: string }).type);
    assert.deepEqual(sent, ['login', 'ack', 'quit']);
    assert.deepEqual(acks, [7]);
  } finally {
    await peer.close();
  }
});

test('a saved login the server refuses is forgotten; --no-auto-login leaves it unused', async () => {
  const configDir = fs.mkdtempSync(path.join(configRoot, 'revoked-'));
  const { reply } = accountsPeer();
  const peer = await scriptedPeer({ port: 0, host: '127.0.0.1' }, reply);
  const target = peer.target[0]!;
  const file = path.join(configDir, 'tokens.json');
  fs.writeFileSync(file, JSON.stringify({ [target]: { username: 'alice', token: 'tok-revoked' } }));
  try {
    const skipped = await client([...peer.target, '--config-dir', configDir, '--no-auto-login'], '');
    assert.equal(skipped.code, 0);
    assert.deepEqual(peer.received, ['{"type":"quit"}']);

    const refused = await client([...peer.target, '--config-dir', configDir], '');
    assert.equal(refused.code, 0);
    assert.deepEqual(refused.lines.slice(4, 6), [
      'The saved login was refused: log in with your password. (BAD_CREDENTIALS)',
      `(the login saved for ${target} was refused: forgotten)`,
    ]);
    assert.deepEqual(JSON.parse(fs.readFileSync(file, 'utf8')), {});
  } finally {
    await peer.close();
  }
});

test('a dropped connection is reopened: login, room and missed messages restored, nothing shown twice', async () => {
  const configDir = fs.mkdtempSync(path.join(configRoot, 'reconnect-'));
  const message = (seq: number, identity = 'bob', content = `n${seq}`) =>
    ({ type: 'message', identity, content, roomid: 'jokes', id: `id-${seq}`, seq, ts: 0 });
  let seq = 0;
  const byConnection: string[][] = [[], [], []];
  const { reply } = accountsPeer((m, p) => {
    byConnection[p.index]!.push(JSON.stringify(m));
    if (m.type === 'join') {
      p.send({ type: 'roomchange', identity: 'alice', former: 'MainHall', roomid: m.roomid });
    } else if (m.type === 'message' && m.content === 'go') {
      p.send(message(++seq, 'alice', 'go'));
      for (let i = 0; i < 3; i++) p.send(message(++seq));
      setTimeout(() => p.socket.destroy(), 50); // as if the server process died
    } else if (m.type === 'message') {
      p.send(message(++seq, 'alice', String(m.content)));
    } else if (m.type === 'resume') {
      // One posted while we were away, seen live first, then the replay repeating it.
      p.send(message(seq + 2));
      for (let s = (m.since as number) - 1; s <= seq + 2; s++) if (s > 0) p.send(message(s));
      seq += 2;
      p.send({ type: 'resumed', roomid: 'jokes', seq });
    }
  });
  const peer = await scriptedPeer({ port: 0, host: '127.0.0.1' }, reply);
  const c = running([...peer.target, '--config-dir', configDir], { timings: { reconnectInitial: 20, reconnectMax: 40 } });
  try {
    c.stdin.write('/login alice pw-secret-1\n/join jokes\ngo\n');
    await c.waitFor(/Reconnected to/);
    await c.waitFor(/\nbob: n6\n/);
    c.stdin.end('after\n');
    assert.equal(await c.done, 0);
    const lines = c.lines();
    const from = lines.indexOf('alice: go [id-1]');
    assert.deepEqual(lines.slice(from), [
      'alice: go [id-1]',
      'bob: n2',
      'bob: n3',
      'bob: n4',
      'Connection lost; reconnecting in 0.0s\u2026 (attempt 1 of 20)',
      `Reconnected to ${peer.target[0]} as guest1`,
      'guest1 moves to MainHall',
      'Rooms: MainHall 1',
      'MainHall contains guest1',
      'guest1 is now alice',
      'Logged in as alice',
      'alice moves from MainHall to jokes',
      'bob: n5',
      'bob: n6',
      'alice: after [id-7]',
      'alice leaves MainHall',
      'Disconnected (end of input)',
    ]);
    assert.deepEqual(byConnection[2]!.slice(0, 3), [
      '{"type":"login","token":"tok-alice"}',
      '{"type":"join","roomid":"jokes"}',
      '{"type":"resume","roomid":"jokes","since":4}',
    ]);
  } finally {
    c.stdin.end();
    await peer.close();
  }
});

test('no reconnection with --no-reconnect, nor when the account was logged in elsewhere', async () => {
  let connections = 0;
  const peer = await scriptedPeer({ port: 0, host: '127.0.0.1' }, (m, p) => {
    if (m.type !== 'message') return;
    if (m.content === 'replace me') p.send({ type: 'error', code: 'SESSION_REPLACED', message: 'logged in elsewhere' });
    p.socket.end();
  }, 0, () => connections++);
  try {
    const plain = await client([...peer.target, '--no-reconnect'], 'drop me\n', { keepOpen: true });
    assert.equal(plain.code, 2);
    assert.equal(plain.lines.at(-1), 'Disconnected by server');
    const replaced = await client(peer.target, 'replace me\n', { keepOpen: true });
    assert.equal(replaced.code, 2);
    assert.equal(replaced.lines.at(-1), 'Disconnected by server: logged in elsewhere (SESSION_REPLACED)');
    assert.equal(connections, 2);
  } finally {
    await peer.close();
  }
});

test('while the server is away: attempts back off; the end of input ends the session, exit 2', async () => {
  const peer = await scriptedPeer({ port: 0, host: '127.0.0.1' }, (m, p) => {
    if (m.type === 'message') {
      void peer.close(); // no new connections from now on
      p.socket.destroy();
    }
  });
  const c = running(peer.target, { timings: { reconnectInitial: 20, reconnectMax: 40 } });
  c.stdin.write('bye\n');
  await c.waitFor(/Reconnect failed \(ECONNREFUSED\); retrying in 0\.0s\u2026 \(attempt 2 of 20\)\n/);
  c.stdin.end();
  assert.equal(await c.done, 2);
  assert.equal(c.lines()[4], 'Connection lost; reconnecting in 0.0s\u2026 (attempt 1 of 20)');
  assert.equal(c.lines().at(-1), 'Disconnected (end of input while reconnecting)');
});

test('reconnecting gives up after the attempts allowed, with a clear last line, exit 2', async () => {
  const peer = await scriptedPeer({ port: 0, host: '127.0.0.1' }, (m, p) => {
    if (m.type === 'message') {
      void peer.close();
      p.socket.destroy();
    }
  });
  const c = running(peer.target, { timings: { reconnectInitial: 10, reconnectMax: 30, reconnectAttempts: 3 } });
  c.stdin.write('bye\n');
  assert.equal(await c.done, 2);
  const lines = c.lines();
  assert.deepEqual(lines.slice(4), [
    'Connection lost; reconnecting in 0.0s\u2026 (attempt 1 of 3)',
    'Reconnect failed (ECONNREFUSED); retrying in 0.0s\u2026 (attempt 2 of 3)',
    'Reconnect failed (ECONNREFUSED); retrying in 0.0s\u2026 (attempt 3 of 3)',
    `Gave up reconnecting to ${peer.target[0]} after 3 attempts (last: ECONNREFUSED).`,
  ]);
  c.stdin.end();
});
