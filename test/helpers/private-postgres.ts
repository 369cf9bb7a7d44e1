import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';

/**
 * A PostgreSQL server of a test's own, for tests that stop and start it (PostgreSQL down and
 * back): never the machine's shared one. `initdb` makes a cluster under a temporary directory
 * (trust authentication, user `postgres`); the server listens on 127.0.0.1 on a free port, its
 * Unix socket in that directory. The postmaster is a child of the test process, stopped by its
 * pid (checked against `postmaster.pid`); `destroy` stops it and removes the directory.
 *
 * PostgreSQL refuses to run as root: as root, initdb and the server run as the `postgres` OS
 * user (uid/gid of the spawn), which owns the directory.
 */
export interface PrivatePostgres {
  readonly port: number;
  /** `postgres://postgres@127.0.0.1:PORT/DB`. */
  url(database: string): string;
  /** Starts the server on its data directory (again after `stop`); resolves once it answers. */
  start(): Promise<void>;
  /**
   * Stops it: `fast` (SIGINT: sessions ended, checkpoint) or `immediate` (SIGQUIT: no
   * checkpoint, crash recovery at the next start). Resolves once the postmaster has exited.
   */
  stop(mode: 'fast' | 'immediate'): Promise<void>;
  /** A new empty database on it. */
  createDatabase(name: string): Promise<string>;
  /** Stops the server if running and removes the directory. */
  destroy(): Promise<void>;
}

interface Binaries {
  initdb: string;
  postgres: string;
}

/** The directory holding both `initdb` and `postgres`: PATH first, then Debian's /usr/lib/postgresql/N/bin, newest first. */
function findBinaries(): Binaries | null {
  const dirs = (process.env.PATH ?? '').split(path.delimiter).filter(Boolean);
  try {
    const versions = fs.readdirSync('/usr/lib/postgresql').filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
    dirs.push(...versions.map((v) => `/usr/lib/postgresql/${v}/bin`));
  } catch {
    // no Debian layout
  }
  for (const dir of dirs) {
    const initdb = path.join(dir, 'initdb');
    const postgres = path.join(dir, 'postgres');
    if (isExecutable(initdb) && isExecutable(postgres)) return { initdb, postgres };
  }
  return null;
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/** The uid/gid to run PostgreSQL as: the `postgres` user when we are root, ourselves otherwise. */
function runAs(): { uid: number; gid: number } | null | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string): number => Number(spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' }).stdout.trim());
  const uid = id('-u');
  const gid = id('-g');
  return Number.isInteger(uid) && uid > 0 && Number.isInteger(gid) ? { uid, gid } : null;
}

/** Why a private PostgreSQL cannot be made here, or null when it can. */
export function privatePostgresMissing(): string | null {
  if (!findBinaries()) return 'initdb/postgres not found (PATH, /usr/lib/postgresql/*/bin): the PostgreSQL-down tests need a private server';
  if (runAs() === null) return 'running as root without a `postgres` OS user: PostgreSQL refuses to run as root';
  return null;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
}

function within<T>(p: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), ms)));
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** Makes and starts a private PostgreSQL (see PrivatePostgres). Throws when initdb or the start fails. */
export async function makePrivatePostgres(): Promise<PrivatePostgres> {
  const bins = findBinaries();
  const owner = runAs();
  if (!bins || owner === null) throw new Error(privatePostgresMissing() ?? 'no private PostgreSQL');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sb-pg-'));
  const data = path.join(dir, 'data');
  const logFile = path.join(dir, 'postgres.log');
  fs.mkdirSync(data, { mode: 0o700 });
  if (owner) {
    fs.chownSync(dir, owner.uid, owner.gid);
    fs.chownSync(data, owner.uid, owner.gid);
  }
  const spawnAs = { ...(owner ?? {}), env: { ...process.env, LC_ALL: 'C' } };
  const init = spawnSync(bins.initdb, ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-sync'], { ...spawnAs, encoding: 'utf8', timeout: 120_000 });
  if (init.status !== 0) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw new Error(`initdb failed (exit ${init.status}): ${init.stderr || init.error?.message}`);
  }
  const port = await freePort();
  let child: ChildProcess | null = null;
  const url = (database: string): string => `postgres://postgres@127.0.0.1:${port}/${database}`;

  async function answers(): Promise<boolean> {
    const c = new Client({ connectionString: url('postgres'), connectionTimeoutMillis: 1000 });
    c.on('error', () => undefined);
    try {
      await c.connect();
      await c.query('SELECT 1');
      return true;
    } catch {
      return false;
    } finally {
      await c.end().catch(() => undefined);
    }
  }

  async function start(): Promise<void> {
    if (child) throw new Error('the private PostgreSQL is running already');
    const out = fs.openSync(logFile, 'a');
    // fsync off: the machine does not crash in a test; a stop (even immediate) loses nothing
    // committed, since the WAL is written to the OS at each commit.
    const args = ['-D', data, '-p', String(port), '-h', '127.0.0.1', '-k', dir, '-c', 'fsync=off', '-c', 'max_connections=100', '-c', 'shared_buffers=16MB'];
    const started = spawn(bins!.postgres, args, { ...spawnAs, stdio: ['ignore', out, out] });
    fs.closeSync(out);
    child = started;
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      if (started.exitCode !== null || started.signalCode !== null) break;
      if (await answers()) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    child = null;
    if (started.exitCode === null && started.signalCode === null) {
      started.kill('SIGQUIT');
      await within(exited(started), 10_000);
    }
    throw new Error(`the private PostgreSQL did not start on port ${port}: ${fs.readFileSync(logFile, 'utf8').slice(-2000)}`);
  }

  async function stop(mode: 'fast' | 'immediate'): Promise<void> {
    const running = child;
    if (!running) return;
    // The postmaster's pid as PostgreSQL wrote it: the one process to signal (it ends its backends).
    const pid = Number(fs.readFileSync(path.join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
    if (pid !== running.pid) throw new Error(`postmaster.pid says ${pid}, the started postmaster is ${running.pid}`);
    process.kill(pid, mode === 'fast' ? 'SIGINT' : 'SIGQUIT');
    if ((await within(exited(running), 30_000)) === 'timeout') {
      process.kill(pid, 'SIGQUIT');
      if ((await within(exited(running), 10_000)) === 'timeout') {
        process.kill(pid, 'SIGKILL');
        await exited(running);
      }
    }
    child = null;
  }

  async function createDatabase(name: string): Promise<string> {
    const c = new Client({ connectionString: url('postgres'), connectionTimeoutMillis: 5000 });
    await c.connect();
    try {
      await c.query(`CREATE DATABASE ${name}`);
    } finally {
      await c.end();
    }
    return url(name);
  }

  async function destroy(): Promise<void> {
    try {
      await stop('immediate');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }

  try {
    await start();
  } catch (err) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return { port, url, start, stop, createDatabase, destroy };
}
