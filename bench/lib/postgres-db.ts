import crypto from 'node:crypto';
import { Client } from 'pg';

/**
 * A throw-away PostgreSQL database for one bench run: made with a random name on the server
 * of `--postgres` (default the machine's, 127.0.0.1:5432, user postgres, trust), dropped at the
 * end. Nothing else on the server is touched.
 */
export const BENCH_POSTGRES = process.env.SB_BENCH_POSTGRES ?? 'postgres://postgres@127.0.0.1:5432';

async function admin<T>(base: string, fn: (c: Client) => Promise<T>): Promise<T> {
  const c = new Client({ connectionString: `${base}/postgres`, connectionTimeoutMillis: 5000 });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** A new empty database on the server `base` (`postgres://USER@HOST:PORT`); its URL. */
export async function createBenchDatabase(base = BENCH_POSTGRES): Promise<string> {
  const name = `sb_bench_${process.pid}_${crypto.randomBytes(4).toString('hex')}`;
  await admin(base, (c) => c.query(`CREATE DATABASE ${name}`));
  return `${base}/${name}`;
}

/** Drops the database of `url` (made by createBenchDatabase), closing any session on it. */
export async function dropBenchDatabase(url: string): Promise<void> {
  const u = new URL(url);
  const name = u.pathname.slice(1);
  if (!/^sb_bench_\d+_[0-9a-f]{8}$/.test(name)) throw new Error(`not a bench database: ${name}`);
  await admin(`${u.protocol}//${u.username ? `${u.username}@` : ''}${u.host}`, (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
}
