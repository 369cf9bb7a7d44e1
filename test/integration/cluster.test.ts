import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Msg } from '../helpers/client';
import { ask, clusterPrerequisites, TEST_HEARTBEAT, user, whoUntil } from '../helpers/cluster-client';
import { startNatsCluster, type NatsCluster } from '../helpers/nats-cluster';
import { createDatabase, dropDatabase } from '../helpers/postgres-db';
import { missingPrerequisite } from '../helpers/prerequisite';
import { startServer, type RunningServer } from '../helpers/server';

/**
 * Three Switchboard nodes as one chat over a real 3-server NATS JetStream cluster (loopback,
 * temporary directories, every process stopped by its pid). Clients are spread over the nodes.
 */

const { present, skip: SKIP } = clusterPrerequisites('the cluster is');

let nats: NatsCluster | undefined;
/** The PostgreSQL database the nodes share, made for this file and dropped at its end. */
let storeUrl = '';
const nodes: RunningServer[] = [];

const RUN = Math.random().toString(36).slice(2, 6);
let n = 0;
const uniq = (prefix: string): string => `${prefix}${RUN}${(++n).toString(36)}`;
const typed = (type: string) => (m: Msg): boolean => m.type === type;

async function startNode(name: string, detached = false): Promise<RunningServer> {
  return startServer({ args: ['--cluster', nats!.url, '--store', storeUrl, '--node-id', name, '--workers', '1', ...TEST_HEARTBEAT], detached, startTimeoutMs: 30_000 });
}

before(async () => {
  if (!present) return;
  nats = await startNatsCluster(3);
  storeUrl = await createDatabase('sb_cluster');
  // One at a time: the first makes the log's stream, the others find it.
  for (const name of ['nodeA', 'nodeB', 'nodeC']) nodes.push(await startNode(name));
});

after(async () => {
  await Promise.all(nodes.map((s) => s.stop()));
  await nats?.stop();
  if (storeUrl) await dropDatabase(storeUrl);
});




test('guests on different nodes get distinct names; MainHall agrees on every node', async (t) => {
  if (missingPrerequisite(t, present, SKIP)) return;
  const users = [await user(t, nodes[0]!), await user(t, nodes[1]!), await user(t, nodes[2]!), await user(t, nodes[0]!)];
  assert.equal(new Set(users.map((u) => u.id.toLowerCase())).size, users.length, `distinct guest names: ${users.map((u) => u.id)}`);
  const everyone = (ids: string[]): boolean => users.every((u) => ids.includes(u.id));
  const views = await Promise.all(users.slice(0, 3).map((u) => whoUntil(u.c, 'MainHall', everyone)));
  for (const v of views) for (const u of users) assert.ok(v.includes(u.id));
});

test('an identity is unique cluster-wide: of two nodes racing for one name, exactly one wins', async (t) => {
  if (missingPrerequisite(t, present, SKIP)) return;
  for (let round = 0; round < 3; round++) {
    const a = await user(t, nodes[0]!);
    const b = await user(t, nodes[1]!);
    const wanted = uniq('Race');
    a.c.send({ type: 'identitychange', identity: wanted });
    b.c.send({ type: 'identitychange', identity: wanted });
    const [ra, rb] = await Promise.all([a.c.waitFor((m) => m.type === 'newidentity' && m.former === a.id, 10_000), b.c.waitFor((m) => m.type === 'newidentity' && m.former === b.id, 10_000)]);
    const winners = [ra, rb].filter((r) => r.identity === wanted);
    assert.equal(winners.length, 1, `exactly one of ${JSON.stringify([ra, rb])} took ${wanted}`);
    // The loser keeps its name (the seed's refusal: newidentity with former = identity).
    const loser = winners[0] === ra ? rb : ra;
    assert.equal(loser.identity, loser.former);
  }
});

test('a room created on A is listed on B and C; its messages reach members on every node in one order with the same seq', async (t) => {
  if (missingPrerequisite(t, present, SKIP)) return;
  const [a, b, c] = [await user(t, nodes[0]!), await user(t, nodes[1]!), await user(t, nodes[2]!)];
  const room = uniq('room');
  const list = await ask(a.c, { type: 'createroom', roomid: room }, typed('roomlist'));
  assert.ok((list.rooms as Array<{ roomid: string }>).some((r) => r.roomid === room));
  for (const u of [b, c]) {
    const seen = await ask(u.c, { type: 'list' }, typed('roomlist'));
    assert.ok((seen.rooms as Array<{ roomid: string }>).some((r) => r.roomid === room), `listed on ${u.id}'s node`);
  }
  for (const u of [a, b, c]) await ask(u.c, { type: 'join', roomid: room }, (m) => m.type === 'roomchange' && m.identity === u.id && m.roomid === room);
  await whoUntil(a.c, room, (ids) => ids.length === 3);
  // Every member sends at once: the log decides one order, the same for all.
  const perSender = 10;
  for (let i = 0; i < perSender; i++) for (const u of [a, b, c]) u.c.send({ type: 'message', content: `${u.id} ${i}` });
  const total = perSender * 3;
  const streams = await Promise.all(
    [a, b, c].map(async (u) => {
      const got: Msg[] = [];
      while (got.length < total) got.push(await u.c.waitFor((m) => m.type === 'message' && m.roomid === room, 15_000));
      return got;
    }),
  );
  const shape = (ms: Msg[]): string[] => ms.map((m) => `${m.seq}|${m.epoch}|${m.id}|${m.identity}|${m.content}`);
  assert.deepEqual(shape(streams[1]!), shape(streams[0]!), 'B saw what A saw, in the same order');
  assert.deepEqual(shape(streams[2]!), shape(streams[0]!), 'C saw what A saw, in the same order');
  assert.deepEqual(streams[0]!.map((m) => m.seq), Array.from({ length: total }, (_, i) => i + 1), 'seq 1..n, no gap');
  // Each sender's own messages keep its order.
  for (const u of [a, b, c]) {
    const mine = streams[0]!.filter((m) => m.identity === u.id).map((m) => m.content);
    assert.deepEqual(mine, Array.from({ length: perSender }, (_, i) => `${u.id} ${i}`));
  }
  // history on each node is what was delivered.
  for (const u of [a, b, c]) {
    const h = await ask(u.c, { type: 'history', roomid: room, limit: 100 }, (m) => m.type === 'history' && m.roomid === room);
    assert.deepEqual((h.messages as Msg[]).map((m) => `${m.seq}|${m.id}`), streams[0]!.map((m) => `${m.seq}|${m.id}`));
  }
});

test('who and list agree across nodes', async (t) => {
  if (missingPrerequisite(t, present, SKIP)) return;
  const [a, b, c] = [await user(t, nodes[0]!), await user(t, nodes[1]!), await user(t, nodes[2]!)];
  const room = uniq('agree');
  await ask(b.c, { type: 'createroom', roomid: room }, typed('roomlist'));
  for (const u of [a, b]) await ask(u.c, { type: 'join', roomid: room }, (m) => m.type === 'roomchange' && m.identity === u.id && m.roomid === room);
  const expected = [a.id, b.id].sort();
  for (const u of [a, b, c]) assert.deepEqual((await whoUntil(u.c, room, (ids) => ids.length === 2)).sort(), expected);
  // Every node's answer, taken once all have seen the joins: identical lists.
  const lists = await Promise.all([a, b, c].map((u) => ask(u.c, { type: 'list' }, typed('roomlist'))));
  const entry = (m: Msg) => (m.rooms as Array<{ roomid: string; count: number }>).find((r) => r.roomid === room);
  for (const l of lists) assert.deepEqual(entry(l), { roomid: room, count: 2 });
});

test('kill -9 of a node: its clients leave on the other nodes within the heartbeat bound', async (t) => {
  if (missingPrerequisite(t, present, SKIP)) return;
  const doomed = await startNode('nodeD', true);
  t.after(() => doomed.stop('SIGKILL'));
  const [a, d] = [await user(t, nodes[0]!), await user(t, doomed)];
  const room = uniq('kill');
  await ask(a.c, { type: 'createroom', roomid: room }, typed('roomlist'));
  for (const u of [a, d]) await ask(u.c, { type: 'join', roomid: room }, (m) => m.type === 'roomchange' && m.identity === u.id && m.roomid === room);
  await whoUntil(a.c, room, (ids) => ids.includes(d.id));
  // The whole process group: supervisor, hub and workers, as a machine that dies.
  process.kill(-doomed.pid, 'SIGKILL');
  const left = await a.c.waitFor((m) => m.type === 'roomchange' && m.identity === d.id && m.former === room, 15_000);
  assert.equal(left.roomid, '');
  for (const s of nodes) {
    const c = await user(t, s);
    const ids = await whoUntil(c.c, room, (x) => !x.includes(d.id));
    assert.deepEqual(ids, [a.id]);
  }
});

test('a cluster node that cannot reach NATS refuses to start, saying so, within the connect timeout', async () => {
  await assert.rejects(
    startServer({ args: ['--cluster', 'nats://127.0.0.1:1', '--store', 'postgres://sb@127.0.0.1:1/sb', '--cluster-connect-timeout-ms', '500', '--workers', '1'] }),
    (err: Error) => {
      assert.match(err.message, /exited with 1 before listening/);
      assert.match(err.message, /cannot reach the cluster's NATS servers \(nats:\/\/127\.0\.0\.1:1\) within 500 ms/);
      return true;
    },
  );
});

test('a cluster with a SQLite store, or a bad --cluster value, is refused at configuration; a node id is made when none is given', async () => {
  const { loadConfig, ConfigError } = await import('../../src/config/load');
  for (const argv of [['--cluster', 'nats://127.0.0.1:4222'], ['--cluster', 'nats://127.0.0.1:4222', '--store', 'sqlite']]) {
    assert.throws(() => loadConfig({ argv, env: {}, cwd: '/srv' }), (err: Error) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, /^invalid configuration: cluster needs store set to a postgres:\/\/USER@HOST:PORT\/DB URL, .*not "sqlite"/);
      return true;
    });
  }
  const PG = ['--store', 'postgres://sb@127.0.0.1:5432/sb'];
  assert.throws(() => loadConfig({ argv: ['--cluster', '127.0.0.1:4222', ...PG], env: {}, cwd: '/srv' }), /cluster: "127\.0\.0\.1:4222" is not nats:\/\/HOST:PORT/);
  const config = loadConfig({ argv: ['--cluster', 'nats://127.0.0.1:4222', ...PG], env: {}, cwd: '/srv' });
  assert.match(config.nodeId!, /^[A-Za-z0-9_-]+-[0-9a-f]{6}$/, 'a default node id: host name and 6 hex digits');
});
