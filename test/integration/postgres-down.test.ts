import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Client } from 'pg';
import type { Msg } from '../helpers/client';
import { missingPrerequisite } from '../helpers/prerequisite';
import { makePrivatePostgres, privatePostgresMissing, type PrivatePostgres } from '../helpers/private-postgres';
import { ask, guestPool, login, ok, register, say, type Conn } from '../helpers/requests';
import { startServer, type RunningServer } from '../helpers/server';
import { sleep } from '../helpers/wait';

/**
 * One node on PostgreSQL, and PostgreSQL stopped under it (immediate shutdown, as a crash) and
 * started again: a private server this file makes with initdb (test/helpers/private-postgres),
 * never the machine's shared one. While it is down every request that needs the store is
 * answered STORE_UNREACHABLE (not a hang, not a crash) and nothing of it happens (a room
 * message reaches nobody); once it is back the node serves again by itself, and everything
 * acknowledged before is in the tables. Times are diagnostics, never verdicts.
 */

const missing = privatePostgresMissing();
let pg: PrivatePostgres | undefined;
let url = '';

before(async () => {
  if (missing) return;
  pg = await makePrivatePostgres();
  url = await pg.createDatabase('sb_down');
});

after(async () => {
  await pg?.destroy();
});

async function rows<R>(text: string): Promise<R[]> {
  const c = new Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  await c.connect();
  try {
    return (await c.query(text)).rows as R[];
  } finally {
    await c.end();
  }
}

/** Bound on one answer while PostgreSQL is down: the pool's connect timeout (5 s) and a margin for a loaded machine. */
const ANSWER_BOUND_MS = 20_000;

describe('PostgreSQL down and back under one node', { timeout: 180_000 }, () => {
  test('requests that need the store get STORE_UNREACHABLE while it is down; the node serves again by itself; nothing acknowledged is lost', { timeout: 170_000 }, async (t) => {
    if (missingPrerequisite(t, !missing, missing ?? '')) return;
    const server: RunningServer = await startServer({ args: ['--store', url, '--workers', '1'], startTimeoutMs: 30_000 });
    t.after(() => server.stop().then(() => undefined));
    const guest = guestPool(t, () => server.port);

    // Before: accounts, a room, messages and a DM, each acknowledged.
    const ann = await guest();
    await register(ann.c, 'ann');
    await login(ann, 'ann');
    const bob = await guest();
    await register(bob.c, 'bob');
    await login(bob, 'bob');
    await ok(ann.c, { type: 'createroom', roomid: 'den' }, 'roomlist');
    for (const u of [ann, bob]) await ok(u.c, { type: 'join', roomid: 'den' }, 'roomchange', (m) => m.identity === u.id && m.roomid === 'den');
    const echoed: Msg[] = [];
    for (const s of ['before 1', 'before 2', 'before 3']) echoed.push(await say(ann, s));
    const dms = [await ok(ann.c, { type: 'dm', to: 'bob', content: 'dm before' }, 'dm')];
    const newcomer = await guest();

    await pg!.stop('immediate');

    // Down: every request that needs the store, each answered with the coded error in bounded time.
    const needStore: Array<[Conn, object, string]> = [
      [ann, { type: 'message', content: 'during 1' }, 'message'],
      [newcomer, { type: 'register', username: 'carl', password: 'correct horse' }, 'registered'],
      [newcomer, { type: 'login', username: 'bob', password: 'correct horse' }, 'loggedin'],
      [ann, { type: 'dm', to: 'bob', content: 'dm during' }, 'dm'],
      [ann, { type: 'dmhistory', with: 'bob' }, 'dmhistory'],
      [ann, { type: 'history', roomid: 'den' }, 'history'],
      [ann, { type: 'resume', roomid: 'den', since: 0 }, 'resumed'],
      [ann, { type: 'block', user: 'bob' }, 'blocklist'],
      [ann, { type: 'status', text: 'away' }, 'profile'],
      [ann, { type: 'presence', users: ['bob'] }, 'presence'],
      [ann, { type: 'message', content: 'during 2' }, 'message'],
    ];
    const times: string[] = [];
    for (const [u, request, success] of needStore) {
      const started = Date.now();
      const m = await ask(u.c, request, (x) => x.type === success && (success !== 'message' || x.identity === u.id), ANSWER_BOUND_MS);
      times.push(`${(request as { type: string }).type} ${Date.now() - started} ms`);
      assert.equal(m.type, 'error', `${JSON.stringify(request)} while PostgreSQL is down: ${JSON.stringify(m)}`);
      assert.equal(m.code, 'STORE_UNREACHABLE', `${JSON.stringify(request)}: ${JSON.stringify(m)}`);
    }
    t.diagnostic(`answers while PostgreSQL was down: ${times.join(', ')}`);
    // What needs no store is served meanwhile; the process is alive.
    await ok(bob.c, { type: 'who', roomid: 'den' }, 'roomcontents');
    await ok(newcomer.c, { type: 'join', roomid: 'den' }, 'roomchange', (m) => m.identity === newcomer.id);
    assert.equal(server.process.exitCode, null, 'the server is running');

    const restarted = Date.now();
    await pg!.start();

    // Back: served again, with no restart of the node. The first request may still meet a
    // pooled connection that broke; the next ones are served.
    let history: Msg | undefined;
    const deadline = Date.now() + 60_000;
    while (!history) {
      const m = await ask(bob.c, { type: 'history', roomid: 'den' }, (x) => x.type === 'history', ANSWER_BOUND_MS);
      if (m.type === 'history') history = m;
      else {
        assert.equal(m.code, 'STORE_UNREACHABLE', JSON.stringify(m));
        assert.ok(Date.now() < deadline, 'served again within 60 s of PostgreSQL answering');
        await sleep(200);
      }
    }
    t.diagnostic(`history served again ${Date.now() - restarted} ms after PostgreSQL was started (its start included)`);
    assert.deepEqual(history.messages, echoed, 'history is what was echoed, nothing of the refused messages');
    const afterEcho = await say(ann, 'after 1');
    assert.equal(afterEcho.seq, 4, 'the refused messages took no seq');
    echoed.push(afterEcho);
    await register(newcomer.c, 'carl');
    dms.push(await ok(ann.c, { type: 'dm', to: 'bob', content: 'dm after' }, 'dm'));
    await ok(ann.c, { type: 'block', user: 'carl' }, 'blocklist');

    // Nobody received a refused message; the tables hold exactly what was acknowledged.
    for (const u of [ann, bob, newcomer]) {
      const during = u.c.received.filter((m) => m.type === 'message' && String(m.content).startsWith('during'));
      assert.deepEqual(during, [], 'a refused message reached nobody');
    }
    const stored = await rows<{ seq: number; id: string; content: string }>("SELECT seq::int AS seq, id, content FROM room_messages WHERE roomid = 'den' ORDER BY seq");
    assert.deepEqual(stored, echoed.map((m) => ({ seq: m.seq, id: m.id, content: m.content })));
    const storedDms = await rows<{ id: string; content: string }>('SELECT id, content FROM direct_messages ORDER BY ts, id');
    assert.deepEqual(storedDms.map((r) => r.content), ['dm before', 'dm after']);
    assert.deepEqual(storedDms.map((r) => r.id), dms.map((m) => m.id));
    const accounts = await rows<{ username: string }>('SELECT username FROM accounts ORDER BY username');
    assert.deepEqual(accounts.map((r) => r.username), ['ann', 'bob', 'carl']);
    assert.equal(server.process.exitCode, null, 'the same server process throughout');
  });
});
