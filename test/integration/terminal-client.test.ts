// `switchboard connect` against the real server: scripted (stdin a pipe) and interactive
// (under a pseudo-terminal made by util-linux `script`). Every process started here is killed
// by its pid if it outlives its test.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { missingPrerequisite } from '../helpers/prerequisite';
import { startServer, type RunningServer } from '../helpers/server';
import { escape, TerminalClient, terminalAvailable } from '../helpers/terminal-client';

const TEST_TIMEOUT = { timeout: 45_000 };
const hasScript = terminalAvailable();

const suffix = String(process.pid % 100_000);
/** Our own messages end with the short form of their id, when the server gives one. */
const OWN_ID = '(?: \\[[^\\]]{1,8}\\])?';
let server: RunningServer;
let socketDir: string;
let unixSocket: string;

before(async () => {
  socketDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sb-term-'));
  unixSocket = path.join(socketDir, 'sb.sock');
  server = await startServer({ args: ['--workers', '2', '--unix-socket', unixSocket] });
});

after(async () => {
  await server?.stop();
  fs.rmSync(socketDir, { recursive: true, force: true });
});

test('a scripted session: every command, in order, then quit at end of input', TEST_TIMEOUT, async () => {
  const room = 'Room' + suffix;
  const name = 'Name' + suffix;
  const logFile = path.join(socketDir, 'session.log');
  const target = `127.0.0.1:${server.port}`;
  const input = [
    `#createroom ${room}`,
    `/join ${room}`,
    'hello',
    `#who ${room}`,
    `#identitychange ${name}`,
    '#identitychange 1x',
    `#join Nowhere${suffix}`,
    '#who',
    '#join MainHall',
    `#delete ${room}`,
  ].join('\n');
  const proc = TerminalClient.start(target, ['--log', logFile], { input: input + '\n' });
  try {
    // The refused identity change and join: exit code 3 (a command was refused).
    assert.equal(await proc.waitForExit(), 3, proc.stderr);
    const lines = proc.lines;
    const id = /^Connected to 127\.0\.0\.1:\d+ as (guest\d+)$/.exec(lines[0] ?? '')?.[1];
    assert.ok(id, lines.join('\n'));
    // Others may be in MainHall (earlier clients still leaving): those lines are matched loosely.
    const expected: Array<string | RegExp> = [
      `Connected to ${target} as ${id}`,
      `${id} moves to MainHall`,
      /^Rooms: MainHall \d+/,
      new RegExp(`^MainHall contains .*\\b${id}\\b`),
      new RegExp(`^Rooms: .*\\b${room} 0\\b`),
      `Room ${room} created; you are its owner.`,
      `${id} moves from MainHall to ${room}`,
      new RegExp(`^${id}: hello${OWN_ID}$`),
      `${room} contains ${id}* (* owner)`,
      `${id} is now ${name}`,
      '1x cannot be a name: a letter, then 2 to 15 letters or digits.',
      `There is no room named Nowhere${suffix} (/list shows the rooms; /createroom Nowhere${suffix} makes one).`,
      new RegExp(`^${room} contains ${name}\\* \\(\\* owner\\)$`),
      `${name} moves from ${room} to MainHall`,
      /^Rooms: MainHall \d+/,
      new RegExp(`^MainHall contains .*\\b${name}\\b`),
      new RegExp(`^Rooms: (?!.*\\b${room}\\b)`),
      `Room ${room} deleted.`,
      `${name} leaves MainHall`,
      'Disconnected (end of input)',
    ];
    assert.equal(lines.length, expected.length, lines.join('\n'));
    expected.forEach((want, i) => {
      if (typeof want === 'string') assert.equal(lines[i], want);
      else assert.match(lines[i]!, want);
    });

    const log = fs.readFileSync(logFile, 'utf8');
    assert.match(log, /^\d{4}-\d\d-\d\dT[\d:.]+Z --- connected to 127\.0\.0\.1:\d+$/m);
    assert.match(log, new RegExp(`Z in #createroom ${room}$`, 'm'));
    assert.match(log, new RegExp(`Z out ${id}: hello${OWN_ID}$`, 'm'));
    assert.match(log, /Z --- session ended, exit code 3$/m);
  } finally {
    proc.kill();
  }
});

test('over the Unix socket', TEST_TIMEOUT, async () => {
  const proc = TerminalClient.start({ unix: unixSocket }, [], { input: 'via unix\n' });
  try {
    assert.equal(await proc.waitForExit(), 0, proc.stderr);
    const lines = proc.lines;
    assert.match(lines[0]!, new RegExp(`^Connected to ${escape(unixSocket)} as guest\\d+$`));
    assert.match(lines.join('\n'), new RegExp(`\\nguest\\d+: via unix${OWN_ID}\\n`));
    assert.equal(lines.at(-1), 'Disconnected (end of input)');
  } finally {
    proc.kill();
  }
});

test('interactive: the prompt and the partly typed line survive incoming events', TEST_TIMEOUT, async (t) => {
  if (missingPrerequisite(t, hasScript, 'util-linux `script` is not installed')) return;
  const target = `127.0.0.1:${server.port}`;
  const tty = TerminalClient.start(target, ['--no-timestamps'], { cols: 100 });
  let other: TerminalClient | null = null;
  try {
    const id = (await tty.waitFor(/Connected to 127\.0\.0\.1:\d+ as (guest\d+)/))[1]!;
    const prompt = `[MainHall] ${id}>`;
    await tty.waitFor(new RegExp(`\\n${escape(prompt)}$`));

    tty.write('hel');
    await tty.waitFor(new RegExp(`\\n${escape(prompt)} hel$`));

    // Another client comes in, speaks and leaves while "hel" is being typed: each event is
    // printed above the prompt, which is redrawn with the partial input, never left behind.
    other = TerminalClient.start(target, [], { input: 'ping from B\n' });
    assert.equal(await other.waitForExit(), 0, other.stderr);
    const otherId = /as (guest\d+)$/.exec(other.lines[0] ?? '')![1]!;
    await tty.waitFor(new RegExp(`${otherId} leaves MainHall\\n`));
    const screen = tty.text().split('\n');
    // The prompt is the status line: B's message is unread until we type a line.
    const unreadPrompt = `[MainHall] ${id} (unread: MainHall 1)>`;
    assert.deepEqual(screen.slice(-4), [
      `${otherId} moves to MainHall`,
      `${otherId}: ping from B`,
      `${otherId} leaves MainHall`,
      `${unreadPrompt} hel`,
    ]);
    assert.equal(screen.filter((l) => l.startsWith('[')).length, 1, screen.join('\n'));

    tty.write('lo\r');
    await tty.waitFor(new RegExp(`\\n${escape(unreadPrompt)} hello\\n${id}: hello${OWN_ID}\\n${escape(prompt)}$`));

    const name = 'Tty' + suffix;
    tty.write(`#identitychange ${name}\r`);
    await tty.waitFor(new RegExp(`\\n${id} is now ${name}\\n\\[MainHall\\] ${name}>$`));

    tty.write('#join\r');
    await tty.waitFor(/\nusage: #join ROOM\n\[MainHall\] \w+( \(unread: [^)]*\))?>$/);

    tty.write('#quit\r');
    assert.equal(await tty.waitForExit(), 0, tty.stderr);
    const lines = tty.text().split('\n').filter((l) => l !== '');
    assert.deepEqual(lines.slice(-3), [`[MainHall] ${name}> #quit`, `${name} leaves MainHall`, 'Disconnected (you quit)']);
  } finally {
    tty.kill();
    other?.kill();
  }
});

test('interactive: a partial line wrapped over several rows is redrawn whole', TEST_TIMEOUT, async (t) => {
  if (missingPrerequisite(t, hasScript, 'util-linux `script` is not installed')) return;
  const target = `127.0.0.1:${server.port}`;
  const tty = TerminalClient.start(target, ['--no-timestamps'], { cols: 30 });
  let other: TerminalClient | null = null;
  try {
    const id = (await tty.waitFor(/Connected to [^]*?(guest\d+)/))[1]!; // wrapped at 30 columns
    const prompt = `[MainHall] ${id}>`;
    await tty.waitFor(new RegExp(`\\n${escape(prompt)}$`));
    const typed = 'abcdefghijklmnopqrstuvwxyz0123456789';
    tty.write(typed);
    const rows = `${prompt} ${typed}`.match(/.{1,30}/g)!;
    await tty.waitFor(new RegExp(`\\n${rows.map(escape).join('\\n')}$`));

    other = TerminalClient.start(target, [], { input: 'wrapped?\n' });
    await other.waitForExit();
    const otherId = /as (guest\d+)$/.exec(other.lines[0] ?? '')![1]!;
    await tty.waitFor(new RegExp(`${otherId} leaves MainHall\\n`));
    // Redrawn with the prompt that now counts the unread message.
    const rowsNow = `[MainHall] ${id} (unread: MainHall 1)> ${typed}`.match(/.{1,30}/g)!;
    assert.deepEqual(tty.text().split('\n').slice(-(3 + rowsNow.length)), [
      `${otherId} moves to MainHall`,
      `${otherId}: wrapped?`,
      `${otherId} leaves MainHall`,
      ...rowsNow,
    ]);
    tty.write('\x03'); // Ctrl-C quits too
    assert.equal(await tty.waitForExit(), 0, tty.stderr);
  } finally {
    tty.kill();
    other?.kill();
  }
});

test('the server closing the connection: the reason, exit code 2', TEST_TIMEOUT, async () => {
  // The server refuses lines over --max-line-bytes (64 KiB by default) and disconnects.
  const proc = TerminalClient.start(`127.0.0.1:${server.port}`);
  try {
    await proc.waitFor(/MainHall contains/);
    proc.write('x'.repeat(70_000) + '\n');
    assert.equal(await proc.waitForExit(), 2);
    const lines = proc.lines;
    assert.match(lines.at(-2)!, /^error [A-Z_]+: /);
    assert.match(lines.at(-1)!, /^Disconnected by server: .+ \([A-Z_]+\)$/);
  } finally {
    proc.kill();
  }
});

test('the server stopping under a connected client, --no-reconnect: exit code 2', TEST_TIMEOUT, async () => {
  const doomed = await startServer({ args: ['--workers', '1'] });
  const proc = TerminalClient.start(`127.0.0.1:${doomed.port}`, ['--no-reconnect']);
  try {
    await proc.waitFor(/MainHall contains/);
    await doomed.stop();
    assert.equal(await proc.waitForExit(), 2);
    assert.match(proc.lines.at(-1)!, /^Disconnected by server/);
  } finally {
    proc.kill();
    await doomed.stop();
  }
});

test('an unreachable server: a message on stderr, exit code 1', TEST_TIMEOUT, async () => {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as net.AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  const proc = TerminalClient.start(`127.0.0.1:${port}`, [], { input: 'hello\n' });
  try {
    assert.equal(await proc.waitForExit(), 1);
    assert.equal(proc.output, '');
    assert.match(proc.stderr, new RegExp(`^cannot connect to 127\\.0\\.0\\.1:${port}: ECONNREFUSED `));
  } finally {
    proc.kill();
  }
});
