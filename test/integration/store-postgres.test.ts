import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Client } from 'pg';
import { isStoreError } from '../../src/store/errors';
import { createStore } from '../../src/store/factory';
import { LATEST_POSTGRES_VERSION, POSTGRES_MIGRATIONS } from '../../src/store/migrations/postgres';
import { SQL } from '../../src/store/postgres-statements';
import { PostgresStore } from '../../src/store/postgres-store';
import type { Store } from '../../src/store/store';
import { storeConformance } from '../conformance/store';
import { account, directMessage, register, rejectsWith, roomMessage, roomMessages } from '../conformance/store-fixtures';
import { missingPrerequisite } from '../helpers/prerequisite';
import { createDatabase, dropDatabase, postgresUnreachable, resetDatabase, sql } from '../helpers/postgres-db';

/**
 * PostgresStore against the machine's PostgreSQL (test/helpers/postgres-db.ts): the Store
 * conformance suite, then what only a shared database has: several stores (nodes) on one
 * database at once. One database per run, emptied before each test, dropped at the end.
 * Without a reachable PostgreSQL every test here is skipped with the reason shown (a failure
 * under CI=true).
 */

const unreachable = postgresUnreachable();
let url = '';

before(async () => {
  if (!unreachable) url = await createDatabase();
});
after(async () => {
  if (url) await dropDatabase(url);
});

/** A fresh empty database for one test, and every store opened on it, closed at the end. */
async function fresh(n: number): Promise<PostgresStore[]> {
  await resetDatabase(url);
  return Array.from({ length: n }, () => new PostgresStore(url));
}

async function closeAll(stores: Store[]): Promise<void> {
  for (const s of stores) await s.close();
}

if (unreachable) {
  test('PostgresStore', (t) => {
    missingPrerequisite(t, false, unreachable);
  });
} else {
  storeConformance('PostgresStore', async () => {
    await resetDatabase(url);
    return {
      store: new PostgresStore(url),
      reopen: async () => new PostgresStore(url),
      cleanup: async () => undefined,
    };
  });

  describe('PostgresStore with several nodes on one database', () => {
    test('nodes migrating at once apply each migration exactly once, and all can serve', async () => {
      const stores = await fresh(4);
      try {
        await Promise.all(stores.map((s) => s.migrate()));
        const rows = await sql<{ version: number }>(url, 'SELECT version FROM schema_migrations ORDER BY version');
        assert.deepEqual(rows.map((r) => r.version), POSTGRES_MIGRATIONS.map((m) => m.version));
        assert.equal(await stores[0]!.createAccount(account('ann')), true);
        assert.equal((await stores[3]!.getAccount('ANN'))?.username, 'ann');
      } finally {
        await closeAll(stores);
      }
    });

    test('two nodes filling one inbox at once never take it over its cap; seqs are unique and gapless', async () => {
      const [a, b] = await fresh(2);
      try {
        await a!.migrate();
        await register(a!, 'ann', 'bob', 'cat');
        const limits = { messages: 10, bytes: 1_000_000 };
        const sends: Array<Promise<number | null>> = [];
        for (let i = 0; i < 30; i++) {
          const node = i % 2 === 0 ? a! : b!;
          sends.push(node.appendDirectMessage(directMessage(`d${i}`, i % 3 === 0 ? 'cat' : 'ann', 'bob', i), true, limits));
        }
        const results = await Promise.allSettled(sends);
        const stored = results.filter((r) => r.status === 'fulfilled').map((r) => (r as PromiseFulfilledResult<number>).value);
        const refused = results.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason as unknown);
        assert.equal(stored.length, 10, `stored ${stored.length}`);
        assert.ok(refused.every((e) => isStoreError(e, 'STORE_INBOX_FULL')), String(refused.find((e) => !isStoreError(e, 'STORE_INBOX_FULL'))));
        assert.deepEqual([...stored].sort((x, y) => x - y), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
        assert.deepEqual(await b!.inboxSize('bob'), { messages: 10, bytes: (await a!.pendingInbox('bob', 0, 100)).reduce((n, e) => n + Buffer.byteLength(e.message.content), 0) });
        assert.equal((await b!.directHistory('ann', 'bob', null, 100)).messages.length + (await b!.directHistory('cat', 'bob', null, 100)).messages.length, 10, 'refused DMs are not stored');
      } finally {
        await closeAll([a!, b!]);
      }
    });

    test('two nodes appending the same room batch at once store it once; a clashing batch still fails whole', async () => {
      const [a, b] = await fresh(2);
      try {
        await a!.migrate();
        const batch = roomMessages('den', 1, 500);
        await Promise.all([a!.appendRoomMessages(batch), b!.appendRoomMessages(batch), a!.appendRoomMessages(batch.slice(100, 200))]);
        assert.equal(await b!.lastRoomSeq('den'), 500);
        assert.equal((await b!.roomSince('den', 0, 1000)).length, 500);
        assert.equal((await sql<{ n: number }>(url, "SELECT count(*)::int AS n FROM room_messages WHERE roomid = 'den'"))[0]!.n, 500);
        await rejectsWith(b!.appendRoomMessages([roomMessage('den', 501), roomMessage('den', 7, { id: 'impostor' })]), 'STORE_CONFLICT');
        assert.equal(await a!.lastRoomSeq('den'), 500, 'nothing of the clashing batch');
      } finally {
        await closeAll([a!, b!]);
      }
    });

    test('two nodes registering one name in two cases at once: exactly one account', async () => {
      const [a, b] = await fresh(2);
      try {
        await a!.migrate();
        const made = await Promise.all([a!.createAccount(account('Zed')), b!.createAccount(account('zED'))]);
        assert.deepEqual(made.filter(Boolean).length, 1);
        assert.equal((await b!.listUsernames()).length, 1);
      } finally {
        await closeAll([a!, b!]);
      }
    });
  });

  describe('PostgresStore when its sessions are killed', () => {
    test('a server restart or failover under it: coded errors at most, then it reconnects by itself', async (t) => {
      const [store] = await fresh(1);
      try {
        await store!.migrate();
        await register(store!, 'ann');
        // Several idle and busy pooled sessions, then every one of them terminated.
        await Promise.all(Array.from({ length: 6 }, () => store!.getAccount('ann')));
        const busy = Promise.allSettled(Array.from({ length: 3 }, () => sql(url, 'SELECT 1').then(() => store!.appendRoomMessages(roomMessages('den', 1, 200)))));
        const killed = await sql<{ n: number }>(url, "SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'switchboard'");
        assert.ok(killed[0]!.n > 0, 'sessions were killed');
        for (const r of await busy) if (r.status === 'rejected') assert.ok(isStoreError(r.reason, 'STORE_UNREACHABLE'), String(r.reason));
        let failures = 0;
        for (;;) {
          try {
            assert.equal((await store!.getAccount('ann'))?.username, 'ann');
            break;
          } catch (err) {
            assert.ok(isStoreError(err, 'STORE_UNREACHABLE'), String(err));
            assert.ok(++failures <= 20, 'reconnects: at most one failure per broken pooled session');
          }
        }
        const settled = await busy;
        t.diagnostic(`${settled.filter((r) => r.status === 'rejected').length} busy and ${failures} later requests failed with STORE_UNREACHABLE`);
        await store!.appendRoomMessages(roomMessages('den', 1, 200));
        assert.equal(await store!.lastRoomSeq('den'), 200);
      } finally {
        await store!.close();
      }
    });
  });

  describe('PostgresStore schema and errors', () => {
    test('a database written by a newer build is refused, not downgraded', async () => {
      const [store] = await fresh(1);
      try {
        await store!.migrate();
        await sql(url, 'INSERT INTO schema_migrations (version, applied_at) VALUES ($1, 0)', [LATEST_POSTGRES_VERSION + 1]);
        await rejectsWith(store!.migrate(), 'STORE_SCHEMA_TOO_NEW');
      } finally {
        await store!.close();
      }
    });

    test("a database holding another application's tables is not a store", async () => {
      const [store] = await fresh(1);
      try {
        await sql(url, 'CREATE TABLE accounts (id integer)');
        await rejectsWith(store!.migrate(), 'STORE_NOT_A_STORE');
        assert.deepEqual(await sql(url, "SELECT 1 FROM pg_tables WHERE tablename = 'tokens'"), [], 'the failed migration left nothing');
      } finally {
        await store!.close();
      }
    });

    test('names fold ASCII only, as in SQLite: Émile and émile are two accounts', async () => {
      const [store] = await fresh(1);
      try {
        await store!.migrate();
        assert.equal(await store!.createAccount(account('Émile')), true);
        assert.equal(await store!.createAccount(account('émile')), true);
        assert.equal(await store!.createAccount(account('éMILE')), false);
        assert.deepEqual(await store!.listUsernames(), ['Émile', 'émile'], 'code-point order whatever the locale');
      } finally {
        await store!.close();
      }
    });

    test('hot queries are index scans, never sequential scans or sorts', async () => {
      const [store] = await fresh(1);
      await store!.migrate();
      await store!.close();
      const client = new Client({ connectionString: url });
      await client.connect();
      try {
        // Tables of a few rows are scanned sequentially by choice: forbid it to see what is possible.
        await client.query('SET enable_seqscan = off');
        const hot: Array<[string, unknown[]]> = [
          [SQL.getAccount, ['ann']],
          [SQL.roomHistory, ['den', 10, 50, 'e1']],
          [SQL.roomSince, ['den', 10, 50, '']],
          [SQL.deleteEpochMessages, ['den', 'e1']],
          [SQL.lastRoomSeq, ['den']],
          [SQL.lastRoomSeqs, []],
          [SQL.getRoomMessage, ['m1']],
          [SQL.pendingInbox, ['bob', 0, 50]],
          [SQL.directHistory, ['["ann","bob"]', 100, 5, 50]],
          [SQL.directCursor, [5, '["ann","bob"]']],
          [SQL.getDirectMessage, ['d1']],
          [SQL.unblock, ['ann', 'Bob']],
        ];
        for (const [text, values] of hot) {
          const plan = (await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${text}`, values)).rows.map((r) => r['QUERY PLAN']).join('\n');
          assert.doesNotMatch(plan, /Seq Scan|Sort/, `${text}\n${plan}`);
          assert.match(plan, /Index Cond/, `${text}\n${plan}`);
        }
      } finally {
        await client.end();
      }
    });

    test('createStore picks PostgreSQL for postgres:// and postgresql:// URLs', async () => {
      await resetDatabase(url);
      for (const u of [url, url.replace(/^postgres:/, 'postgresql:')]) {
        const store = createStore(u, '/nonexistent');
        try {
          assert.ok(store instanceof PostgresStore);
          await store.migrate();
          assert.deepEqual(await store.listUsernames(), []);
        } finally {
          await store.close();
        }
      }
    });
  });
}

describe('PostgresStore without a server', () => {
  test('an unreachable server is STORE_UNREACHABLE, in bounded time, from migrate and from any method', async () => {
    // Port 1 on loopback: nothing listens there, the connection is refused at once.
    const store = new PostgresStore('postgres://switchboard:secret@127.0.0.1:1/switchboard');
    try {
      await rejectsWith(store.migrate(), 'STORE_UNREACHABLE');
      await rejectsWith(store.getAccount('ann'), 'STORE_UNREACHABLE');
      assert.equal(store.description, 'postgres://switchboard:***@127.0.0.1:1/switchboard', 'no password in messages');
    } finally {
      await store.close();
    }
    await rejectsWith(store.getAccount('ann'), 'STORE_NOT_OPEN');
  });
});
