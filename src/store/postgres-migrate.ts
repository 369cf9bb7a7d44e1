import { DatabaseError, type Pool, type PoolClient } from 'pg';
import { StoreError } from './errors';
import { POSTGRES_MIGRATIONS, type PostgresMigration } from './migrations/postgres';
import { holdConnection, toStoreError } from './postgres-connection';

/*
 * Applying the PostgreSQL store's migrations. Several nodes may start at once on one database:
 * each takes a session-level advisory lock first, so one applies the migrations while the
 * others wait, then find them applied.
 */

/** The advisory lock key of "migrating the Switchboard schema" (any fixed 64-bit number). */
const MIGRATE_LOCK_KEY = '7236110393842251090';

/** How long a node waits for another node's migration before STORE_BUSY. */
const MIGRATE_LOCK_TIMEOUT = '60s';

const CREATE_MIGRATIONS_TABLE = `
  CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    applied_at BIGINT  NOT NULL
  )`;

/** The newest version recorded in `schema_migrations`; 0 when the table is missing or empty. */
export async function currentPostgresVersion(pool: Pool): Promise<number> {
  try {
    const table = await pool.query<{ t: string | null }>(`SELECT to_regclass('schema_migrations')::text AS t`);
    if (table.rows[0]?.t === null) return 0;
    const res = await pool.query<{ v: number | null }>('SELECT max(version) AS v FROM schema_migrations');
    return res.rows[0]?.v ?? 0;
  } catch (err) {
    throw toStoreError(err);
  }
}

/**
 * Applies every migration not yet recorded, in order, each in one transaction with the row
 * that records it, under the migration lock. Returns the versions applied by this call.
 * Throws STORE_SCHEMA_TOO_NEW for a database written by a newer build, STORE_NOT_A_STORE
 * when the database already holds tables of the same names that are not Switchboard's.
 */
export async function migratePostgres(pool: Pool, migrations: readonly PostgresMigration[] = POSTGRES_MIGRATIONS): Promise<number[]> {
  checkOrder(migrations);
  const held = await holdConnection(pool);
  const client = held.client;
  let broken: Error | undefined;
  try {
    await lock(client);
    try {
      return await applyAll(client, migrations);
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATE_LOCK_KEY]).catch((err: Error) => {
        // A session that cannot unlock is not returned to the pool: ending it frees the lock.
        broken = err;
      });
    }
  } catch (err) {
    const mapped = notAStore(err);
    // A statement's error leaves the session usable; a broken connection must not be pooled.
    if (mapped.code === 'STORE_UNAVAILABLE' || mapped.code === 'STORE_UNREACHABLE' || !(err instanceof DatabaseError || err instanceof StoreError)) broken = mapped;
    throw mapped;
  } finally {
    held.release(broken);
  }
}

async function lock(client: PoolClient): Promise<void> {
  // A session lock taken inside a transaction outlives it; SET LOCAL bounds only this wait.
  await client.query('BEGIN');
  try {
    await client.query(`SET LOCAL lock_timeout = '${MIGRATE_LOCK_TIMEOUT}'`);
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATE_LOCK_KEY]);
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

async function applyAll(client: PoolClient, migrations: readonly PostgresMigration[]): Promise<number[]> {
  await client.query(CREATE_MIGRATIONS_TABLE);
  const known = migrations.length ? migrations[migrations.length - 1]!.version : 0;
  const newest = (await client.query<{ v: number | null }>('SELECT max(version) AS v FROM schema_migrations')).rows[0]?.v ?? 0;
  if (newest > known) {
    throw new StoreError('STORE_SCHEMA_TOO_NEW', `store schema is at version ${newest}, this build knows up to ${known}: upgrade Switchboard`);
  }
  const applied: number[] = [];
  for (const m of migrations) {
    await client.query('BEGIN');
    try {
      const done = await client.query('SELECT 1 FROM schema_migrations WHERE version = $1', [m.version]);
      if (done.rowCount === 0) {
        await client.query(m.up);
        await client.query('INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)', [m.version, Date.now()]);
        applied.push(m.version);
      }
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
  }
  return applied;
}

/** duplicate_table (42P07) while migrating: the database holds someone else's tables. */
function notAStore(err: unknown): StoreError {
  if (err instanceof DatabaseError && err.code === '42P07') {
    return new StoreError('STORE_NOT_A_STORE', `the database is not a Switchboard store (${err.message}): use an empty database`, { cause: err });
  }
  return toStoreError(err);
}

/**
 * Versions strictly increase. Gaps are allowed: branches developed apart each took a number
 * (a store missing one gets it applied later, each migration being independent of the others).
 */
function checkOrder(migrations: readonly PostgresMigration[]): void {
  migrations.forEach((m, i) => {
    const previous = i === 0 ? 0 : migrations[i - 1]!.version;
    if (!Number.isSafeInteger(m.version) || m.version <= previous) throw new Error(`migration #${i} has version ${m.version}, expected more than ${previous}`);
  });
}
