// `switchboard connect` against the real server: scripted (stdin a pipe) and interactive
// (under a pseudo-terminal made by util-linux `script`). Every process started here is killed
// by its pid if it outlives its test.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { startServer, type RunningServer } from '../helpers/server';

const BIN = path.resolve(__dirname, '..', '..', '..', 'bin', 'switchboard.js');
const WAIT_MS = 10_000;
const TEST_TIMEOUT = { timeout: 45_000 };

const started = new Set<ChildProcess>();
process.on('exit', () => {
  for (const p of started) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
});

const ANSI = /\x1b\[[0-9;?]*[A-Za-z]/g;
const plain = (text: string): string => text.replace(ANSI, '').replace(/\r/g, '');

/**
 * What a terminal of `cols` columns shows after `raw`: just enough of a VT100 (printing with
 * wrap, CR, LF, cursor moves, erase below / erase line) for what readline writes.
 */
function renderScreen(raw: string, cols: number): string[] {
  const rows: string[][] = [[]];
  let r = 0;
  let c = 0;
  const row = (): string[] => {
    while (rows.length <= r) rows.push([]);
    return rows[r]!;
  };
  for (let i = 0; i < raw.length; i++) {
    const ch = raw[i]!;
    const csi = ch === '\x1b' ? /^\x1b\[([0-9;?]*)([A-Za-z])/.exec(raw.slice(i, i + 16)) : null;
    if (csi) {
      i += csi[0].length - 1;
      const n = parseInt(csi[1]!, 10);
      switch (csi[2]) {
        case 'A': r = Math.max(0, r - (n || 1)); break;
        case 'B': r += n || 1; break;
        case 'C': c = Math.min(cols - 1, c + (n || 1)); break;
        case 'D': c = Math.max(0, c - (n || 1)); break;
        case 'G': c = Math.min(cols, n || 1) - 1; break;
        case 'J': if (!n) { row().length = Math.min(row().length, c); rows.length = r + 1; } break;
        case 'K': if (!n) row().length = Math.min(row().length, c); else if (n === 2) row().length = 0; break;
        default: break; // modes, colours: no effect on the text
      }
    } else if (ch === '\r') {
      c = 0;
    } else if (ch === '\n') {
      r++;
    } else if (ch >= ' ') {
      if (c >= cols) {
        r++;
        c = 0;
      }
      row()[c++] = ch;
    }
  }
  return rows.map((cells) => Array.from(cells, (x) => x ?? ' ').join('').trimEnd());
}

/** A child process whose output is collected, with waits on it. */
class Proc {
  output = '';
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private wake: (() => void) | null = null;

  /** @param cols the terminal width when the output goes to a (pseudo-)terminal */
  constructor(
    readonly child: ChildProcess,
    private readonly cols: number | null = null,
  ) {
    started.add(child);
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (d: string) => {
      this.output += d;
      this.wake?.();
    });
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (d: string) => (this.stderr += d));
    child.stdin!.on('error', () => undefined); // the client may be gone before we stop writing
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        started.delete(child);
        this.wake?.();
        resolve({ code, signal });
      }),
    );
  }

  write(text: string): void {
    this.child.stdin!.write(text);
  }

  /** The output as text: what the terminal shows (trailing blanks cut), or ANSI-stripped. */
  text(): string {
    return this.cols === null ? plain(this.output) : renderScreen(this.output, this.cols).join('\n').trimEnd();
  }

  /** Waits until `text()` matches; returns the match. */
  async waitFor(pattern: RegExp, timeoutMs = WAIT_MS): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const match = this.text().match(pattern);
      if (match) return match;
      const left = deadline - Date.now();
      if (left <= 0 || this.child.exitCode !== null) {
        throw new Error(`no ${pattern} in output:\n${this.text()}\nstderr:\n${this.stderr}`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 200));
        this.wake = () => {
          clearTimeout(timer);
          this.wake = null;
          resolve();
        };
      });
    }
  }

  /** Waits for the exit (killing the process if it takes longer than `timeoutMs`). */
  async finish(timeoutMs = WAIT_MS): Promise<{ code: number | null; lines: string[] }> {
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    const { code } = await this.exited;
    clearTimeout(timer);
    return { code, lines: this.text().split('\n').filter((l) => l !== '') };
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}

// Saved logins (none are made here) are looked for in a directory of this run, not the user's.
const configHome = fs.mkdtempSync(path.join(os.tmpdir(), 'sb-term-cfg-'));
process.on('exit', () => fs.rmSync(configHome, { recursive: true, force: true }));
const clientEnv = { ...process.env, XDG_CONFIG_HOME: configHome };

/** `switchboard connect ARGS` with stdin a pipe (line mode). */
function connect(args: string[], input?: string): Proc {
  const proc = new Proc(spawn(process.execPath, [BIN, 'connect', ...args], { stdio: ['pipe', 'pipe', 'pipe'], env: clientEnv }));
  if (input !== undefined) proc.child.stdin!.end(input);
  return proc;
}

const hasScript = spawnSync('script', ['--version'], { encoding: 'utf8' }).stdout?.includes('util-linux') === true;
const shellQuote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** `switchboard connect ARGS` on a pseudo-terminal of `cols` columns, through util-linux `script`. */
function connectTty(args: string[], cols = 100): Proc {
  const command = [`stty cols ${cols} rows 50;`, 'exec', ...[process.execPath, BIN, 'connect', ...args].map(shellQuote)].join(' ');
  return new Proc(spawn('script', ['-qfec', command, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'], env: clientEnv }), cols);
}

const suffix = String(process.pid % 100_000);
const esc = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
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
  const proc = connect([target, '--log', logFile], input + '\n');
  try {
    const { code, lines } = await proc.finish();
    assert.equal(code, 0, proc.stderr);
    const id = /^Connected to 127\.0\.0\.1:\d+ as (guest\d+)$/.exec(lines[0] ?? '')?.[1];
    assert.ok(id, lines.join('\n'));
    // Others may be in MainHall (earlier clients still leaving): those lines are matched loosely.
    const expected: Array<string | RegExp> = [
      `Connected to ${target} as ${id}`,
      `${id} moves to MainHall`,
      /^Rooms: MainHall \d+/,
      new RegExp(`^MainHall contains .*\\b${id}\\b`),
      new RegExp(`^Rooms: .*\\b${room} 0\\b`),
      `${id} moves from MainHall to ${room}`,
      new RegExp(`^${id}: hello${OWN_ID}$`),
      `${room} contains ${id}*`,
      `${id} is now ${name}`,
      'Requested identity invalid or in use',
      'The requested room is invalid or non existent',
      'usage: #who ROOM',
      `${name} moves from ${room} to MainHall`,
      /^Rooms: MainHall \d+/,
      new RegExp(`^MainHall contains .*\\b${name}\\b`),
      new RegExp(`^Rooms: (?!.*\\b${room}\\b)`),
      `${name} leaves MainHall`,
      'Disconnected by server',
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
    assert.match(log, /Z --- session ended, exit code 0$/m);
  } finally {
    proc.kill();
  }
});

test('over the Unix socket', TEST_TIMEOUT, async () => {
  const proc = connect(['--unix', unixSocket], 'via unix\n');
  try {
    const { code, lines } = await proc.finish();
    assert.equal(code, 0, proc.stderr);
    assert.match(lines[0]!, new RegExp(`^Connected to ${esc(unixSocket)} as guest\\d+$`));
    assert.match(lines.join('\n'), new RegExp(`\\nguest\\d+: via unix${OWN_ID}\\n`));
    assert.equal(lines.at(-1), 'Disconnected by server');
  } finally {
    proc.kill();
  }
});

test('interactive: the prompt and the partly typed line survive incoming events', TEST_TIMEOUT, async (t) => {
  if (!hasScript) {
    t.skip('util-linux `script` is not installed');
    return;
  }
  const target = `127.0.0.1:${server.port}`;
  const tty = connectTty([target]);
  let other: Proc | null = null;
  try {
    const id = (await tty.waitFor(/Connected to 127\.0\.0\.1:\d+ as (guest\d+)/))[1]!;
    const prompt = `[MainHall] ${id}>`;
    await tty.waitFor(new RegExp(`\\n${esc(prompt)}$`));

    tty.write('hel');
    await tty.waitFor(new RegExp(`\\n${esc(prompt)} hel$`));

    // Another client comes in, speaks and leaves while "hel" is being typed: each event is
    // printed above the prompt, which is redrawn with the partial input, never left behind.
    other = connect([target], 'ping from B\n');
    const otherResult = await other.finish();
    assert.equal(otherResult.code, 0, other.stderr);
    const otherId = /as (guest\d+)$/.exec(otherResult.lines[0] ?? '')![1]!;
    await tty.waitFor(new RegExp(`${otherId} leaves MainHall\\n`));
    const screen = tty.text().split('\n');
    assert.deepEqual(screen.slice(-4), [
      `${otherId} moves to MainHall`,
      `${otherId}: ping from B`,
      `${otherId} leaves MainHall`,
      `${prompt} hel`,
    ]);
    assert.equal(screen.filter((l) => l.startsWith('[')).length, 1, screen.join('\n'));

    tty.write('lo\r');
    await tty.waitFor(new RegExp(`\\n${esc(prompt)} hello\\n${id}: hello${OWN_ID}\\n${esc(prompt)}$`));

    const name = 'Tty' + suffix;
    tty.write(`#identitychange ${name}\r`);
    await tty.waitFor(new RegExp(`\\n${id} is now ${name}\\n\\[MainHall\\] ${name}>$`));

    tty.write('#join\r');
    await tty.waitFor(/\nusage: #join ROOM\n\[MainHall\] \w+>$/);

    tty.write('#quit\r');
    const { code, lines } = await tty.finish();
    assert.equal(code, 0, tty.stderr);
    assert.deepEqual(lines.slice(-3), [`[MainHall] ${name}> #quit`, `${name} leaves MainHall`, 'Disconnected by server']);
  } finally {
    tty.kill();
    other?.kill();
  }
});

test('interactive: a partial line wrapped over several rows is redrawn whole', TEST_TIMEOUT, async (t) => {
  if (!hasScript) {
    t.skip('util-linux `script` is not installed');
    return;
  }
  const target = `127.0.0.1:${server.port}`;
  const tty = connectTty([target], 30);
  let other: Proc | null = null;
  try {
    const id = (await tty.waitFor(/Connected to [^]*?(guest\d+)/))[1]!; // wrapped at 30 columns
    const prompt = `[MainHall] ${id}>`;
    await tty.waitFor(new RegExp(`\\n${esc(prompt)}$`));
    const typed = 'abcdefghijklmnopqrstuvwxyz0123456789';
    tty.write(typed);
    const rows = `${prompt} ${typed}`.match(/.{1,30}/g)!;
    await tty.waitFor(new RegExp(`\\n${rows.map(esc).join('\\n')}$`));

    other = connect([target], 'wrapped?\n');
    const otherId = /as (guest\d+)$/.exec((await other.finish()).lines[0] ?? '')![1]!;
    await tty.waitFor(new RegExp(`${otherId} leaves MainHall\\n`));
    assert.deepEqual(tty.text().split('\n').slice(-(3 + rows.length)), [
      `${otherId} moves to MainHall`,
      `${otherId}: wrapped?`,
      `${otherId} leaves MainHall`,
      ...rows,
    ]);
    tty.write('\x03'); // Ctrl-C quits too
    assert.equal((await tty.finish()).code, 0, tty.stderr);
  } finally {
    tty.kill();
    other?.kill();
  }
});

test('the server closing the connection: the reason, exit code 2', TEST_TIMEOUT, async () => {
  // The server refuses lines over --max-line-bytes (64 KiB by default) and disconnects.
  const proc = connect([`127.0.0.1:${server.port}`]);
  try {
    await proc.waitFor(/MainHall contains/);
    proc.write('x'.repeat(70_000) + '\n');
    const { code, lines } = await proc.finish();
    assert.equal(code, 2);
    assert.match(lines.at(-2)!, /^error [A-Z_]+: /);
    assert.match(lines.at(-1)!, /^Disconnected by server: .+ \([A-Z_]+\)$/);
  } finally {
    proc.kill();
  }
});

test('the server stopping under a connected client, --no-reconnect: exit code 2', TEST_TIMEOUT, async () => {
  const doomed = await startServer({ args: ['--workers', '1'] });
  const proc = connect([`127.0.0.1:${doomed.port}`, '--no-reconnect']);
  try {
    await proc.waitFor(/MainHall contains/);
    await doomed.stop();
    const { code, lines } = await proc.finish();
    assert.equal(code, 2);
    assert.match(lines.at(-1)!, /^Disconnected by server/);
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
  const proc = connect([`127.0.0.1:${port}`], 'hello\n');
  try {
    const { code } = await proc.finish();
    assert.equal(code, 1);
    assert.equal(proc.output, '');
    assert.match(proc.stderr, new RegExp(`^cannot connect to 127\\.0\\.0\\.1:${port}: ECONNREFUSED `));
  } finally {
    proc.kill();
  }
});
