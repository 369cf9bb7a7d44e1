import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import type { Msg } from '../helpers/client';
import { createDatabase, dropDatabase, postgresUnreachable, sql } from '../helpers/postgres-db';
import { missingPrerequisite } from '../helpers/prerequisite';
import { expectFields, guestPool, login, ok, register, runCli, say, type Conn } from '../helpers/requests';
import { startServer, type RunningServer } from '../helpers/server';
import { until } from '../helpers/wait';

/**
 * The real server with `--store postgres://...` (the machine's PostgreSQL, a database of its
 * own dropped at the end): accounts, rooms, history and the offline inbox live in PostgreSQL,
 * not in the data dir, so a server started afterwards on an empty data dir has them all; the
 * CLI's data commands reach the same store with `--store`. Skipped with the reason shown when
 * PostgreSQL is not reachable (a failure under CI=true).
 */

const unreachable = postgresUnreachable();
const dirs: string[] = [];
let url = '';
after(async () => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  if (url) await dropDatabase(url);
});

function tempDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'sb-pg-server-'));
  dirs.push(d);
  return d;
}

async function join(conn: Conn, roomid: string): Promise<void> {
  await ok(conn.c, { type: 'join', roomid }, 'roomchange', (m) => m.identity === conn.id);
}

describe('the server on PostgreSQL', { timeout: 90_000 }, () => {
  test('register, login, room messages, history, offline DMs; a restart on an empty data dir keeps them all; CLI data commands with --store', { timeout: 80_000 }, async (t) => {
    if (missingPrerequisite(t, !unreachable, unreachable ?? '')) return;
    url = await createDatabase('sb_server');
    const args = ['--store', url, '--workers', '1'];
    let server: RunningServer = await startServer({ args, dataDir: tempDir() });
    t.after(() => server.stop().then(() => undefined));

    const guest1 = guestPool(t, () => server.port);
    const ann = await guest1();
    await register(ann.c, 'ann');
    const annToken = await login(ann, 'ann');
    const carl = await guest1();
    await register(carl.c, 'carl');
    await carl.c.close();
    await ok(ann.c, { type: 'createroom', roomid: 'den' }, 'roomlist');
    await join(ann, 'den');
    const bob = await guest1();
    await join(bob, 'den');
    const said = [await say(ann, 'one'), await say(ann, 'two'), await say(ann, 'three')];
    assert.deepEqual(said.map((m) => m.seq), [1, 2, 3]);
    await until('bob has the three', () => bob.c.received.filter((m) => m.type === 'message' && m.roomid === 'den').length === 3);
    assert.deepEqual((await ok(bob.c, { type: 'history', roomid: 'den' }, 'history')).messages, said);
    const dm = await ok(ann.c, { type: 'dm', to: 'carl', content: 'while you were out' }, 'dm');

    // Where the data is: in PostgreSQL, and no SQLite file in the data dir.
    assert.ok(!fs.existsSync(path.join(server.dataDir, 'switchboard.db')), 'no SQLite store written');
    const stored = await sql<{ seq: number }>(url, "SELECT seq::int AS seq FROM room_messages WHERE roomid = 'den' ORDER BY seq");
    assert.deepEqual(stored.map((r) => r.seq), [1, 2, 3]);

    await ann.c.close();
    await bob.c.close();
    const stopped = await server.stop();
    assert.equal(stopped.code, 0, `clean stop: ${JSON.stringify(stopped)}`);

    // A new server, a new (empty) data dir, the same database.
    server = await startServer({ args, dataDir: tempDir() });
    const guest2 = guestPool(t, () => server.port);
    const g = await guest2();
    assert.deepEqual((await ok(g.c, { type: 'history', roomid: 'den' }, 'history')).messages, said, 'history kept');
    const ann2 = await guest2();
    await login(ann2, 'ann', { token: annToken });
    await join(ann2, 'den');
    expectFields(await say(ann2, 'four'), { seq: 4 }, 'the sequence continues: ');
    const carl2 = await guest2();
    await login(carl2, 'carl');
    const inbox = await carl2.c.waitFor((m) => m.type === 'dm', 5000);
    expectFields(inbox, { id: dm.id, from: 'ann', content: 'while you were out' }, 'the offline DM: ');

    // The data commands on the same store, while the server runs.
    const exported = await runCli(['export', '--store', url, '--room', 'den', '--format', 'json']);
    assert.equal(exported.code, 0, exported.stderr);
    assert.deepEqual((JSON.parse(exported.stdout) as Msg[]).map((m) => m.content), ['one', 'two', 'three', 'four']);
    assert.equal((await runCli(['admin', 'grant', 'ANN', '--store', url])).code, 0);
    assert.equal((await runCli(['admin', 'list', '--store', url])).stdout, 'ann\n');
    const out = path.join(tempDir(), 'backup.db');
    const backup = await runCli(['backup', '--store', url, '--out', out]);
    assert.equal(backup.code, 1);
    assert.match(backup.stderr, /pg_dump/);
    assert.ok(!fs.existsSync(out), 'no backup file pretended');
    const restore = await runCli(['restore', '--store', url, '--from', out]);
    assert.equal(restore.code, 1);
    assert.match(restore.stderr, /pg_restore/);
    const both = await runCli(['admin', 'list', '--store', url, '--data-dir', server.dataDir]);
    assert.equal(both.code, 1);
    assert.match(both.stderr, /--data-dir names a SQLite store/);
  });
});
