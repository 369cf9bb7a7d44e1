import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Test harness: the real `switchboard serve` as a child process on port 0. */

const BIN = path.resolve(__dirname, '..', '..', '..', 'bin', 'switchboard.js');

export interface LogLine {
  role?: string;
  pid?: number;
  msg?: string;
  [key: string]: unknown;
}

export interface StartOptions {
  /** Extra `serve` flags, e.g. ['--placement', 'dedicated']. */
  args?: string[];
  env?: NodeJS.ProcessEnv;
  /** Reuse a data dir (default: a fresh temporary one, removed on stop). */
  dataDir?: string;
  /** Default 15 s. */
  startTimeoutMs?: number;
  /** Start the server in a process group of its own (pgid = its pid), as a shell job is. */
  detached?: boolean;
}

export interface RunningServer {
  /** The plain TCP port; throws when the server runs without one (`--port null`). */
  readonly port: number;
  /** The TLS port, or null when TLS is off. */
  tlsPort: number | null;
  /** The HTTP port (web app, /ws), or null when HTTP is off (the default here: pass --http-port 0). */
  httpPort: number | null;
  /** The HTTPS port, or null when HTTPS is off. */
  httpsPort: number | null;
  pid: number;
  dataDir: string;
  process: ChildProcess;
  /** Every pino line printed so far, parsed. */
  logs: LogLine[];
  stderr(): string;
  waitForLog(pred: (line: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  /** SIGTERM (or `signal`) and wait for exit; resolves with how it ended and how long it took. */
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const p of running) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
});

export async function startServer(opts: StartOptions = {}): Promise<RunningServer> {
  const ownDataDir = !opts.dataDir;
  const dataDir = opts.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'sb-test-'));
  // HTTP is on by default (port 8080, for `npm start`): tests that do not ask for it run without
  // it, so that parallel servers do not collide on one port.
  const http = (opts.args ?? []).some((a) => a === '--http-port' || a.startsWith('--http-port=')) ? [] : ['--http-port', 'off'];
  const proc = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--data-dir', dataDir, ...http, ...(opts.args ?? [])], {
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: opts.detached ?? false,
  });
  running.add(proc);
  const logs: LogLine[] = [];
  const waiters: Array<{ pred: (l: LogLine) => boolean; resolve: (l: LogLine) => void }> = [];
  let stderr = '';
  let pending = '';
  proc.stdout!.setEncoding('utf8');
  proc.stdout!.on('data', (chunk: string) => {
    pending += chunk;
    let nl: number;
    while ((nl = pending.indexOf('\n')) !== -1) {
      const text = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      let line: LogLine;
      try {
        line = JSON.parse(text) as LogLine;
      } catch {
        line = { msg: text };
      }
      logs.push(line);
      for (const w of [...waiters]) {
        if (w.pred(line)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(line);
        }
      }
    }
  });
  proc.stderr!.setEncoding('utf8');
  proc.stderr!.on('data', (chunk: string) => {
    stderr += chunk;
    // The banner on stderr is printed at any --log-level; it stands in for the log line.
    const banner = /^Switchboard listening on ([^;\n]*);/m.exec(stderr);
    if (banner && !logs.some((l) => l.msg === 'listening')) {
      const ports = parseBanner(banner[1]!);
      const line: LogLine = { msg: 'listening', ...ports, role: 'supervisor', pid: proc.pid };
      logs.push(line);
      for (const w of [...waiters]) if (w.pred(line)) w.resolve(line);
    }
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.once('exit', (code, signal) => {
      running.delete(proc);
      resolve({ code, signal });
    }),
  );

  const waitForLog = (pred: (l: LogLine) => boolean, timeoutMs = 10_000): Promise<LogLine> => {
    const seen = logs.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no matching server log line within ${timeoutMs} ms`)), timeoutMs);
      waiters.push({
        pred,
        resolve: (l) => {
          clearTimeout(timer);
          resolve(l);
        },
      });
    });
  };

  const listening = await Promise.race([
    waitForLog((l) => l.msg === 'listening' && l.role === 'supervisor', opts.startTimeoutMs ?? 15_000),
    exited.then(({ code }) => {
      throw new Error(`server exited with ${code} before listening: ${stderr}`);
    }),
  ]);

  const plainPort = typeof listening.port === 'number' ? listening.port : null;
  return {
    get port(): number {
      if (plainPort === null) throw new Error('this server has no plain TCP listener (--port null); use tlsPort');
      return plainPort;
    },
    tlsPort: typeof listening.tlsPort === 'number' ? listening.tlsPort : null,
    httpPort: typeof listening.httpPort === 'number' ? listening.httpPort : null,
    httpsPort: typeof listening.httpsPort === 'number' ? listening.httpsPort : null,
    pid: proc.pid!,
    dataDir,
    process: proc,
    logs,
    stderr: () => stderr,
    waitForLog,
    exited,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      const t0 = Date.now();
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      const killer = setTimeout(() => proc.kill('SIGKILL'), 15_000);
      const result = await exited;
      clearTimeout(killer);
      if (ownDataDir) fs.rmSync(dataDir, { recursive: true, force: true });
      return { ...result, ms: Date.now() - t0 };
    },
  };
}

/** The ports in the banner's `H:P and TLS H:P and /unix/path and HTTP H:P and HTTPS H:P` part. */
function parseBanner(where: string): { port: number | null; tlsPort: number | null; httpPort: number | null; httpsPort: number | null } {
  const ports = { port: null as number | null, tlsPort: null as number | null, httpPort: null as number | null, httpsPort: null as number | null };
  for (const part of where.split(' and ')) {
    const m = /^(TLS |HTTP |HTTPS )?\S*:(\d+)$/.exec(part);
    if (!m) continue;
    const key = m[1] === 'TLS ' ? 'tlsPort' : m[1] === 'HTTP ' ? 'httpPort' : m[1] === 'HTTPS ' ? 'httpsPort' : 'port';
    ports[key] = Number(m[2]);
  }
  return ports;
}
