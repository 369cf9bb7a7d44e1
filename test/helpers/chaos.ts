import fs from 'node:fs';
import net from 'node:net';
import * as proc from './procfs';
import type { RunningServer } from './server';
import { sleep, within } from './wait';

/**
 * Test harness for the fuzz and fault suites: a seeded PRNG (a failure names its seed and replays
 * with it), bounded polling, the processes of a running server as seen from outside, and a raw
 * client that counts what the server answers without keeping it.
 */

export { sleep, until, within } from './wait';

/** A seed from `envName` if set, else a fresh one. */
export function seedFrom(envName: string): number {
  const fromEnv = process.env[envName];
  return fromEnv ? Number(fromEnv) >>> 0 : (Math.random() * 2 ** 32) >>> 0;
}

/** mulberry32: small, fast, and the same sequence for the same seed on every machine. */
export class Prng {
  private state: number;

  constructor(readonly seed: number) {
    this.state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }

  /** A new generator, independent of this one's later draws. */
  fork(): Prng {
    return new Prng(this.int(0, 2 ** 32 - 1));
  }

  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(0, i);
      [items[i], items[j]] = [items[j]!, items[i]!];
    }
    return items;
  }
}

// ---- the server's processes -------------------------------------------------------------------

/** The hub now serving: the pid of the latest 'hub listening' line. */
export function hubPid(server: RunningServer): number {
  const lines = server.logs.filter((l) => l.role === 'hub' && l.msg === 'hub listening');
  if (lines.length === 0) throw new Error('no hub log line');
  return lines[lines.length - 1]!.pid as number;
}

/** Live worker processes: children of the supervisor that have logged as role 'worker'. */
export function workerPids(server: RunningServer): number[] {
  const children = new Set(proc.childPids(server.pid));
  const logged = new Set(server.logs.filter((l) => l.role === 'worker').map((l) => l.pid as number));
  return [...logged].filter((p) => children.has(p) && proc.isAlive(p)).sort((a, b) => a - b);
}

/** The supervisor and every live descendant. */
export function serverPids(server: RunningServer): number[] {
  return [server.pid, ...proc.descendants(server.pid)].filter((p) => proc.isAlive(p));
}

/** Total resident memory of the server's processes, in kB. */
export function totalRssKb(server: RunningServer): number {
  return serverPids(server).reduce((sum, pid) => sum + (proc.rssKb(pid) ?? 0), 0);
}

/** Resident memory of each server process in kB, labelled by its role (from the logs), e.g. `hub 61234`. */
export function rssByProcess(server: RunningServer): Record<string, number> {
  const roles = new Map<number, string>();
  for (const l of server.logs) if (typeof l.pid === 'number' && typeof l.role === 'string') roles.set(l.pid, l.role);
  const out: Record<string, number> = {};
  for (const pid of serverPids(server)) out[`${roles.get(pid) ?? (pid === server.pid ? 'supervisor' : 'process')} ${pid}`] = proc.rssKb(pid) ?? 0;
  return out;
}

/** CPU time `pid` has used so far (user + system), in clock ticks (1/100 s on Linux); undefined when gone. */
export function cpuTicks(pid: number): number | undefined {
  try {
    const text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
    // rest[11] is field 14 (utime), rest[12] field 15 (stime).
    return Number(rest[11]) + Number(rest[12]);
  } catch {
    return undefined;
  }
}

/** Waits until `pid` uses under 10% of a CPU over `windowMs`; resolves with how long that took (capped at `timeoutMs`). */
export async function untilIdle(pid: number, timeoutMs: number, windowMs = 500): Promise<number> {
  const t0 = Date.now();
  while (Date.now() - t0 < timeoutMs) {
    const before = cpuTicks(pid);
    await sleep(windowMs);
    const after = cpuTicks(pid);
    if (before === undefined || after === undefined) break;
    if (((after - before) * 10) / windowMs < 0.1) break;
  }
  return Date.now() - t0;
}

/** Log lines that say a server process crashed. */
export function crashLines(server: RunningServer): string[] {
  return server.logs
    .filter((l) => l.role === 'supervisor' && (l.msg === 'worker died' || l.msg === 'hub died; restarting it'))
    .map((l) => JSON.stringify(l));
}

/** The worker holding the server side of the connection whose client port is `clientPort`. */
export function holderOf(server: RunningServer, clientPort: number): number | undefined {
  const holders = proc.pidsHoldingTcpConnection(server.port, clientPort, serverPids(server));
  return holders.length === 1 && holders[0] !== server.pid ? holders[0] : undefined;
}

/** Bytes waiting in the kernel queues of one TCP connection, by its two ports (undefined: no such socket). */
export function tcpQueues(localPort: number, remotePort: number): { tx: number; rx: number } | undefined {
  const row = proc.tcpTable().find((r) => r.localPort === localPort && r.remotePort === remotePort);
  return row && { tx: row.tx, rx: row.rx };
}

// ---- a counting client --------------------------------------------------------------------------

/**
 * A raw connection that writes whatever it is given and reads everything, keeping only counts:
 * lines, error codes, and lines that are not a JSON object with a string `type` (the server must
 * never send one). For clients that send a lot (fuzzers, flooders) and must not hoard memory.
 */
export class CountingClient {
  lines = 0;
  readonly errors = new Map<string, number>();
  /** Server lines that were not a JSON object with a string `type`. */
  readonly badLines: string[] = [];
  /** The last error the server sent, if any. */
  lastError: string | null = null;
  /** Called for every parsed server message (optional). */
  onMessage: ((m: { type: string; [k: string]: unknown }) => void) | null = null;
  readonly closed: Promise<void>;
  isClosed = false;
  private pending = '';

  private constructor(readonly socket: net.Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      this.pending += chunk;
      let nl: number;
      while ((nl = this.pending.indexOf('\n')) !== -1) {
        this.line(this.pending.slice(0, nl));
        this.pending = this.pending.slice(nl + 1);
      }
    });
    socket.on('error', () => {});
    this.closed = new Promise((resolve) =>
      socket.on('close', () => {
        this.isClosed = true;
        resolve();
      }),
    );
  }

  static connect(port: number): Promise<CountingClient> {
    return new Promise((resolve, reject) => {
      const socket = net.createConnection({ host: '127.0.0.1', port });
      socket.once('connect', () => resolve(new CountingClient(socket)));
      socket.once('error', reject);
    });
  }

  /** Writes; resolves when the socket can take more (or has closed, or after `maxWaitMs`). */
  async write(data: string | Buffer, maxWaitMs = 1000): Promise<void> {
    if (this.isClosed || this.socket.destroyed) return;
    if (this.socket.write(data)) return;
    await within(
      new Promise<void>((resolve) => {
        this.socket.once('drain', resolve);
        this.socket.once('close', resolve);
      }),
      maxWaitMs,
    );
  }

  destroy(): Promise<void> {
    this.socket.destroy();
    return this.closed;
  }

  private line(text: string): void {
    this.lines++;
    let m: unknown;
    try {
      m = JSON.parse(text);
    } catch {
      m = undefined;
    }
    if (typeof m !== 'object' || m === null || Array.isArray(m) || typeof (m as { type?: unknown }).type !== 'string') {
      if (this.badLines.length < 20) this.badLines.push(text.slice(0, 200));
      return;
    }
    const msg = m as { type: string; code?: unknown };
    if (msg.type === 'error') {
      const code = String(msg.code);
      this.errors.set(code, (this.errors.get(code) ?? 0) + 1);
      this.lastError = code;
    }
    this.onMessage?.(msg);
  }
}

/** Adds `from`'s counts into `into`. */
export function addCounts(into: Map<string, number>, from: Map<string, number>): void {
  for (const [k, v] of from) into.set(k, (into.get(k) ?? 0) + v);
}

/** `{A: 3, B: 1}` from a count map, keys sorted, for diagnostics. */
export function countsText(m: Map<string, number>): string {
  return JSON.stringify(Object.fromEntries([...m].sort(([a], [b]) => a.localeCompare(b))));
}
