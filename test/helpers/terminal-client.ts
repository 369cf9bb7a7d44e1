import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * Test harness: the real `switchboard connect` as a child process, its output collected. By
 * default in line mode (stdin a pipe), its output read line by line in order (`next`) or as a
 * whole (`waitFor`); with `cols`, interactive on a pseudo-terminal of that width (made by
 * util-linux `script`), its output read as the screen it draws (`text`, `waitFor`). Each client
 * gets its own config directory unless it is given one, so saved logins never cross between
 * clients or reach the user's own; a directory of its own is removed when the client exits. A
 * client still running when the test process exits is killed by its pid.
 */

const BIN = path.resolve(__dirname, '..', '..', '..', 'bin', 'switchboard.js');

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const p of running) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
});

/** Where a client connects: `HOST:PORT`, or a Unix socket (`--unix PATH`). */
export type Target = string | { unix: string };

export interface StartOptions {
  /**
   * The config directory to use (`--config-dir`) and keep, e.g. for a saved login reused by the
   * next client; by default a fresh one, removed when the client exits.
   */
  configDir?: string;
  /** Written to the input, which is then ended: a scripted session. */
  input?: string;
  /** Run interactive, on a pseudo-terminal of this many columns (see `terminalAvailable`). */
  cols?: number;
  /** Variables added to the client's environment (e.g. `NO_COLOR`). */
  env?: NodeJS.ProcessEnv;
  /** The client's working directory (where `/get ID` saves); the test's by default. */
  cwd?: string;
}

/** Whether clients can run on a pseudo-terminal (`cols`): util-linux `script` is installed. */
export function terminalAvailable(): boolean {
  return spawnSync('script', ['--version'], { encoding: 'utf8' }).stdout?.includes('util-linux') === true;
}

export class TerminalClient {
  output = '';
  stderr = '';
  readonly exited: Promise<number | null>;
  /** Lines before this index have been matched by `next` already. */
  private cursor = 0;
  private wake: (() => void) | null = null;

  /** @param cols the terminal width when the output goes to a pseudo-terminal, else null */
  private constructor(
    readonly child: ChildProcess,
    private readonly cols: number | null,
  ) {
    running.add(child);
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (d: string) => {
      this.output += d;
      this.wake?.();
    });
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (d: string) => (this.stderr += d));
    child.stdin!.on('error', () => undefined); // the client may be gone before we stop writing
    this.exited = new Promise((resolve) =>
      child.once('exit', (code) => {
        running.delete(child);
        this.wake?.();
        resolve(code);
      }),
    );
  }

  /** Starts `switchboard connect TARGET ...args`. */
  static start(target: Target, args: string[] = [], options: StartOptions = {}): TerminalClient {
    const configDir = options.configDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'sb-term-client-'));
    const where = typeof target === 'string' ? [target] : ['--unix', target.unix];
    const argv = [BIN, 'connect', ...where, '--config-dir', configDir, ...args];
    const spawnOptions: SpawnOptions = { stdio: 'pipe', env: { ...process.env, XDG_CONFIG_HOME: configDir, ...options.env }, ...(options.cwd ? { cwd: options.cwd } : {}) };
    const { cols } = options;
    let child: ChildProcess;
    if (cols === undefined) {
      child = spawn(process.execPath, argv, spawnOptions);
    } else {
      const command = [`stty cols ${cols} rows 50;`, 'exec', ...[process.execPath, ...argv].map(shellQuote)].join(' ');
      child = spawn('script', ['-qfec', command, '/dev/null'], spawnOptions);
    }
    const client = new TerminalClient(child, cols ?? null);
    if (options.configDir === undefined) void client.exited.then(() => fs.rmSync(configDir, { recursive: true, force: true }));
    if (options.input !== undefined) child.stdin!.end(options.input);
    return client;
  }

  /** The complete lines shown so far (line mode). */
  get lines(): string[] {
    return this.output.split('\n').slice(0, -1);
  }

  /** What is shown: the output, or on a pseudo-terminal the screen drawn (trailing blanks cut). */
  text(): string {
    return this.cols === null ? this.output : renderScreen(this.output, this.cols).join('\n').trimEnd();
  }

  /** Types one line. */
  type(line: string): void {
    this.child.stdin!.write(line + '\n');
  }

  /** Types `text` as it is: no newline added (on a pseudo-terminal, `\r` is Enter). */
  write(text: string): void {
    this.child.stdin!.write(text);
  }

  /**
   * Waits for the next line (after those matched before) that is `expected` or matches it;
   * returns the match. Lines skipped on the way stay skipped. Line mode.
   */
  async next(expected: string | RegExp, timeoutMs = 10_000): Promise<RegExpMatchArray> {
    const pattern = typeof expected === 'string' ? new RegExp(`^${escape(expected)}$`) : expected;
    const find = (): RegExpMatchArray | null => {
      const lines = this.lines;
      for (let i = this.cursor; i < lines.length; i++) {
        const match = lines[i]!.match(pattern);
        if (match) {
          this.cursor = i + 1;
          return match;
        }
      }
      return null;
    };
    return this.poll(find, timeoutMs, () => `no line ${pattern} after those matched; since then:\n${this.unread.join('\n')}`);
  }

  /**
   * Waits until everything shown (`text()`) matches `pattern`, which may span lines; returns
   * the match. Independent of `next`: it moves no cursor.
   */
  async waitFor(pattern: RegExp, timeoutMs = 10_000): Promise<RegExpMatchArray> {
    return this.poll(() => this.text().match(pattern), timeoutMs, () => `no ${pattern} in output:\n${this.text()}`);
  }

  /** The lines after those matched so far (what `next` has not reached). */
  get unread(): string[] {
    return this.lines.slice(this.cursor);
  }

  /** Ends the input and waits for the exit, killing the process if it takes too long. */
  async finish(timeoutMs = 10_000): Promise<number | null> {
    this.child.stdin!.end();
    return this.waitForExit(timeoutMs);
  }

  /**
   * Waits for the exit with the input left as it is (the client is to end by itself, e.g. on
   * `#quit` or a disconnect), killing the process if it takes too long.
   */
  async waitForExit(timeoutMs = 10_000): Promise<number | null> {
    const timer = setTimeout(() => this.kill(), timeoutMs);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }

  /** Calls `find` until it finds something, as output arrives; fails on timeout or exit. */
  private async poll<T>(find: () => T | null, timeoutMs: number, failure: () => string): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = find();
      if (found !== null) return found;
      const left = deadline - Date.now();
      if (left <= 0 || this.child.exitCode !== null || this.child.signalCode !== null) {
        throw new Error(`${failure()}\nstderr:\n${this.stderr}`);
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
}

export function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

const shellQuote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

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
