import assert from 'node:assert/strict';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { appliedSqliteVersions, migrateSqlite, SQLITE_MIGRATIONS } from '../../src/store/migrations/sqlite';

/**
 * Migration versions need only increase (branches developed apart each took a number, e.g.
 * issue 11's contacts took 7 while files took 6): a gap is applied around, a missing number
 * applied later when a build has it; a version out of order is a bug refused before anything runs.
 */
test('SQLite migrations: gaps are allowed, a later-added lower version is applied, disorder is refused', () => {
  const db = new Database(':memory:');
  try {
    const one = { version: 1, name: 'a', up: 'CREATE TABLE a (x INTEGER) STRICT;' };
    const three = { version: 3, name: 'c', up: 'CREATE TABLE c (x INTEGER) STRICT;' };
    const two = { version: 2, name: 'b', up: 'CREATE TABLE b (x INTEGER) STRICT;' };
    assert.deepEqual(migrateSqlite(db, [one, three]), [1, 3]);
    assert.deepEqual(migrateSqlite(db, [one, two, three]), [2], 'the missing number is applied when a build has it');
    assert.deepEqual(appliedSqliteVersions(db), [1, 2, 3]);
    assert.throws(() => migrateSqlite(db, [one, three, two]), /expected more than 3/);
    assert.throws(() => migrateSqlite(db, [one, one]), /expected more than 1/);
  } finally {
    db.close();
  }
  assert.ok(SQLITE_MIGRATIONS.some((m) => m.version === 7 && /contact/.test(m.name)), 'contacts are migration 7');
});
