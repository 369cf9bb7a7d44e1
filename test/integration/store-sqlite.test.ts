import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { createStore } from '../../src/store/factory';
import { LATEST_SQLITE_VERSION, SQLITE_MIGRATIONS, migrateSqlite } from '../../src/store/migrations/sqlite';
import { restoreBackup } from '../../src/store/sqlite-backup';
import { SqliteStore } from '../../src/store/sqlite-store';
import { storeConformance } from '../conformance/store';
import { rejectsWith, roomMessages } from '../conformance/store-fixtures';
import { batchMessages, checkBatches } from '../helpers/store-writer';

const WRITER = path.join(__dirname, '..', 'helpers', 'store-writer.js');

const dirs: string[] = [];
function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sb-sqlite-'));
  dirs.push(dir);
  return dir;
}
after(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

storeConformance('SqliteStore', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sb-conf-'));
  const file = path.join(dir, 'switchboard.db');
  return {
    store: new SqliteStore(file),
    reopen: async () => new SqliteStore(file),
    openBackup: async (backup) => new SqliteStore(backup),
    cleanup: async () => fs.rmSync(dir, { recursive: true, force: true }),
  };
});

/** Starts the writer child; resolves with it once it has acknowledged `minBatches`. */
function startWriter(file: string, batchSize: number, rooms: number, minBatches: number, first = 1) {
  const child = spawn(process.execPath, [WRITER, file, String(batchSize), String(rooms), String(first)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let acked = first - 1;
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const ready = new Promise<void>((resolve, reject) => {
    let pending = '';
    child.stdout!.on('data', (d: Buffer) => {
      const lines = (pending + d.toString()).split('\n');
      pending = lines.pop()!;
      for (const l of lines) acked = Number(l);
      if (acked >= first - 1 + minBatches) resolve();
    });
    child.once('exit', (code, signal) => reject(new Error(`writer exited early (${code ?? signal}): ${stderr}`)));
  });
  return { child, ready, exited, acked: () => acked };
}

async function kill9(child: ChildProcess, exited: Promise<void>): Promise<void> {
  child.kill('SIGKILL');
  await exited;
}

describe('SqliteStore on disk', () => {
  test('createStore makes <dataDir>/switchboard.db with WAL, foreign keys, NORMAL sync, busy timeout', async () => {
    const dataDir = path.join(tempDir(), 'nested', 'data');
    const store = createStore('sqlite', dataDir) as SqliteStore;
    await store.migrate();
    const db = store['db'];
    assert.equal(store.file, path.join(dataDir, 'switchboard.db'));
    assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    assert.equal(db.pragma('foreign_keys', { simple: true }), 1);
    assert.equal(db.pragma('synchronous', { simple: true }), 1);
    assert.equal(db.pragma('busy_timeout', { simple: true }), 5000);
    await store.close();
  });

  test('schema_migrations records each migration once with when it was applied', async () => {
    const file = path.join(tempDir(), 's.db');
    const store = new SqliteStore(file);
    const t0 = Date.now();
    await store.migrate();
    await store.migrate();
    await store.close();
    const db = new Database(file, { readonly: true });
    const rows = db.prepare('SELECT version, applied_at FROM schema_migrations ORDER BY version').all() as Array<{
      version: number;
      applied_at: number;
    }>;
    db.close();
    assert.deepEqual(rows.map((r) => r.version), SQLITE_MIGRATIONS.map((m) => m.version));
    for (const r of rows) assert.ok(r.applied_at >= t0 && r.applied_at <= Date.now());
  });

  test('a failing migration is rolled back whole and earlier ones stay applied', () => {
    const db = new Database(path.join(tempDir(), 'm.db'));
    const broken = [
      { version: 1, name: 'one', up: 'CREATE TABLE a (x INTEGER)' },
      { version: 2, name: 'two', up: 'CREATE TABLE b (x INTEGER); INSERT INTO nowhere VALUES (1)' },
    ];
    assert.throws(() => migrateSqlite(db, broken), /nowhere/);
    const tables = db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name").pluck().all();
    assert.deepEqual(tables, ['a', 'schema_migrations']);
    assert.deepEqual(db.prepare('SELECT version FROM schema_migrations').pluck().all(), [1]);
    assert.deepEqual(migrateSqlite(db, broken.slice(0, 1)), [], 'nothing left to apply');
    db.close();
  });

  test('case-insensitive usernames: a store with case-duplicates migrates and keeps them; new ones are refused', async () => {
    const file = path.join(tempDir(), 'dupes.db');
    const db = new Database(file);
    const before = SQLITE_MIGRATIONS.slice(0, SQLITE_MIGRATIONS.findIndex((m) => /usernames unique in any case/.test(m.name)));
    migrateSqlite(db, before);
    const insert = db.prepare("INSERT INTO accounts (username, password_hash, created_at) VALUES (?, 'h', ?)");
    insert.run('Ann', 100);
    insert.run('ann', 200);
    const msg = db.prepare("INSERT INTO room_messages (roomid, seq, id, identity, content, ts) VALUES ('den', ?, ?, ?, 'x', ?)");
    msg.run(1, 'early', 'ann', 150); // before account ann existed: a guest's
    msg.run(2, 'late', 'ann', 250);
    db.close();
    const store = new SqliteStore(file);
    await store.migrate();
    assert.deepEqual(await store.listUsernames(), ['Ann', 'ann'], 'both kept');
    assert.equal((await store.getAccount('ann'))?.createdAt, 200, 'the exact spelling first');
    assert.equal((await store.getAccount('Ann'))?.createdAt, 100);
    assert.equal((await store.getAccount('ANN'))?.username, 'Ann', 'else the first in code-point order');
    assert.equal(await store.createAccount({ username: 'aNN', passwordHash: 'h', createdAt: 300, status: '', dnd: false }), false);
    assert.equal((await store.getRoomMessage('early'))?.sender, null, 'sent before the account existed');
    assert.equal((await store.getRoomMessage('late'))?.sender, 'ann');
    await store.close();
  });

  test('a store from a newer build is refused, not downgraded', async () => {
    const file = path.join(tempDir(), 'new.db');
    const store = new SqliteStore(file);
    await store.migrate();
    store['db'].prepare('INSERT INTO schema_migrations VALUES (?, ?)').run(LATEST_SQLITE_VERSION + 1, Date.now());
    await rejectsWith(store.migrate(), 'STORE_SCHEMA_TOO_NEW');
    await store.close();
  });

  test('hot queries are index lookups, never table scans', async () => {
    const store = new SqliteStore(path.join(tempDir(), 'plan.db'));
    await store.migrate();
    const db = store['db'];
    const q = store['statements']!;
    for (const stmt of [q.roomHistory, q.roomSince, q.lastRoomSeq, q.lastRoomSeqs, q.pendingInbox, q.directHistory, q.getRoomMessage, q.getDirectMessage]) {
      const params = (stmt.source.match(/\?/g) ?? []).map(() => 1);
      const plan = db.prepare(`EXPLAIN QUERY PLAN ${stmt.source}`).all(...params) as Array<{ detail: string }>;
      const details = plan.map((p) => p.detail).filter((d) => /^(SCAN|SEARCH)/.test(d) && !/^SCAN rooms$/.test(d));
      assert.ok(details.length > 0, stmt.source);
      for (const d of details) assert.match(d, /^SEARCH .* USING .*(INDEX|PRIMARY KEY)/, `${d} in ${stmt.source}`);
      assert.ok(!plan.some((p) => /TEMP B-TREE/.test(p.detail)), `no sort step in ${stmt.source}`);
    }
    await store.close();
  });

  test('a writer killed -9 mid-way leaves every batch whole or absent, and all acknowledged ones', async () => {
    const file = path.join(tempDir(), 'crash.db');
    for (let round = 0; round < 5; round++) {
      const before = await countBatches(file, 1000, 4);
      const writer = startWriter(file, 1000, 4, 5 + round * 3, before + 1);
      await writer.ready;
      // A batch takes ~1-10 ms to build and commit: a random pause lands the kill anywhere in it.
      await delay(Math.random() * 15);
      await kill9(writer.child, writer.exited);
      assert.ok(fs.existsSync(`${file}-wal`), 'killed with the WAL not checkpointed away');
      const present = await countBatches(file, 1000, 4);
      assert.ok(present >= writer.acked(), `acknowledged ${writer.acked()}, present ${present}`);
      assert.ok(present <= writer.acked() + 1, 'at most the batch in flight beyond the last ack');
    }
  });

  test('backup while another process writes is consistent and resolves', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'live.db');
    const store = new SqliteStore(file);
    await store.migrate();
    // ~25 MB, so the copy takes many steps and the writer restarts it several times.
    for (let b = 1; b <= 200; b++) await store.appendRoomMessages(batchMessages(b, 1000, 4));
    const writer = startWriter(file, 1000, 4, 3, 201);
    await writer.ready;
    const target = path.join(dir, 'backup.db');
    try {
      await store.backup(target);
    } finally {
      await kill9(writer.child, writer.exited);
    }
    assert.deepEqual(fs.readdirSync(dir).filter((f) => f.startsWith('backup')), ['backup.db'], 'no temp or journal left');
    const raw = new Database(target, { readonly: true });
    assert.equal(raw.pragma('journal_mode', { simple: true }), 'delete', 'one self-contained file, no WAL needed');
    raw.close();
    const copy = new SqliteStore(target);
    await copy.migrate();
    const n = await checkBatches(copy, 1000, 4);
    assert.ok(n >= 203, `backup holds ${n} batches`);
    await copy.close();
    await store.close();
  });

  test('backup into a missing directory fails with a StoreError and writes nothing', async () => {
    const store = new SqliteStore(path.join(tempDir(), 'b.db'));
    await store.migrate();
    await rejectsWith(store.backup(path.join(tempDir(), 'no', 'such', 'dir', 'x.db')), 'STORE_UNAVAILABLE');
    await store.close();
  });
});

describe('restoreBackup', () => {
  test('puts the backup in place of a crashed store, discarding its stale -wal and -shm', async () => {
    const source = new SqliteStore(path.join(tempDir(), 'src.db'));
    await source.migrate();
    await source.appendRoomMessages(roomMessages('den', 1, 5));
    const backupFile = path.join(tempDir(), 'keep.db');
    await source.backup(backupFile);
    await source.close();

    const dataDir = tempDir();
    const live = path.join(dataDir, 'switchboard.db');
    const writer = startWriter(live, 100, 2, 20);
    await writer.ready;
    await kill9(writer.child, writer.exited);
    assert.ok(fs.existsSync(`${live}-wal`) && fs.statSync(`${live}-wal`).size > 0, 'a stale WAL to discard');

    await restoreBackup(backupFile, dataDir);
    assert.deepEqual(fs.readdirSync(dataDir).sort(), ['switchboard.db'], 'no temp file, no stale WAL');
    const restored = createStore('sqlite', dataDir);
    await restored.migrate();
    assert.deepEqual((await restored.roomSince('den', 0, 10)).map((m) => m.seq), [1, 2, 3, 4, 5]);
    assert.equal(await restored.lastRoomSeq('room0'), 0, 'nothing of the crashed store leaked in');
    await restored.close();
    assert.ok(fs.existsSync(backupFile), 'the backup itself is kept');
  });

  test('gives every room a new epoch and keeps its messages; a backup from before epochs gets them at migrate', async () => {
    const source = new SqliteStore(path.join(tempDir(), 'src.db'));
    await source.migrate();
    await source.setRoomEpoch('den', 'before', false);
    await source.setRoomEpoch('MainHall', 'hall', false);
    await source.appendRoomMessages(roomMessages('den', 1, 3));
    const backupFile = path.join(tempDir(), 'keep.db');
    await source.backup(backupFile);
    await source.close();

    const dataDir = tempDir();
    for (let i = 0; i < 2; i++) {
      await restoreBackup(backupFile, dataDir);
      const restored = createStore('sqlite', dataDir);
      await restored.migrate();
      const epochs = await restored.roomEpochs();
      assert.deepEqual([...epochs.keys()].sort(), ['MainHall', 'den']);
      assert.ok(epochs.get('den') !== 'before' && epochs.get('MainHall') !== 'hall', 'no epoch of the backup survives');
      assert.notEqual(epochs.get('den'), epochs.get('MainHall'));
      assert.deepEqual((await restored.roomSince('den', 0, 10)).map((m) => m.seq), [1, 2, 3]);
      await restored.close();
    }

    const old = path.join(tempDir(), 'v2.db');
    const db = new Database(old);
    migrateSqlite(db, SQLITE_MIGRATIONS.slice(0, 2));
    db.prepare("INSERT INTO room_messages (roomid, seq, id, identity, content, ts) VALUES ('den', 1, 'x', 'ann', 'hi', 1)").run();
    db.close();
    await restoreBackup(old, dataDir);
    const upgraded = createStore('sqlite', dataDir);
    await upgraded.migrate();
    assert.match((await upgraded.roomEpochs()).get('den') ?? '', /^[0-9a-f]{16}$/);
    assert.equal(await upgraded.lastRoomSeq('den'), 1);
    await upgraded.close();
  });

  test('refuses files that are not a Switchboard store and leaves the current one alone', async () => {
    const dataDir = tempDir();
    const current = createStore('sqlite', dataDir);
    await current.migrate();
    await current.appendRoomMessages(roomMessages('den', 1, 2));
    await current.close();

    const text = path.join(tempDir(), 'notes.txt');
    fs.writeFileSync(text, 'this is not a database, just some text that is long enough to have a header'.repeat(20));
    await rejectsWith(restoreBackup(text, dataDir), 'STORE_NOT_A_STORE');

    const other = path.join(tempDir(), 'other.db');
    const db = new Database(other);
    db.exec('CREATE TABLE t (x)');
    db.close();
    await rejectsWith(restoreBackup(other, dataDir), 'STORE_NOT_A_STORE');
    await rejectsWith(restoreBackup(path.join(tempDir(), 'missing.db'), dataDir), 'STORE_UNAVAILABLE');

    const reopened = createStore('sqlite', dataDir);
    await reopened.migrate();
    assert.equal(await reopened.lastRoomSeq('den'), 2);
    await reopened.close();
    assert.deepEqual(fs.readdirSync(dataDir), ['switchboard.db']);
  });
});

/** Complete batches in the store at `file` (0 when there is no file yet). */
async function countBatches(file: string, batchSize: number, rooms: number): Promise<number> {
  if (!fs.existsSync(file)) return 0;
  const store = new SqliteStore(file);
  try {
    await store.migrate();
    return await checkBatches(store, batchSize, rooms);
  } finally {
    await store.close();
  }
}
