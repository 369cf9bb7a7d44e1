import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Client } from 'pg';
import { TestClient, type Msg } from '../helpers/client';
import { TEST_HEARTBEAT, user } from '../helpers/cluster-client';
import { natsServerPresent, startNatsCluster, type NatsCluster } from '../helpers/nats-cluster';
import { missingPrerequisite } from '../helpers/prerequisite';
import { makePrivatePostgres, privatePostgresMissing, type PrivatePostgres } from '../helpers/private-postgres';
import { PASSWORD } from '../helpers/requests';
import { startServer, type RunningServer } from '../helpers/server';
import { sleep } from '../helpers/wait';

/**
 * PostgreSQL down and back under a cluster: 3 nats-servers and 3 Switchboard nodes on a
 * private PostgreSQL this file makes with initdb (test/helpers/private-postgres), never the
 * machine's shared one, stopped (fast shutdown) under a message stream and started again.
 * Room messages go on (they are committed in the log); each node keeps the history writes
 * PostgreSQL refused and writes them once it is back, so afterwards the table holds every
 * delivered message exactly once per (roomid, epoch, seq); account-level requests meanwhile
 * get STORE_UNREACHABLE within a bound; past the history backlog's bound, room messages are
 * refused too; the nodes serve again without a restart. Verdicts by content; times are
 * diagnostics.
 */

const missing = privatePostgresMissing() ?? (natsServerPresent() ? null : 'nats-server is not installed (/usr/sbin/nats-server): the cluster is not tested');
/** The smallest backlog bound allowed, so the test reaches it with a few large messages. */
const BACKLOG_BYTES = 65536;
/** Bound on one answer while PostgreSQL is down: the pool's connect timeout (5 s) and a margin for a loaded machine. */
const ANSWER_BOUND_MS = 20_000;

let nats: NatsCluster | undefined;
let pg: PrivatePostgres | undefined;
let url = '';
const nodes: RunningServer[] = [];

before(async () => {
  if (missing) return;
  nats = await startNatsCluster(3);
  pg = await makePrivatePostgres();
  url = await pg.createDatabase('sb_cluster_down');
  for (const name of ['nodeA', 'nodeB', 'nodeC']) {
    nodes.push(await startServer({
      args: ['--cluster', nats.url, '--store', url, '--node-id', name, '--workers', '1', '--cluster-history-backlog-bytes', String(BACKLOG_BYTES), ...TEST_HEARTBEAT],
      startTimeoutMs: 30_000,
    }));
  }
});

after(async () => {
  await Promise.all(nodes.map((s) => s.stop()));
  await nats?.stop();
  await pg?.destroy();
});


/** Sends `request`; resolves with the first later reply of type `success`, or an error. */
async function ask(c: TestClient, request: object, success: (m: Msg) => boolean, timeoutMs = 15_000): Promise<Msg> {
  const earlier = new Set(c.received);
  c.send(request);
  return c.waitFor((m) => !earlier.has(m) && (m.type === 'error' || success(m)), timeoutMs);
}

async function ok(c: TestClient, request: object, type: string, match: (m: Msg) => boolean = () => true): Promise<Msg> {
  const m = await ask(c, request, (x) => x.type === type && match(x));
  assert.equal(m.type, type, `${JSON.stringify(request)} answered with ${JSON.stringify(m)}`);
  return m;
}

/** Sends one room message; resolves with its echo, or the error that refused it. */
function send(u: { c: TestClient; id: string }, content: string): Promise<Msg> {
  return ask(u.c, { type: 'message', content }, (m) => m.type === 'message' && m.identity === u.id && m.content === content);
}

async function echoed(u: { c: TestClient; id: string }, content: string): Promise<Msg> {
  const m = await send(u, content);
  assert.equal(m.type, 'message', `${content}: ${JSON.stringify(m)}`);
  return m;
}

async function table(room: string): Promise<Array<{ epoch: string; seq: number; id: string; content: string }>> {
  const c = new Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  await c.connect();
  try {
    return (await c.query(`SELECT epoch, seq::int AS seq, id, content FROM room_messages WHERE roomid = $1 ORDER BY epoch, seq`, [room])).rows;
  } finally {
    await c.end();
  }
}

const key = (m: { [field: string]: unknown }): string => `${m.epoch}|${m.seq}|${m.id}|${m.content}`;

test('PostgreSQL stopped and started under a cluster: messages go on and all reach the table once; account requests get STORE_UNREACHABLE; served again without a restart', { timeout: 240_000 }, async (t) => {
  if (missingPrerequisite(t, !missing, missing ?? '')) return;
  const [A, B, C] = nodes as [RunningServer, RunningServer, RunningServer];
  const room = `down${Math.random().toString(36).slice(2, 6)}`;

  // Accounts while PostgreSQL is up: ann on A, bob on B.
  const ann = await user(t, A);
  await ok(ann.c, { type: 'register', username: 'ann', password: PASSWORD }, 'registered');
  await ok(ann.c, { type: 'login', username: 'ann', password: PASSWORD }, 'loggedin');
  const bob = await user(t, B);
  await ok(bob.c, { type: 'register', username: 'bob', password: PASSWORD }, 'registered');
  await ok(bob.c, { type: 'login', username: 'bob', password: PASSWORD }, 'loggedin');
  // A guest sender on A, receivers on B and C.
  const s = await user(t, A);
  const rb = await user(t, B);
  const rc = await user(t, C);
  await ok(s.c, { type: 'createroom', roomid: room }, 'roomlist');
  for (const u of [s, rb, rc]) await ok(u.c, { type: 'join', roomid: room }, 'roomchange', (m) => m.identity === u.id && m.roomid === room);
  const guestB = await user(t, B);
  const guestC = await user(t, C);

  const delivered: Msg[] = [];
  for (let i = 0; i < 5; i++) delivered.push(await echoed(s, `up ${i}`));

  await pg!.stop('fast');
  const stoppedAt = Date.now();

  // Down: room messages go on, committed in the log and delivered everywhere.
  for (let i = 0; i < 15; i++) delivered.push(await echoed(s, `down ${i}`));
  t.diagnostic(`15 room messages echoed while PostgreSQL was down, the last ${Date.now() - stoppedAt} ms after the stop`);

  // Account-level requests and reads get the coded error, each within a bound.
  const times: string[] = [];
  const needStore: Array<[TestClient, object, string]> = [
    [guestB.c, { type: 'register', username: 'carl', password: PASSWORD }, 'registered'],
    [guestC.c, { type: 'login', username: 'ann', password: PASSWORD }, 'loggedin'],
    [ann.c, { type: 'dm', to: 'bob', content: 'dm during' }, 'dm'],
    [bob.c, { type: 'dmhistory', with: 'ann' }, 'dmhistory'],
    [rb.c, { type: 'history', roomid: room, limit: 200 }, 'history'],
    [rc.c, { type: 'resume', roomid: room, since: 0 }, 'resumed'],
    [bob.c, { type: 'block', user: 'ann' }, 'blocklist'],
  ];
  for (const [c, request, success] of needStore) {
    const started = Date.now();
    const m = await ask(c, request, (x) => x.type === success, ANSWER_BOUND_MS);
    times.push(`${(request as { type: string }).type} ${Date.now() - started} ms`);
    assert.equal(m.type, 'error', `${JSON.stringify(request)} while PostgreSQL is down: ${JSON.stringify(m)}`);
    assert.equal(m.code, 'STORE_UNREACHABLE', `${JSON.stringify(request)}: ${JSON.stringify(m)}`);
  }
  t.diagnostic(`answers while PostgreSQL was down: ${times.join(', ')}`);

  // The backlog's bound: large messages until the sender's node refuses them, before committing.
  const big = (i: number): string => `big ${i} ${'x'.repeat(15_000)}`;
  let refusedBig = 0;
  for (let i = 0; i < 8; i++) {
    const m = await send(s, big(i));
    if (m.type === 'message') {
      assert.equal(refusedBig, 0, 'none accepted after a refusal while nothing was written');
      delivered.push(m);
    } else {
      assert.equal(m.code, 'STORE_UNREACHABLE', JSON.stringify(m));
      refusedBig++;
    }
  }
  assert.ok(refusedBig > 0, 'room messages are refused once the history backlog is at its bound');
  t.diagnostic(`${8 - refusedBig} large messages taken, ${refusedBig} refused at the backlog bound of ${BACKLOG_BYTES} bytes`);
  assert.ok(A.process.exitCode === null && B.process.exitCode === null && C.process.exitCode === null, 'every node is running');

  const startedAt = Date.now();
  await pg!.start();

  // Back: with no request to any node, every node writes what it owes by itself (its retries),
  // and the table has every delivered message, once.
  for (const node of nodes) await node.waitForLog((l) => l.msg === 'room history backlog written: the store has every message this node delivered', 60_000);
  t.diagnostic(`every node's history backlog written ${Date.now() - startedAt} ms after PostgreSQL was started (its start included)`);
  assert.deepEqual((await table(room)).map(key), delivered.map(key), 'the table right after the retries: every delivered message, once');

  // History on C reads it; no node is restarted.
  let history: Msg | undefined;
  while (!history) {
    const m = await ask(rc.c, { type: 'history', roomid: room, limit: 200 }, (x) => x.type === 'history', ANSWER_BOUND_MS);
    if (m.type === 'history') history = m;
    else {
      assert.equal(m.code, 'STORE_UNREACHABLE', JSON.stringify(m));
      assert.ok(Date.now() - startedAt < 60_000, 'served again within 60 s of PostgreSQL\'s start');
      await sleep(200);
    }
  }
  t.diagnostic(`history served again ${Date.now() - startedAt} ms after PostgreSQL was started (its start included)`);
  assert.deepEqual((history.messages as Msg[]).map(key), delivered.map(key), 'history on C: every delivered message, once, nothing refused');
  for (let i = 0; i < 5; i++) delivered.push(await echoed(s, `after ${i}`));
  await ok(guestB.c, { type: 'register', username: 'carl', password: PASSWORD }, 'registered');
  await ok(guestC.c, { type: 'login', username: 'carl', password: PASSWORD }, 'loggedin');
  await ok(ann.c, { type: 'dm', to: 'bob', content: 'dm after' }, 'dm');

  // Every node delivered exactly what was echoed; the table holds each once per (roomid, epoch, seq).
  assert.deepEqual(delivered.map((m) => m.seq), delivered.map((_, i) => i + 1), 'seq 1..n, no gap');
  const deadline = Date.now() + 60_000;
  for (const r of [rb, rc]) {
    while (r.c.received.filter((m) => m.type === 'message' && m.roomid === room).length < delivered.length && Date.now() < deadline) await sleep(50);
    assert.deepEqual(r.c.received.filter((m) => m.type === 'message' && m.roomid === room).map(key), delivered.map(key), 'a receiver got every message once');
  }
  let stored = await table(room);
  while (stored.length < delivered.length && Date.now() < deadline) {
    await sleep(200);
    stored = await table(room);
  }
  assert.deepEqual(stored.map(key), delivered.map(key), 'the table: every delivered message, once, nothing refused');
  assert.ok(A.process.exitCode === null && B.process.exitCode === null && C.process.exitCode === null, 'every node ran throughout');
});
