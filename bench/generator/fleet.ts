import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { sample } from '../lib/procfs';
import type { ConnectResult, GeneratorToParent, ParentToGenerator, RunResult } from './messages';

const MAIN = path.join(__dirname, 'main.js');

/**
 * Starts a command with its open-file soft limit raised to the hard limit (a generator or a
 * server holds one descriptor per connection), keeping `exec` so the pid stays the command's.
 */
export function spawnWithFileLimit(argv: string[], stdio: Parameters<typeof spawn>[2]['stdio'], env?: NodeJS.ProcessEnv): ChildProcess {
  return spawn('/bin/bash', ['-c', 'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$@"', 'bench', ...argv], { stdio, env: env ?? process.env });
}

/** One generator process as the runner sees it: a request/answer channel and its pid. */
export class Generator {
  private readonly proc: ChildProcess;
  private waiting: { resolve(m: GeneratorToParent): void; reject(e: Error): void } | null = null;
  private exited = false;

  constructor(readonly name: string) {
    this.proc = spawnWithFileLimit([process.execPath, MAIN], ['ignore', 'inherit', 'inherit', 'ipc']);
    this.proc.on('message', (m: GeneratorToParent) => {
      const w = this.waiting;
      this.waiting = null;
      if (!w) return;
      if (m.type === 'error') w.reject(new Error(`generator ${name}: ${m.message}`));
      else w.resolve(m);
    });
    this.proc.on('exit', (code, signal) => {
      this.exited = true;
      this.waiting?.reject(new Error(`generator ${name} exited (${code ?? signal})`));
      this.waiting = null;
    });
    this.proc.on('error', () => {});
  }

  get pid(): number {
    return this.proc.pid!;
  }

  private request(msg: ParentToGenerator): Promise<GeneratorToParent> {
    if (this.exited) return Promise.reject(new Error(`generator ${this.name} is gone`));
    if (this.waiting) return Promise.reject(new Error(`generator ${this.name} is busy`));
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
      this.proc.send(msg);
    });
  }

  async connect(job: Extract<ParentToGenerator, { type: 'connect' }>): Promise<ConnectResult> {
    return (await this.request(job)) as ConnectResult;
  }

  async run(job: Extract<ParentToGenerator, { type: 'run' }>): Promise<RunResult> {
    return (await this.request(job)) as RunResult;
  }

  async reconnect(startAt: number, concurrency: number): Promise<ConnectResult> {
    return (await this.request({ type: 'reconnect', startAt, concurrency })) as ConnectResult;
  }

  /** CPU seconds the process has used so far (from /proc, so it includes everything). */
  cpuS(): number {
    return sample(this.pid)?.cpuS ?? 0;
  }

  rssKb(): number {
    return sample(this.pid)?.rssKb ?? 0;
  }

  /** Asks it to close its clients and exit; kills it (by pid) if it has not within 5 s. */
  async close(): Promise<void> {
    if (this.exited) return;
    const gone = new Promise<void>((resolve) => this.proc.once('exit', () => resolve()));
    this.request({ type: 'close' }).catch(() => {});
    const timer = setTimeout(() => this.kill(), 5000);
    await gone;
    clearTimeout(timer);
  }

  kill(): void {
    if (!this.exited) this.proc.kill('SIGKILL');
  }
}
