import path from 'node:path';
import Database from 'better-sqlite3';
import { ensurePrivateFile, tightenIfPresent } from '../fs/private-files';
import { StoreError, type StoreErrorCode } from './errors';

/** The store's file name inside the data dir. */
export const SQLITE_FILE_NAME = 'switchboard.db';

/** `<dataDir>/switchboard.db` */
export function sqliteStorePath(dataDir: string): string {
  return path.join(dataDir, SQLITE_FILE_NAME);
}

/**
 * How long a statement waits for another process's lock before STORE_BUSY. The hub is the
 * only writer, so waits are short (a backup step, a CLI tool, a checkpoint); five seconds
 * absorbs those without hanging the hub forever on a stuck process.
 */
const BUSY_TIMEOUT_MS = 5_000;

/** After a large burst the WAL is truncated back to this on checkpoint, not left at its peak. */
const JOURNAL_SIZE_LIMIT_BYTES = 64 * 1024 * 1024;

/** The files SQLite keeps beside a database while it is open or after a crash. */
const SIDE_FILES = ['-wal', '-shm', '-journal'];

export interface OpenOptions {
  readonly?: boolean;
  fileMustExist?: boolean;
  /** 'keep': leave the journal mode and sync level as the file has them (backup files). */
  journal?: 'wal' | 'keep';
}

/**
 * Opens a SQLite connection configured the way every Switchboard connection must be.
 * Driver errors become StoreErrors (e.g. STORE_UNAVAILABLE for a file that is not SQLite).
 * A file opened for writing is the owner's alone (0600): created so, or tightened. SQLite
 * gives the -wal and -shm it creates the database file's mode; ones left looser are tightened.
 */
export function openSqlite(file: string, opts: OpenOptions = {}): Database.Database {
  return translateSqlite(() => {
    const writable = !(opts.readonly ?? false);
    if (writable && !opts.fileMustExist) ensurePrivateFile(file);
    else if (writable) tightenIfPresent(file);
    const db = new Database(file, { readonly: !writable, fileMustExist: opts.fileMustExist ?? false });
    try {
      db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
      db.pragma('foreign_keys = ON');
      if (writable && opts.journal !== 'keep') configureWriter(db);
      if (writable) for (const side of SIDE_FILES) tightenIfPresent(file + side);
      return db;
    } catch (err) {
      db.close();
      throw err;
    }
  });
}

function configureWriter(db: Database.Database): void {
  // WAL: readers (history, backup steps) never block the writer and vice versa, and a commit
  // is one sequential append to the -wal file instead of a rollback-journal dance.
  const mode = db.pragma('journal_mode = WAL', { simple: true });
  if (mode !== 'wal') {
    throw new StoreError('STORE_UNAVAILABLE', `cannot use WAL mode on ${db.name} (got ${String(mode)})`);
  }
  // Durability with WAL + synchronous=NORMAL: a committed transaction survives a crash or
  // kill -9 of any Switchboard process (it is in the -wal file, in the OS page cache), and the
  // database is never corrupted. A power loss or kernel crash may roll back the transactions
  // committed since the last fsync (NORMAL syncs the WAL only at checkpoints), never leaving
  // a half transaction. FULL would fsync on every commit: one disk flush per hub batch.
  db.pragma('synchronous = NORMAL');
  db.pragma(`journal_size_limit = ${JOURNAL_SIZE_LIMIT_BYTES}`);
}

/** Runs `fn` and rethrows any driver error as a StoreError (StoreErrors pass through). */
export function translateSqlite<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw toStoreError(err);
  }
}

/** Maps a better-sqlite3 error (SqliteError with an extended result code) to a StoreError. */
export function toStoreError(err: unknown): StoreError {
  if (err instanceof StoreError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new StoreError(codeFor(err), message, { cause: err });
}

function codeFor(err: unknown): StoreErrorCode {
  if (err instanceof Database.SqliteError) {
    const code = err.code;
    if (code === 'SQLITE_CONSTRAINT_FOREIGNKEY') return 'STORE_UNKNOWN_ACCOUNT';
    if (code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE') return 'STORE_CONFLICT';
    if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) return 'STORE_BUSY';
    if (code === 'SQLITE_NOTADB') return 'STORE_NOT_A_STORE';
    if (/^SQLITE_(IOERR|FULL|CORRUPT|CANTOPEN|READONLY|PERM|NOLFS|PROTOCOL)/.test(code)) return 'STORE_UNAVAILABLE';
    return 'STORE_FAILED';
  }
  // better-sqlite3 throws a TypeError when a closed connection is used.
  if (err instanceof TypeError && /database connection is not open/i.test(err.message)) return 'STORE_NOT_OPEN';
  // Opening a file in a missing directory fails before SQLite is involved.
  if (err instanceof TypeError && /directory does not exist/i.test(err.message)) return 'STORE_UNAVAILABLE';
  // The file system refused to create or chmod a store file (done before SQLite opens it, so
  // it is private from the start): as SQLITE_CANTOPEN / SQLITE_PERM would be.
  if (typeof (err as NodeJS.ErrnoException).syscall === 'string') return 'STORE_UNAVAILABLE';
  return 'STORE_FAILED';
}
