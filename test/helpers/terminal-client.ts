import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * Test harness: the real `switchboard connect` as a child process in line mode (stdin a pipe),
 * its output read line by line in order. Each client gets its own config directory, so saved
 * logins never cross between clients or reach the user's own; it is removed when the client
 * exits. A client still running when the test process exits is killed by its pid.
 */

const BIN = path.resolve(__dirname, '..', '..', '..', 'bin', 'switchboard.js');

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const p of running) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
});

export class TerminalClient {
  output = '';
  stderr = '';
  readonly exited: Promise<number | null>;
  /** Lines before this index have been matched by `next` already. */
  private cursor = 0;
  private wake: (() => void) | null = null;

  private constructor(readonly child: ChildProcess) {
    running.add(child);
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (d: string) => {
      this.output += d;
      this.wake?.();
    });
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (d: string) => (this.stderr += d));
    child.stdin!.on('error', () => undefined);
    this.exited = new Promise((resolve) =>
      child.once('exit', (code) => {
        running.delete(child);
        this.wake?.();
        resolve(code);
      }),
    );
  }

  /** Starts `switchboard connect target ...args`. */
  static start(target: string, args: string[] = []): TerminalClient {
    const configDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sb-term-client-'));
    const child = spawn(process.execPath, [BIN, 'connect', target, '--config-dir', configDir, ...args], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, XDG_CONFIG_HOME: configDir },
    });
    const client = new TerminalClient(child);
    void client.exited.then(() => fs.rmSync(configDir, { recursive: true, force: true }));
    return client;
  }

  /** The complete lines shown so far. */
  get lines(): string[] {
    return this.output.split('\n').slice(0, -1);
  }

  /** Types one line. */
  type(line: string): void {
    this.child.stdin!.write(line + '\n');
  }

  /**
   * Waits for the next line (after those matched before) that is `expected` or matches it;
   * returns the match. Lines skipped on the way stay skipped.
   */
  async next(expected: string | RegExp, timeoutMs = 10_000): Promise<RegExpMatchArray> {
    const pattern = typeof expected === 'string' ? new RegExp(`^${escape(expected)}$`) : expected;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const lines = this.lines;
      for (let i = this.cursor; i < lines.length; i++) {
        const match = lines[i]!.match(pattern);
        if (match) {
          this.cursor = i + 1;
          return match;
        }
      }
      const left = deadline - Date.now();
      if (left <= 0 || this.child.exitCode !== null || this.child.signalCode !== null) {
        const seen = lines.slice(this.cursor).join('\n');
        throw new Error(`no line ${pattern} after those matched; since then:\n${seen}\nstderr:\n${this.stderr}`);
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

  /** The lines after those matched so far (what `next` has not reached). */
  get unread(): string[] {
    return this.lines.slice(this.cursor);
  }

  /** Ends the input and waits for the exit, killing the process if it takes too long. */
  async finish(timeoutMs = 10_000): Promise<number | null> {
    this.child.stdin!.end();
    const timer = setTimeout(() => this.kill(), timeoutMs);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}

export function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
