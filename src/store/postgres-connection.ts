import { DatabaseError, Pool, TypeOverrides, types, type PoolClient } from 'pg';
import { StoreError, type StoreErrorCode } from './errors';

/*
 * The PostgreSQL connection pool as every PostgresStore must configure it, and the mapping of
 * node-postgres errors (SQLSTATEs, socket errors) to StoreError codes.
 */

/**
 * Connections per store at most. The hub is a node's only writer and batches its writes, so
 * a few connections carry it; the rest serve reads (history, inbox) while a batch commits.
 */
const POOL_MAX = 8;

/**
 * How long a request waits for a connection before STORE_UNREACHABLE: while PostgreSQL is down
 * a request fails with a coded error in bounded time instead of hanging.
 */
const CONNECT_TIMEOUT_MS = 5_000;

/**
 * A statement waiting longer than this for a row lock (another node holding the same inbox,
 * a migration) fails with STORE_BUSY rather than waiting forever on a stuck session.
 */
const LOCK_TIMEOUT_MS = 5_000;

/**
 * BIGINT (seqs, ms timestamps, counts) and NUMERIC (sums) come back as JS numbers, as the
 * Store interface has them. node-postgres returns them as strings by default because they may
 * exceed 2^53; Switchboard writes every one of them from a JS number, so they never do.
 */
const NUMBER_TYPES = new TypeOverrides();
NUMBER_TYPES.setTypeParser(types.builtins.INT8, Number);
NUMBER_TYPES.setTypeParser(types.builtins.NUMERIC, Number);

/** A pool on `url` (`postgres://USER[:PASSWORD]@HOST:PORT/DB`); connects lazily, on first use. */
export function openPool(url: string): Pool {
  const pool = new Pool({
    connectionString: url,
    max: POOL_MAX,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    lock_timeout: LOCK_TIMEOUT_MS,
    application_name: 'switchboard',
    types: NUMBER_TYPES,
  });
  // An idle connection that breaks (server restart, network) is reported here; without a
  // listener Node would throw it and end the process. The pool has already discarded it and
  // the next request opens a new one (or fails with STORE_UNREACHABLE), so nothing is lost.
  pool.on('error', () => undefined);
  return pool;
}

/** A connection held for a transaction; `release` with an error discards it instead of pooling it. */
export interface HeldConnection {
  client: PoolClient;
  release(broken?: Error): void;
}

/**
 * Takes a connection from the pool (STORE_UNREACHABLE when none can be had in time). While it
 * is held, a break of the connection (a server restart) is also emitted as an 'error' event,
 * besides failing the statement in flight: unhandled, Node would end the process with it. The
 * failed statement already carries the error to the caller, so the event is only absorbed.
 */
export async function holdConnection(pool: Pool): Promise<HeldConnection> {
  let client: PoolClient;
  try {
    client = await pool.connect();
  } catch (err) {
    throw toStoreError(err);
  }
  const absorb = (): void => undefined;
  client.on('error', absorb);
  return {
    client,
    release(broken) {
      // A discarded connection keeps the listener: it may still report its end.
      if (!broken) client.removeListener('error', absorb);
      client.release(broken);
    },
  };
}

/** `url` with any password replaced, for messages and logs. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:@/]*):[^@/]*@/i, '$1:***@');
}

/** Where a foreign key that fails names a stored room rather than an account. */
const ROOM_TABLES = new Set(['room_rules', 'room_invites', 'room_bans']);

/** Maps a node-postgres error to a StoreError (StoreErrors pass through). */
export function toStoreError(err: unknown): StoreError {
  if (err instanceof StoreError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new StoreError(codeFor(err), message, { cause: err });
}

function codeFor(err: unknown): StoreErrorCode {
  if (err instanceof DatabaseError && err.code) {
    const code = err.code;
    if (code === '23505') return 'STORE_CONFLICT';
    if (code === '23503') return ROOM_TABLES.has(err.table ?? '') ? 'STORE_UNKNOWN_ROOM' : 'STORE_UNKNOWN_ACCOUNT';
    // serialization_failure, deadlock_detected, lock_not_available (lock_timeout), query_canceled
    if (code === '40001' || code === '40P01' || code === '55P03' || code === '57014') return 'STORE_BUSY';
    // connection exceptions; admin_shutdown, crash_shutdown, cannot_connect_now: the server
    // is stopping, was restarted under the session, or is still starting
    if (/^08/.test(code) || code === '57P01' || code === '57P02' || code === '57P03') return 'STORE_UNREACHABLE';
    // authentication, no such database, insufficient resources (disk full, out of memory,
    // too many connections), the database dropped, system errors, corruption
    if (/^(28|3D|53|57P|58|XX)/.test(code)) return 'STORE_UNAVAILABLE';
    return 'STORE_FAILED';
  }
  // Sockets refused or reset, DNS failures: the server is not reachable.
  if (typeof (err as NodeJS.ErrnoException).syscall === 'string') return 'STORE_UNREACHABLE';
  // node-postgres's own words for a connection that failed or broke (no SQLSTATE).
  if (err instanceof Error && /connection terminated|timeout exceeded when trying to connect|connection timeout|Connection ended|not queryable/i.test(err.message)) {
    return 'STORE_UNREACHABLE';
  }
  return 'STORE_FAILED';
}
