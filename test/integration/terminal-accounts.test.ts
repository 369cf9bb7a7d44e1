// `switchboard connect` and the accounts extension against the real server: register, login,
// the saved login reused on the next run, direct messages live and from the offline inbox,
// recall, history; and reconnection with resume after the worker holding the client's
// connection is killed. Every process started here is killed by its pid if it outlives its
// test; everything listens on 127.0.0.1.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { TestClient, type Msg } from '../helpers/client';
import * as proc from '../helpers/procfs';
import { startServer, type RunningServer } from '../helpers/server';
import { escape, TerminalClient } from '../helpers/terminal-client';

const TEST_TIMEOUT = { timeout: 60_000 };

let root: string;
let server: RunningServer;
let target: string;

/** A fresh config directory for one simulated user. */
function configDir(name: string): string {
  return fs.mkdtempSync(path.join(root, `${name}-`));
}

/** Registers and logs in a raw protocol client; returns it past its `loggedin`. */
async function accountClient(port: number, username: string, password: string): Promise<TestClient> {
  const { client } = await TestClient.welcomed(port);
  client.send({ type: 'register', username, password });
  await client.waitFor((m) => m.type === 'registered' || m.type === 'error');
  client.send({ type: 'login', username, password });
  const answer = await client.waitFor((m) => m.type === 'loggedin' || m.type === 'error');
  assert.equal(answer.type, 'loggedin', JSON.stringify(answer));
  return client;
}

const HHMM = '\\d\\d:\\d\\d';
/** History lines carry their date: they may be of another day. */
const DATE = '\\d{4}-\\d\\d-\\d\\d';

before(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'sb-term-acct-'));
  server = await startServer({ args: ['--workers', '2'] });
  target = `127.0.0.1:${server.port}`;
});

after(async () => {
  await server?.stop();
  fs.rmSync(root, { recursive: true, force: true });
});

test('register, login, the login saved (0600) and reused on the next run, history', TEST_TIMEOUT, async () => {
  const dir = configDir('alice');
  const commands = [
    '/register alice pw-alice-1',
    '/register alice pw-alice-1',
    '/login alice wrong-password',
    '/login alice pw-alice-1',
    '/createroom Attic',
    '/join Attic',
    'first words',
    '/history',
  ];
  const first = TerminalClient.start(target, [], { configDir: dir, input: commands.join('\n') + '\n' });
  try {
    // The second register and the wrong password were refused: exit code 3.
    assert.equal(await first.finish(), 3, first.stderr);
    const lines = first.lines;
    const guest = /^Connected to .* as (guest\d+)$/.exec(lines[0]!)![1]!;
    const from = lines.indexOf('Registered alice');
    assert.ok(from > 0, lines.join('\n'));
    const expected: Array<string | RegExp> = [
      'Registered alice',
      'The name alice is taken (an account, or someone connected). (USERNAME_TAKEN)',
      'Wrong username or password. (BAD_CREDENTIALS)',
      `${guest} is now alice`,
      'Logged in as alice',
      /^Rooms: .*\bAttic 0\b/,
      'Room Attic created; you are its owner.',
      'alice moves from MainHall to Attic',
      /^alice: first words \[[0-9a-f]{8}\]$/,
      'History of Attic: 1 message',
      /^\d{4}-\d\d-\d\d \d\d:\d\d alice: first words \[[0-9a-f]{8}\]$/,
      '(start of the history reached: nothing older)',
      'alice leaves Attic',
      'Disconnected (end of input)',
    ];
    const got = lines.slice(from);
    assert.equal(got.length, expected.length, got.join('\n'));
    expected.forEach((want, i) => (typeof want === 'string' ? assert.equal(got[i], want) : assert.match(got[i]!, want)));

    const file = path.join(dir, 'tokens.json');
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    assert.equal(fs.statSync(dir).mode & 0o777, 0o700);
    const saved = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, { username: string; token: string }>;
    assert.deepEqual(Object.keys(saved), [target]);
    assert.equal(saved[target]!.username, 'alice');
    assert.ok(saved[target]!.token.length >= 20);
  } finally {
    first.kill();
  }

  // The next run logs in by itself, with no password.
  const second = TerminalClient.start(target, [], { configDir: dir, input: '/history Attic 5\n/status reading\n' });
  try {
    assert.equal(await second.finish(), 0, second.stderr);
    const lines = second.lines;
    const guest = /^Connected to .* as (guest\d+)$/.exec(lines[0]!)![1]!;
    const from = lines.indexOf(`${guest} is now alice`);
    assert.ok(from > 0, lines.join('\n'));
    assert.deepEqual(lines.slice(from + 1, from + 3), ['Logged in as alice', 'History of Attic: 1 message']);
    assert.match(lines[from + 3]!, new RegExp(`^${DATE} ${HHMM} alice: first words \\[[0-9a-f]{8}\\]$`));
    assert.equal(lines[from + 4], '(start of the history reached: nothing older)');
    assert.equal(lines[from + 5], 'Profile of alice: dnd off, status "reading"');
  } finally {
    second.kill();
  }

  // --no-auto-login leaves it unused; #login alone uses it.
  const third = TerminalClient.start(target, ['--no-auto-login'], {
    configDir: dir,
    input: '/presence alice\n/login\n/presence alice\n/logout\n',
  });
  try {
    assert.equal(await third.finish(), 0, third.stderr);
    const lines = third.lines;
    const guest = /^Connected to .* as (guest\d+)$/.exec(lines[0]!)![1]!;
    const from = lines.indexOf('alice: offline, "reading"');
    assert.ok(from > 0, lines.join('\n'));
    assert.deepEqual(lines.slice(from, from + 4), [
      'alice: offline, "reading"',
      `${guest} is now alice`,
      'Logged in as alice',
      'alice: online, "reading"',
    ]);
    assert.match(lines[from + 5]!, /^Logged out; now guest\d+$/);
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(dir, 'tokens.json'), 'utf8')), {}, '#logout forgets the login');
  } finally {
    third.kill();
  }
});

test('direct messages with a raw client: live both ways, recall, the offline inbox once', TEST_TIMEOUT, async () => {
  const dir = configDir('dora');
  const bob = await accountClient(server.port, 'bobby', 'pw-bobby-1');
  const dora = TerminalClient.start(target, [], { configDir: dir });
  try {
    dora.write('/register dora pw-dora-12\n/login dora pw-dora-12\n/msg bobby hello bobby\n');
    const short = (await dora.waitFor(/\n\[dm\] dora -> bobby: hello bobby \[([0-9a-f]{8})\]\n/))[1]!;
    const got = await bob.waitFor((m) => m.type === 'dm' && m.from === 'dora');
    assert.equal(got.content, 'hello bobby');
    assert.ok(String(got.id).endsWith(short), `${String(got.id)} ends with ${short}`);

    bob.send({ type: 'dm', to: 'dora', content: 'hi dora' });
    await dora.waitFor(/\n\[dm\] bobby -> dora: hi dora\n/);

    // Recall by the short id shown.
    dora.write(`/recall ${short}\n`);
    await dora.waitFor(new RegExp(`\\ndora recalled their message of ${HHMM} \\[${short}\\]\\n`));
    const recalled = await bob.waitFor((m) => m.type === 'recalled');
    assert.equal(recalled.id, got.id);
    dora.write('/dmhistory bobby\n');
    await dora.waitFor(new RegExp(
      `\\nDirect messages with bobby: 2 messages\\n${DATE} ${HHMM} \\[dm\\] dora -> bobby: \\(recalled\\) \\[${short}\\]\\n` +
        `${DATE} ${HHMM} \\[dm\\] bobby -> dora: hi dora \\[[0-9a-f]{8}\\]\\n`,
    ));
    assert.equal(await dora.finish(), 0, dora.stderr);

    // Dora is away: this waits in her inbox, shown at her next login and acknowledged.
    bob.send({ type: 'dm', to: 'dora', content: 'while you were out' });
    await bob.waitFor((m: Msg) => m.type === 'dm' && m.content === 'while you were out');
    const back = TerminalClient.start(target, [], { configDir: dir, input: '/presence bobby\n' });
    assert.equal(await back.finish(), 0, back.stderr);
    const offline = back.lines.filter((l) => l.startsWith('[dm offline]'));
    assert.deepEqual(offline, ['[dm offline] bobby -> dora: while you were out']);
    assert.ok(back.lines.indexOf('Logged in as dora') < back.lines.indexOf(offline[0]!));

    const again = TerminalClient.start(target, [], { configDir: dir, input: '/presence bobby\n' });
    assert.equal(await again.finish(), 0, again.stderr);
    assert.ok(again.lines.includes('Logged in as dora'), again.output);
    assert.ok(!again.lines.some((l) => l.startsWith('[dm offline]')), `acknowledged, not delivered again:\n${again.output}`);
  } finally {
    dora.kill();
    await bob.close();
  }
});

test('/dms right after a login lists the DMs the offline inbox delivers after it', TEST_TIMEOUT, async () => {
  await (await accountClient(server.port, 'erin', 'pw-erin-12')).close();
  const fred = await accountClient(server.port, 'fred', 'pw-fred-12');
  try {
    fred.send({ type: 'dm', to: 'erin', content: 'while you were out' });
    await fred.waitFor((m: Msg) => m.type === 'dm' && m.content === 'while you were out');
    const erin = TerminalClient.start(target, [], { configDir: configDir('erin'), input: '/login erin pw-erin-12\n/dms\n' });
    assert.equal(await erin.finish(), 0, erin.stderr);
    const listed = erin.lines.indexOf('Direct message conversations (most recent first):');
    assert.ok(listed !== -1, erin.output);
    assert.equal(erin.lines[listed + 1], '  fred: 1 unread (/dmhistory fred)', erin.output);
    assert.ok(!erin.output.includes('No direct message conversations'), erin.output);
    // The request that waited for the inbox is not shown.
    assert.ok(!/blocked no one/i.test(erin.output), erin.output);
  } finally {
    await fred.close();
  }
});

test('kill -9 of the worker holding the connection: reconnected, logged in, back in the room, every message once', TEST_TIMEOUT, async () => {
  // A process per connection, so the sender is never on the worker that is killed.
  // 200 messages/s from the sender: over the default per-connection rate limit, which is not what this tests.
  const own = await startServer({ args: ['--placement', 'dedicated', '--spares', '1', '--rate-limit', '1000', '--rate-burst', '1000'] });
  const dir = configDir('carol');
  const client = TerminalClient.start(`127.0.0.1:${own.port}`, [], { configDir: dir });
  let sender: TestClient | null = null;
  try {
    client.write('/register carol pw-carol-12\n/login carol pw-carol-12\n/createroom Numbers\n/join Numbers\n');
    await client.waitFor(/\ncarol moves from MainHall to Numbers\n/);
    const welcomed = await TestClient.welcomed(own.port);
    sender = welcomed.client;
    sender.send({ type: 'join', roomid: 'Numbers' });
    await sender.waitFor((m) => m.type === 'roomchange' && m.identity === welcomed.identity);

    const victim = await holderOfClient(own, client.child.pid!);
    const total = 200;
    let killedAt = 0;
    for (let n = 1; n <= total; n++) {
      sender.send({ type: 'message', content: `num ${n}` });
      if (n === 40) {
        await client.waitFor(/\n\w+: num 20\n/);
        process.kill(victim, 'SIGKILL');
        killedAt = n;
      }
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    assert.equal(killedAt, 40);
    await client.waitFor(new RegExp(`\\n${escape(welcomed.identity)}: num ${total}\\n`), 20_000);
    assert.equal(await client.finish(), 0, client.stderr);

    const lines = client.lines;
    for (let n = 1; n <= total; n++) {
      const count = lines.filter((l) => l === `${welcomed.identity}: num ${n}`).length;
      assert.equal(count, 1, `num ${n} shown ${count} times:\n${client.output}`);
    }
    const numbers = lines.filter((l) => l.startsWith(`${welcomed.identity}: num `)).map((l) => Number(l.split(' ').pop()));
    assert.deepEqual(numbers, numbers.slice().sort((a, b) => a - b), 'in order');
    assert.ok(lines.some((l) => /^Connection lost; reconnecting in \d+\.\ds\u2026 \(attempt 1 of 20\)$/.test(l)), client.output);
    assert.ok(lines.some((l) => /^Reconnected to 127\.0\.0\.1:\d+ as guest\d+$/.test(l)), client.output);
    assert.equal(lines.filter((l) => l === 'Logged in as carol').length, 2, client.output);
    assert.equal(lines.filter((l) => l === 'carol moves from MainHall to Numbers').length, 2, client.output);
    assert.ok(!proc.isAlive(victim) || proc.isZombie(victim));
  } finally {
    client.kill();
    await sender?.close();
    await own.stop();
  }
});

/** The server process holding the server side of the TCP connection of client process `pid`. */
async function holderOfClient(srv: RunningServer, pid: number): Promise<number> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const inodes = proc.socketInodes(pid);
    const local = proc.tcpTable().find((r) => inodes.has(r.inode) && r.remotePort === srv.port && r.state === '01');
    if (local) {
      const holders = proc
        .pidsHoldingTcpConnection(srv.port, local.localPort, [srv.pid, ...proc.descendants(srv.pid)])
        .filter((p) => p !== srv.pid);
      if (holders.length === 1) return holders[0]!;
    }
    if (Date.now() > deadline) throw new Error(`no single server process holds the connection of client ${pid}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
