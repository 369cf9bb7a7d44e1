import fs from 'node:fs';
import path from 'node:path';
import type { BackupMetadata, Database } from 'better-sqlite3';
import { ensurePrivateDir, ensurePrivateFile } from '../fs/private-files';
import { StoreError } from './errors';
import { LATEST_SQLITE_VERSION, appliedSqliteVersions } from './migrations/sqlite';
import { openSqlite, sqliteStorePath, toStoreError, translateSqlite } from './sqlite-connection';

/*
 * Backup files of the SQLite store: writing one online, and putting one in place offline.
 * Both write to a temporary file in the destination's directory and rename it over the
 * target, so the target is always either the old file or the complete new one.
 */

/**
 * Pages copied per backup step. Each step runs on the event loop, so it is kept small
 * (4 MiB at the default page size: a few ms) to let the hub serve between steps.
 */
const PAGES_PER_STEP = 1024;

/**
 * SQLite restarts an online backup from page 1 when another connection (another process)
 * writes the source between steps. Under a steady writer the copy might never finish, so
 * after this many restarts the rest is copied in a single step: one read transaction,
 * consistent by construction, at the cost of blocking this event loop for that step.
 */
const MAX_RESTARTS = 3;

/** better-sqlite3 clamps the page count to this; it means "everything left". */
const ALL_PAGES = 0x7fffffff;

let tempCounter = 0;

/**
 * A consistent copy of the whole database behind `db` into `file` while writes go on.
 * Resolves once the copy is complete, on disk (fsynced) and renamed to `file`; on failure
 * `file` is untouched and no temporary file is left behind.
 */
export async function writeSqliteBackup(db: Database, file: string): Promise<void> {
  const target = path.resolve(file);
  const temp = tempPath(target);
  try {
    // A backup holds everything the store does: created 0600, SQLite then writes into it.
    ensurePrivateFile(temp);
    await db.backup(temp, { progress: restartGuard() });
    makeSelfContained(temp);
    fsyncPath(temp);
    fs.renameSync(temp, target);
    fsyncPath(path.dirname(target));
  } catch (err) {
    removeQuietly(temp);
    throw toStoreError(err);
  }
}

/**
 * The copy carries the source's WAL flag; switching it to a rollback journal makes the
 * backup one self-contained file that can be read without creating -wal/-shm next to it
 * (e.g. on read-only media). The store turns WAL back on when it opens a restored copy.
 */
function makeSelfContained(file: string): void {
  const copy = openSqlite(file, { readonly: false, fileMustExist: true, journal: 'keep' });
  try {
    translateSqlite(() => copy.pragma('journal_mode = DELETE'));
  } finally {
    copy.close();
  }
}

function restartGuard(): (progress: BackupMetadata) => number {
  let lastRemaining = Infinity;
  let restarts = 0;
  return ({ remainingPages }) => {
    if (remainingPages > lastRemaining) restarts++;
    lastRemaining = remainingPages;
    return restarts >= MAX_RESTARTS ? ALL_PAGES : PAGES_PER_STEP;
  };
}

/**
 * Replaces `<dataDir>/switchboard.db` with the store in `backupFile` (a file written by
 * `Store.backup`). The server must not be running: the caller checks that.
 *
 * The backup is validated first (a SQLite file with `schema_migrations`, at a schema version
 * this build knows, passing `quick_check`), then copied through SQLite (which also picks up
 * a -wal file lying next to the backup) to a temporary file in the data dir, fsynced, and
 * renamed into place. The old store's -wal/-shm are removed *before* the rename: a stale
 * WAL next to the new file would be replayed into it on the next open and corrupt it.
 *
 * Every room of the restored store gets a new epoch: clients may have seen later seqs of the
 * rooms' current epochs from the server before the restore, and the restored server hands
 * those seqs out again (docs/PROTOCOL.md, "Epochs").
 *
 * @example
 * await restoreBackup('/backups/switchboard-2024-05-01.db', './data');
 */
export async function restoreBackup(backupFile: string, dataDir: string): Promise<void> {
  const source = path.resolve(backupFile);
  if (!fs.existsSync(source)) throw new StoreError('STORE_UNAVAILABLE', `no backup file at ${source}`);
  ensurePrivateDir(dataDir);
  const target = path.resolve(sqliteStorePath(dataDir));
  const temp = tempPath(target);
  const db = openSqlite(source, { readonly: true, fileMustExist: true });
  try {
    validateStore(db, source);
    ensurePrivateFile(temp);
    await db.backup(temp);
    renewEpochs(temp);
    fsyncPath(temp);
    for (const suffix of ['-wal', '-shm', '-journal']) removeQuietly(target + suffix);
    fs.renameSync(temp, target);
    fsyncPath(path.dirname(target));
  } catch (err) {
    removeQuietly(temp);
    throw toStoreError(err);
  } finally {
    db.close();
  }
}

/**
 * Gives every room of the store in `file` a new random epoch, keeping its messages. A backup
 * older than the epochs (schema 2) has none: the migration gives it fresh ones at first start.
 */
function renewEpochs(file: string): void {
  const copy = openSqlite(file, { readonly: false, fileMustExist: true, journal: 'keep' });
  try {
    translateSqlite(() => {
      const hasEpochs = copy.prepare(`SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'room_epochs'`).get();
      if (hasEpochs) copy.exec('UPDATE room_epochs SET epoch = lower(hex(randomblob(8)))');
    });
  } finally {
    copy.close();
  }
}

/** Throws STORE_NOT_A_STORE / STORE_SCHEMA_TOO_NEW / STORE_UNAVAILABLE unless `db` is usable. */
function validateStore(db: Database, file: string): void {
  const versions = translateSqlite(() => appliedSqliteVersions(db));
  if (versions.length === 0) {
    throw new StoreError('STORE_NOT_A_STORE', `${file} is not a Switchboard store (no schema_migrations)`);
  }
  const newest = versions[versions.length - 1]!;
  if (newest > LATEST_SQLITE_VERSION) {
    throw new StoreError(
      'STORE_SCHEMA_TOO_NEW',
      `${file} has schema version ${newest}, this build knows up to ${LATEST_SQLITE_VERSION}`,
    );
  }
  const check = translateSqlite(() => db.pragma('quick_check', { simple: true }));
  if (check !== 'ok') throw new StoreError('STORE_UNAVAILABLE', `${file} fails quick_check: ${String(check)}`);
}

/** Same directory as the target, so the final rename is atomic (one filesystem). */
function tempPath(target: string): string {
  return `${target}.tmp-${process.pid}-${++tempCounter}`;
}

function fsyncPath(p: string): void {
  const fd = fs.openSync(p, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

function removeQuietly(p: string): void {
  fs.rmSync(p, { force: true });
}
