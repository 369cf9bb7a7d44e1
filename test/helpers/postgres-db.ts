import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import { Client } from 'pg';

/**
 * The machine's PostgreSQL for tests: 127.0.0.1:5432, trust authentication, user `postgres`
 * (override with SB_TEST_POSTGRES=postgres://USER@HOST:PORT). Each test file makes its own
 * database with a random name and drops it at the end; nothing else on the server is touched.
 */
export const POSTGRES_BASE = process.env.SB_TEST_POSTGRES ?? 'postgres://postgres@127.0.0.1:5432';

/** Why PostgreSQL cannot be used here, or null when it can. Synchronous: decides which tests exist. */
export function postgresUnreachable(): string | null {
  const probe = `
    const { Client } = require(${JSON.stringify(require.resolve('pg'))});
    const c = new Client({ connectionString: process.argv[1], connectionTimeoutMillis: 3000 });
    c.connect().then(() => c.query('SELECT 1')).then(() => c.end()).then(
      () => process.exit(0),
      (err) => { process.stderr.write(String(err.message || err)); process.exit(1); });`;
  const res = spawnSync(process.execPath, ['-e', probe, `${POSTGRES_BASE}/postgres`], { timeout: 10_000, encoding: 'utf8' });
  if (res.status === 0) return null;
  return `PostgreSQL at ${POSTGRES_BASE} is not reachable (${res.stderr.trim() || res.error?.message || `exit ${res.status}`})`;
}

async function admin<T>(database: string, fn: (c: Client) => Promise<T>): Promise<T> {
  const c = new Client({ connectionString: `${POSTGRES_BASE}/${database}`, connectionTimeoutMillis: 5000 });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** A new empty database; resolves with its URL. */
export async function createDatabase(prefix = 'sb_test'): Promise<string> {
  const name = `${prefix}_${process.pid}_${crypto.randomBytes(4).toString('hex')}`;
  await admin('postgres', (c) => c.query(`CREATE DATABASE ${name}`));
  return `${POSTGRES_BASE}/${name}`;
}

/** Drops the database of `url`, closing any session still on it. */
export async function dropDatabase(url: string): Promise<void> {
  const name = new URL(url).pathname.slice(1);
  await admin('postgres', (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
}

/** Empties the database of `url` (every table of the public schema), as new. */
export async function resetDatabase(url: string): Promise<void> {
  const name = new URL(url).pathname.slice(1);
  await admin(name, (c) => c.query('DROP SCHEMA public CASCADE; CREATE SCHEMA public'));
}

/** Runs one statement on the database of `url` outside any store. */
export async function sql<R extends object = Record<string, unknown>>(url: string, text: string, values: unknown[] = []): Promise<R[]> {
  const name = new URL(url).pathname.slice(1);
  return admin(name, async (c) => (await c.query(text, values)).rows as R[]);
}
