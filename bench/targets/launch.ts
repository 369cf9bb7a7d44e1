import type { ChildProcess } from 'node:child_process';
import { spawnWithFileLimit } from '../generator/fleet';
import { processTree, sample, stillRunning } from '../lib/procfs';

/** A server process tree the bench started: its root pid, its port, and a clean stop. */
export interface Launched {
  pid: number;
  port: number;
  /** The last lines the server printed (stdout and stderr), for error reports. */
  tail(): string[];
  /** Whether the root process has exited, and how. */
  exit(): { code: number | null; signal: NodeJS.Signals | null } | null;
  /** SIGTERM the root, wait up to `graceMs`, then SIGKILL whatever of its tree is left (by pid). */
  stop(graceMs?: number): Promise<void>;
}

const TAIL_LINES = 40;

/** The port from a pino `{"msg":"listening","port":P}` line or a plain `listening on HOST:P`. */
export function listeningPort(line: string): number | undefined {
  if (!line.includes('listening')) return undefined;
  if (line.startsWith('{')) {
    try {
      const parsed = JSON.parse(line) as { msg?: string; port?: number };
      if (parsed.msg === 'listening' && typeof parsed.port === 'number') return parsed.port;
    } catch {
      /* not JSON after all */
    }
  }
  const m = /listening on \S+:(\d+)/.exec(line);
  return m ? Number(m[1]) : undefined;
}

/**
 * Spawns a server and waits until it says it listens (see `listeningPort`, on stdout or
 * stderr). Output keeps being read (a full pipe would block the server).
 */
export function launch(argv: string[], startTimeoutMs = 30_000): Promise<Launched> {
  const proc: ChildProcess = spawnWithFileLimit(argv, ['ignore', 'pipe', 'pipe']);
  const tail: string[] = [];
  let exitInfo: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  const exited = new Promise<void>((resolve) =>
    proc.once('exit', (code, signal) => {
      exitInfo = { code, signal };
      resolve();
    }),
  );
  const keep = (line: string): void => {
    tail.push(line);
    if (tail.length > TAIL_LINES) tail.shift();
  };
  proc.on('error', () => {});
  return new Promise((resolve, reject) => {
    let settled = false;
    const timer = setTimeout(() => fail(new Error(`server did not print "listening" within ${startTimeoutMs} ms`)), startTimeoutMs);
    const fail = (err: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      proc.kill('SIGKILL');
      reject(new Error(`${err.message}\n${tail.join('\n')}`));
    };
    const onLine = (line: string): void => {
      keep(line);
      if (settled) return;
      const port = listeningPort(line);
      if (port === undefined) return;
      settled = true;
      clearTimeout(timer);
      resolve(handle(port));
    };
    const reader = (stream: NodeJS.ReadableStream, prefix: string): void => {
      let pending = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        pending += chunk;
        let nl: number;
        while ((nl = pending.indexOf('\n')) !== -1) {
          onLine(prefix + pending.slice(0, nl));
          pending = pending.slice(nl + 1);
        }
      });
    };
    reader(proc.stdout!, '');
    reader(proc.stderr!, '[stderr] ');
    void exited.then(() => fail(new Error(`server exited (${JSON.stringify(exitInfo)}) before listening`)));
  });

  function handle(port: number): Launched {
    return {
      pid: proc.pid!,
      port,
      tail: () => [...tail],
      exit: () => exitInfo,
      async stop(graceMs = 15_000) {
        // Remember the whole tree first: children may outlive a root that is killed.
        const tree = processTree(proc.pid!)
          .map((pid) => ({ pid, start: sample(pid)?.startTime }))
          .filter((p): p is { pid: number; start: number } => p.start !== undefined);
        if (!exitInfo) proc.kill('SIGTERM');
        const killer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
        await exited;
        clearTimeout(killer);
        const deadline = Date.now() + 5000;
        for (const p of tree) {
          while (stillRunning(p.pid, p.start) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
          if (stillRunning(p.pid, p.start)) process.kill(p.pid, 'SIGKILL');
        }
      },
    };
  }
}
