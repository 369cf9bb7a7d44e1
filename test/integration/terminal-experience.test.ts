// The terminal client as a user lives in it (issue 13), against the real server: piped (the
// scriptable mode) and interactive (a pseudo-terminal made by util-linux `script`). Every
// process started here is killed by its pid if it outlives its test.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { TestClient } from '../helpers/client';
import { missingPrerequisite } from '../helpers/prerequisite';
import { startServer, type RunningServer } from '../helpers/server';
import { escape, TerminalClient, terminalAvailable } from '../helpers/terminal-client';

const TEST_TIMEOUT = { timeout: 90_000 };
const hasScript = terminalAvailable();
const suffix = String(process.pid % 100_000);

let root: string;
/** The default limits (20 lines a second, bursts of 40): what pacing is tested against. */
let server: RunningServer;
let target: string;
/** High limits, for filling a room's history quickly. */
let roomy: RunningServer;

before(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'sb-term-exp-'));
  [server, roomy] = await Promise.all([
    startServer({ args: ['--workers', '2'] }),
    startServer({ args: ['--rate-limit', '5000', '--rate-burst', '5000', '--account-rate-limit', '5000'] }),
  ]);
  target = `127.0.0.1:${server.port}`;
});

after(async () => {
  await Promise.all([server?.stop(), roomy?.stop()]);
  fs.rmSync(root, { recursive: true, force: true });
});

/** A raw protocol client in `room` (created if needed), past its join. */
async function watcher(port: number, room: string): Promise<TestClient> {
  const { client, identity } = await TestClient.welcomed(port);
  client.send({ type: 'createroom', roomid: room });
  await client.waitFor((m) => m.type === 'roomlist');
  client.send({ type: 'join', roomid: room });
  await client.waitFor((m) => m.type === 'roomchange' && m.identity === identity);
  return client;
}

test('an unknown /command, a lone / or # are never sent; //text and /say send a leading slash', TEST_TIMEOUT, async () => {
  const room = 'Typos' + suffix;
  const watch = await watcher(server.port, room);
  const input = [`/join ${room}`, '/regster dave supersecret1', '/', '#', '//shrug', '/say /me waves', 'done'].join('\n') + '\n';
  const proc = TerminalClient.start(target, [], { input });
  try {
    assert.equal(await proc.waitForExit(), 3, proc.stderr);
    assert.ok(proc.lines.includes('Unknown command /regster: nothing was sent. Did you mean /register? (/help lists the commands; //text sends a line starting with /)'), proc.output);
    assert.equal(proc.lines.filter((l) => /^A lone [/#] is not a command: nothing was sent\./.test(l)).length, 2, proc.output);
    await watch.waitFor((m) => m.type === 'message' && m.content === 'done');
    const said = watch.received.filter((m) => m.type === 'message').map((m) => m.content);
    assert.deepEqual(said, ['/shrug', '/me waves', 'done'], 'nothing else reached the room');
    assert.doesNotMatch(proc.output, /supersecret1/);
  } finally {
    proc.kill();
    await watch.close();
  }
});

test('piped: 230 lines are paced to the advertised rate limit, all delivered, exit 0', TEST_TIMEOUT, async () => {
  const room = 'Burst' + suffix;
  const watch = await watcher(server.port, room);
  // The server tells its limits in the hello reply.
  assert.deepEqual(watch.helloReply?.limits, { rate: 20, burst: 40, accountRate: 40 });
  const lines = Array.from({ length: 230 }, (_, i) => `line ${i + 1}`);
  const proc = TerminalClient.start(target, [], { input: [`/join ${room}`, ...lines].join('\n') + '\n' });
  try {
    assert.equal(await proc.waitForExit(60_000), 0, proc.stderr + proc.output.slice(-2000));
    assert.doesNotMatch(proc.output, /RATE_LIMITED|FLOODING/);
    await watch.waitFor((m) => m.type === 'message' && m.content === 'line 230', 10_000);
    const said = watch.received.filter((m) => m.type === 'message').map((m) => m.content);
    assert.deepEqual(said, lines, 'every line, once, in order');
  } finally {
    proc.kill();
    await watch.close();
  }
});

test('refusals: one sentence each for what was asked, exit code 3', TEST_TIMEOUT, async () => {
  const room = 'Owned' + suffix;
  const owner = await watcher(server.port, room);
  const input = [
    `/delete ${room}`,
    `/createroom ${room}`,
    '/createroom 9lives',
    '/close MainHall',
    '/join MainHall',
    `/delete Gone${suffix}`,
  ].join('\n') + '\n';
  const proc = TerminalClient.start(target, [], { input });
  try {
    assert.equal(await proc.waitForExit(), 3, proc.stderr);
    const said = proc.lines.filter((l) => !/^(Rooms|MainHall contains|Connected|guest\d+ (moves|leaves)|Disconnected)/.test(l));
    assert.deepEqual(said, [
      `You cannot delete ${room}: you are not its owner (nor an administrator).`,
      `A room named ${room} already exists: choose another name.`,
      '9lives cannot be a room name: a letter, then 2 to 31 letters or digits.',
      'MainHall cannot be deleted or closed.',
      'You are already in MainHall.',
      `There is no room named Gone${suffix}.`,
    ]);
    assert.ok(!proc.lines.includes('The requested room is invalid or non existent'), proc.output);
  } finally {
    proc.kill();
    await owner.close();
  }
});

test('a room closed under its members is said in words; the * after the owner is explained', TEST_TIMEOUT, async () => {
  const room = 'Closing' + suffix;
  const owner = await watcher(server.port, room);
  const member = TerminalClient.start(target, [], {});
  try {
    member.type(`/join ${room}`);
    member.type(`/who`);
    await member.next(new RegExp(`^${room} contains .*\\*.* \\(\\* owner\\)$`));
    owner.send({ type: 'delete', roomid: room });
    await member.next(new RegExp(`^guest\\d+ moves from ${room} to MainHall$`));
    await member.next(`Room ${room} was closed: you are back in MainHall.`);
    assert.equal(await member.finish(), 0, member.stderr);
    assert.equal(member.lines.at(-1), 'Disconnected (end of input)');
  } finally {
    member.kill();
    await owner.close();
  }
});

test('history pages past the server page size with next; /more goes back to the start and says so', TEST_TIMEOUT, async () => {
  const room = 'Archive' + suffix;
  const poster = await watcher(roomy.port, room);
  for (let n = 1; n <= 260; n++) poster.send({ type: 'message', content: `old ${n}` });
  await poster.waitFor((m) => m.type === 'message' && m.content === 'old 260', 20_000);
  const proc = TerminalClient.start(`127.0.0.1:${roomy.port}`, [], { input: `/history ${room} 250\n/more\n/more\n` });
  try {
    assert.equal(await proc.waitForExit(), 0, proc.stderr);
    const lines = proc.lines;
    const first = lines.indexOf(`History of ${room}: 250 messages`);
    assert.ok(first > 0, proc.output);
    const shown = lines.filter((l) => / guest\d+: old \d+ \[/.test(l)).map((l) => Number(/old (\d+) /.exec(l)![1]));
    // 11..260 (two requests: 200 + 50), then 1..10 by the first /more.
    assert.deepEqual(shown, [...Array.from({ length: 250 }, (_, i) => i + 11), ...Array.from({ length: 10 }, (_, i) => i + 1)]);
    assert.ok(lines.includes('(/more or PageUp for older messages)'), proc.output);
    assert.ok(lines.includes('(start of the history reached: nothing older)'), proc.output);
    assert.ok(lines.includes(`You are at the start of ${room}: there is nothing older.`), proc.output);
  } finally {
    proc.kill();
    await poster.close();
  }
});

test('blocks: /unblock confirms just that name; an empty list says so; /blocks lists only blocks', TEST_TIMEOUT, async () => {
  const dir = fs.mkdtempSync(path.join(root, 'blocks-'));
  const spare = await TestClient.welcomed(server.port);
  const pest = `Pest${suffix}`;
  spare.client.send({ type: 'identitychange', identity: pest });
  await spare.client.waitFor((m) => m.type === 'newidentity');
  const user = `blk${suffix}`;
  const input = ['/blocks', `/register ${user} pw-blocker-1`, `/login ${user} pw-blocker-1`, `/block ${pest}`, '/blocks', `/unblock ${pest}`, '/blocks'].join('\n') + '\n';
  const proc = TerminalClient.start(target, [], { configDir: dir, input });
  try {
    assert.equal(await proc.waitForExit(), 0, proc.stderr);
    const lines = proc.lines;
    assert.ok(lines.includes('Blocks belong to accounts: log in to see or change yours.'), proc.output);
    const from = lines.indexOf(`You now block ${pest}.`);
    assert.ok(from > 0, proc.output);
    assert.deepEqual(lines.slice(from, from + 4), [`You now block ${pest}.`, `You block: ${pest}`, `You no longer block ${pest}.`, 'You have blocked no one.']);
    assert.ok(!lines.some((l) => l.startsWith('Blocked:')), proc.output);
  } finally {
    proc.kill();
    await spare.client.close();
  }
});

test('/blocks in a fresh session asks the server: blocks made in an earlier session are listed, sorted; none: "You have blocked no one."', TEST_TIMEOUT, async () => {
  const pests = await Promise.all(['FoeB', 'FoeA'].map(async (stem) => {
    const spare = await TestClient.welcomed(server.port);
    const identity = `${stem}${suffix}`;
    spare.client.send({ type: 'identitychange', identity });
    await spare.client.waitFor((m) => m.type === 'newidentity' && m.identity === identity);
    return { client: spare.client, identity };
  }));
  const user = `fbk${suffix}`;
  const clean = `fcl${suffix}`;
  const run = async (lines: string[]): Promise<string[]> => {
    // A config dir of its own each time: no saved login, no state carried over by the client.
    const proc = TerminalClient.start(target, [], { configDir: fs.mkdtempSync(path.join(root, 'fresh-blocks-')), input: lines.join('\n') + '\n' });
    try {
      assert.equal(await proc.waitForExit(), 0, proc.stderr + proc.output);
      return proc.lines;
    } finally {
      proc.kill();
    }
  };
  try {
    // The first session blocks two names (in the reverse of their sorted order), then ends.
    const first = await run([`/register ${user} pw-blocker-2`, `/login ${user} pw-blocker-2`, ...pests.map((p) => `/block ${p.identity}`)]);
    assert.ok(first.includes(`You now block ${pests[1]!.identity}.`), first.join('\n'));
    // A new session: the client knows nothing; the server has the list.
    const second = await run([`/login ${user} pw-blocker-2`, '/blocks']);
    const sorted = pests.map((p) => p.identity).sort();
    assert.ok(second.includes(`You block: ${sorted.join(', ')}`), second.join('\n'));
    assert.ok(!second.some((l) => /not known yet/.test(l)), second.join('\n'));
    // An account that never blocked anyone.
    const third = await run([`/register ${clean} pw-blocker-3`, `/login ${clean} pw-blocker-3`, '/blocks']);
    assert.ok(third.includes('You have blocked no one.'), third.join('\n'));
  } finally {
    await Promise.all(pests.map((p) => p.client.close()));
  }
});

test('passwords: asked for when left out (piped: the next line), never echoed or logged', TEST_TIMEOUT, async () => {
  const dir = fs.mkdtempSync(path.join(root, 'secret-'));
  const log = path.join(dir, 'session.log');
  const name = `sec${suffix}`;
  const proc = TerminalClient.start(target, ['--log', log], { configDir: dir, input: `/register ${name}\nhidden-pw-1\n/login ${name}\nhidden-pw-1\n` });
  try {
    assert.equal(await proc.waitForExit(), 0, proc.stderr);
    assert.ok(proc.lines.includes(`Registered ${name}`), proc.output);
    assert.ok(proc.lines.includes(`Logged in as ${name}`), proc.output);
    assert.doesNotMatch(proc.output + fs.readFileSync(log, 'utf8'), /hidden-pw-1/);
  } finally {
    proc.kill();
  }
});

test('a plain client pointed at the TLS port is told to use --tls, exit 1', TEST_TIMEOUT, async () => {
  const certDir = path.join(root, 'cert');
  const bin = path.resolve(__dirname, '..', '..', '..', 'bin', 'switchboard.js');
  const { spawnSync } = await import('node:child_process');
  assert.equal(spawnSync(process.execPath, [bin, 'cert', '--out', certDir], { encoding: 'utf8', timeout: 30_000 }).status, 0);
  const tlsServer = await startServer({ args: ['--tls-port', '0', '--tls-cert', path.join(certDir, 'cert.pem'), '--tls-key', path.join(certDir, 'key.pem')] });
  const proc = TerminalClient.start(`127.0.0.1:${tlsServer.tlsPort}`, [], {});
  try {
    assert.equal(await proc.waitForExit(), 1, proc.output);
    assert.match(proc.output, /speaks TLS on this port\. Connect to it with --tls \(and --ca FILE if its certificate is self-signed\)/);
    assert.doesNotMatch(proc.output, /reconnecting/i);
  } finally {
    proc.kill();
    await tlsServer.stop();
  }
});

test('interactive: hidden password prompt, masked echo and history, timestamps, recall replaced in place, bell on a mention', TEST_TIMEOUT, async (t) => {
  if (missingPrerequisite(t, hasScript, 'util-linux `script` is not installed')) return;
  const dir = fs.mkdtempSync(path.join(root, 'tty-'));
  const name = `tty${suffix}`;
  const tty = TerminalClient.start(target, ['--notify', 'bell'], { cols: 120, configDir: dir });
  const other = await TestClient.welcomed(server.port);
  try {
    await tty.waitFor(/\[MainHall\] guest\d+>$/);
    // Left out, the password is asked for: what is typed is not echoed.
    tty.write(`/register ${name}\r`);
    await tty.waitFor(new RegExp(`Password for ${name}:$`));
    tty.write('typed-secret-1\r');
    await tty.waitFor(new RegExp(`\\d\\d:\\d\\d Registered ${name}\\n`));
    // Given inline, it is masked on screen once entered...
    tty.write(`/login ${name} inline-secret-2\r`);
    await tty.waitFor(/\d\d:\d\d Wrong username or password\. \(BAD_CREDENTIALS\)\n/);
    assert.match(tty.text(), new RegExp(`> /login ${name} \\*{8}\\n`));
    // ...and Up brings back the line without it.
    tty.write('\x1b[A');
    await tty.waitFor(new RegExp(`> /login ${name}$`));
    tty.write('\r'); // recalled without its password: asked for again, hidden
    await tty.waitFor(new RegExp(`Password for ${name}:$`));
    tty.write('typed-secret-1\r');
    await tty.waitFor(new RegExp(`\\d\\d:\\d\\d Logged in as ${name}\\n`));
    // Never on the screen; the hidden one never even written to the terminal.
    assert.doesNotMatch(tty.text(), /typed-secret-1|inline-secret-2/);
    assert.doesNotMatch(tty.output, /typed-secret-1/);

    // Someone else says our name: the bell rings; then recalls nothing of ours but owns nothing: their own line.
    const before = tty.output.length;
    other.client.send({ type: 'message', content: `hello ${name}, are you there?` });
    await tty.waitFor(new RegExp(`\\d\\d:\\d\\d ${escape(other.identity)}: hello ${name}, are you there\\?`));
    for (let i = 0; i < 40 && !tty.output.slice(before).includes('\x07'); i++) await new Promise((r) => setTimeout(r, 50));
    assert.ok(tty.output.slice(before).includes('\x07'), 'a mention rings the bell');

    // A message of ours, recalled: replaced where it stands, for us (and by the same id for others).
    tty.write('to be recalled\r');
    const short = (await tty.waitFor(new RegExp(`${name}: to be recalled \\[([0-9a-f]{8})\\]`)))[1]!;
    const seen = await other.client.waitFor((m) => m.type === 'message' && m.content === 'to be recalled');
    tty.write('after it\r');
    await tty.waitFor(new RegExp(`${name}: after it`));
    tty.write(`/recall ${short}\r`);
    await other.client.waitFor((m) => m.type === 'recalled' && m.id === seen.id);
    await tty.waitFor(new RegExp(`${name}: \\(message recalled by ${name}\\) \\[${short}\\]\\n`));
    assert.doesNotMatch(tty.text(), /: to be recalled/);
    assert.match(tty.text(), new RegExp(`${name}: after it`));

    tty.write('/quit\r');
    assert.equal(await tty.waitForExit(), 0, tty.stderr);
    assert.match(tty.text(), /Disconnected \(you quit\)$/);
    assert.doesNotMatch(tty.text(), /Disconnected by server/);
  } finally {
    tty.kill();
    await other.client.close();
  }
});

test('interactive: another user\'s recalled line is replaced too; /help lists every command; Tab completes', TEST_TIMEOUT, async (t) => {
  if (missingPrerequisite(t, hasScript, 'util-linux `script` is not installed')) return;
  const tty = TerminalClient.start(target, ['--no-timestamps'], { cols: 120 });
  const speaker = await TestClient.welcomed(server.port);
  const sname = `spk${suffix}`;
  try {
    speaker.client.send({ type: 'register', username: sname, password: 'pw-speaker-1' });
    await speaker.client.waitFor((m) => m.type === 'registered');
    speaker.client.send({ type: 'login', username: sname, password: 'pw-speaker-1' });
    await speaker.client.waitFor((m) => m.type === 'loggedin');
    await tty.waitFor(/\[MainHall\] guest\d+>$/);
    speaker.client.send({ type: 'message', content: 'oops, wrong window' });
    const said = await speaker.client.waitFor((m) => m.type === 'message' && m.content === 'oops, wrong window');
    await tty.waitFor(/: oops, wrong window\n/);
    speaker.client.send({ type: 'recall', id: said.id });
    await tty.waitFor(new RegExp(`${sname}: \\(message recalled by ${sname}\\) \\[[^\\]]{8}\\]\\n`));
    assert.doesNotMatch(tty.text(), /oops, wrong window/);

    // Tab completes names seen (and rooms, and commands).
    tty.write(`${sname.slice(0, 4)}\t`);
    await tty.waitFor(new RegExp(`> ${sname}$`));
    tty.write('\x15'); // Ctrl-U: clear the line

    // PageUp pages back from the last history read.
    tty.write('/history 1\r');
    await tty.waitFor(/History of MainHall: 1 message\n/);
    tty.write('\x1b[5~');
    await tty.waitFor(/History of MainHall: \d+ messages?\n[^]*History of MainHall: \d+ messages?\n|You are at the start of MainHall/);

    tty.write('/hel\t');
    await tty.waitFor(/> \/help$/);
    tty.write('\r');
    await tty.waitFor(/In a room's member list, \* after a name marks the room's owner\./);
    for (const cmd of ['/say TEXT', '/who [ROOM]', '/online', '/dms', '/more', '/blocks', '/help [COMMAND]', '/register USER [PASS]']) {
      assert.ok(tty.text().includes(cmd), cmd);
    }
    tty.write('\x03'); // Ctrl-C
    assert.equal(await tty.waitForExit(), 0, tty.stderr);
    assert.match(tty.text(), /Disconnected \(Ctrl-C\)$/);
  } finally {
    tty.kill();
    await speaker.client.close();
  }
});

test('interactive: after a server shutdown one status line updates in place, then a final message', TEST_TIMEOUT, async (t) => {
  if (missingPrerequisite(t, hasScript, 'util-linux `script` is not installed')) return;
  const own = await startServer({});
  const tty = TerminalClient.start(`127.0.0.1:${own.port}`, ['--retries', '3', '--retry-max-ms', '200', '--no-timestamps'], { cols: 120 });
  try {
    await tty.waitFor(/\[MainHall\] guest\d+>$/);
    await own.stop();
    assert.equal(await tty.waitForExit(20_000), 2, tty.stderr);
    const screen = tty.text();
    assert.equal((screen.match(/retrying in|reconnecting in/g) ?? []).length, 1, `one status line, updated:\n${screen}`);
    assert.match(screen, /Reconnect failed \(ECONNREFUSED\); retrying in \d\.\ds… \(attempt 3 of 3\)\n/);
    assert.match(screen, new RegExp(`Gave up reconnecting to 127\\.0\\.0\\.1:${own.port} after 3 attempts \\(last: ECONNREFUSED\\)\\.$`));
  } finally {
    tty.kill();
    await own.stop();
  }
});

test('/dms lists conversations with unread counts; /online shows every room\'s members; others\' recalls are said (piped)', TEST_TIMEOUT, async () => {
  const dir = fs.mkdtempSync(path.join(root, 'dms-'));
  const me = `dmu${suffix}`;
  const friend = `frd${suffix}`;
  const raw = await TestClient.welcomed(server.port);
  raw.client.send({ type: 'register', username: friend, password: 'pw-friend-1' });
  await raw.client.waitFor((m) => m.type === 'registered');
  raw.client.send({ type: 'login', username: friend, password: 'pw-friend-1' });
  await raw.client.waitFor((m) => m.type === 'loggedin');
  // The account, with the friend on its contact list, made beforehand by another device.
  const device = await TestClient.welcomed(server.port);
  device.client.send({ type: 'register', username: me, password: 'pw-dm-user-1' });
  await device.client.waitFor((m) => m.type === 'registered');
  device.client.send({ type: 'login', username: me, password: 'pw-dm-user-1' });
  await device.client.waitFor((m) => m.type === 'loggedin');
  device.client.send({ type: 'contacts', action: 'add', username: friend });
  await device.client.waitFor((m) => m.type === 'contacts');
  await device.client.close();
  const proc = TerminalClient.start(target, [], { configDir: dir });
  try {
    proc.type(`/login ${me} pw-dm-user-1`);
    await proc.next(`Logged in as ${me}`);
    proc.type('/dms');
    await proc.next('No direct message conversations yet in this session (/msg USER TEXT starts one).');
    raw.client.send({ type: 'dm', to: me, content: 'one' });
    raw.client.send({ type: 'dm', to: me, content: 'two' });
    await proc.next(`[dm] ${friend} -> ${me}: two`);
    proc.type('/dms');
    await proc.next('Direct message conversations (most recent first):');
    await proc.next(`  ${friend}: 2 unread (/dmhistory ${friend})`);
    proc.type(`/msg ${friend} back at you`);
    await proc.next(new RegExp(`^\\[dm\\] ${me} -> ${friend}: back at you`));
    proc.type('/dms');
    await proc.next(`  ${friend}: nothing unread (/dmhistory ${friend})`);

    proc.type('/online');
    await proc.next('Your contacts, then who is online, room by room:');
    await proc.next(new RegExp(`^Contacts: ${friend} \\(online`));
    await proc.next(/^Rooms: MainHall \d+/);
    await proc.next(new RegExp(`^MainHall contains .*\\b${me}\\b.*\\b${friend}\\b|^MainHall contains .*\\b${friend}\\b.*\\b${me}\\b`));

    raw.client.send({ type: 'message', content: 'not meant for you' });
    const said = await raw.client.waitFor((m) => m.type === 'message' && m.content === 'not meant for you');
    await proc.next(`${friend}: not meant for you`);
    raw.client.send({ type: 'recall', id: said.id });
    await proc.next(new RegExp(`^${friend} recalled their message of \\d\\d:\\d\\d \\[${escape(String(said.id).slice(-8))}\\]$`));
    assert.equal(await proc.finish(), 0, proc.stderr);
  } finally {
    proc.kill();
    await raw.client.close();
  }
});

test('interactive: colours on a terminal (an error in red), none with NO_COLOR', TEST_TIMEOUT, async (t) => {
  if (missingPrerequisite(t, hasScript, 'util-linux `script` is not installed')) return;
  const coloured = TerminalClient.start(target, ['--no-timestamps'], { cols: 120 });
  const plain = TerminalClient.start(target, ['--no-timestamps'], { cols: 120, env: { NO_COLOR: '1' } });
  try {
    for (const tty of [coloured, plain]) {
      await tty.waitFor(/\[MainHall\] guest\d+>$/);
      tty.write('/nosuchcommand\r');
      await tty.waitFor(/Unknown command \/nosuchcommand/);
    }
    assert.match(coloured.output, /\x1b\[31mUnknown command \/nosuchcommand/);
    assert.doesNotMatch(plain.output, /\x1b\[(?:\d+;)*(?:3\d|9\d|1|2)m/);
  } finally {
    coloured.kill();
    plain.kill();
  }
});
