import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test, type TestContext } from 'node:test';
import { TestClient, type Msg } from '../helpers/client';
import { defineCoreProtocolSuite } from '../helpers/core-protocol-suite';
import { natsServerPresent, startNatsCluster, type NatsCluster } from '../helpers/nats-cluster';
import { createDatabase, dropDatabase, postgresUnreachable } from '../helpers/postgres-db';
import { missingPrerequisite } from '../helpers/prerequisite';
import { startServer, type RunningServer } from '../helpers/server';

/**
 * The core protocol suite (test/helpers/core-protocol-suite.ts) against a 3-node cluster: three
 * nats-servers with JetStream, three Switchboard nodes sharing one fresh PostgreSQL database,
 * each new client connecting to the next node in turn, so a test's clients are on different
 * nodes. Then, on the same cluster, the races a split brain would lose: one room name or one
 * identity asked for on every node at once. Every process is stopped by its pid, the database
 * dropped, the sockets removed.
 */

const HEARTBEAT = ['--cluster-heartbeat-ms', '300', '--cluster-node-timeout-ms', '2000'];
const MISSING = postgresUnreachable() ?? (natsServerPresent() ? null : 'nats-server is not installed (/usr/sbin/nats-server): the cluster is not tested');

let nats: NatsCluster | undefined;
let storeUrl = '';
const nodes: RunningServer[] = [];
const unixPaths = ['A', 'B', 'C'].map((n) => path.join(os.tmpdir(), `sb-cproto-${process.pid}-${n}.sock`));
let started: Promise<void> | undefined;

/** Starts the cluster once, with `extra` added to every node's flags (the first caller's). */
function cluster(extra: string[]): Promise<void> {
  started ??= (async () => {
    nats = await startNatsCluster(3);
    storeUrl = await createDatabase('sb_cproto');
    // One at a time: the first makes the log's stream, the others find it.
    for (const [i, name] of ['nodeA', 'nodeB', 'nodeC'].entries()) {
      const args = ['--cluster', nats.url, '--store', storeUrl, '--node-id', name, '--workers', '1', ...HEARTBEAT, ...extra, '--unix-socket', unixPaths[i]!];
      nodes.push(await startServer({ args, startTimeoutMs: 30_000 }));
    }
  })();
  return started;
}

after(async () => {
  await Promise.all(nodes.map((s) => s.stop()));
  await nats?.stop();
  if (storeUrl) await dropDatabase(storeUrl);
  for (const p of unixPaths) fs.rmSync(p, { force: true });
});

defineCoreProtocolSuite({
  name: 'core protocol (3-node cluster, clients spread over the nodes)',
  cluster: true,
  missing: () => MISSING,
  async start(extra) {
    await cluster(extra);
    let turn = 0;
    return { next: () => nodes[turn++ % nodes.length]!.port, unixPath: unixPaths[0]! };
  },
  // The cluster is stopped when the file ends: the tests below use it too.
  async stop() {},
});

const RUN = Math.random().toString(36).slice(2, 6);
let n = 0;
const uniq = (prefix: string): string => `${prefix}${RUN}${(++n).toString(36)}`;

/** One welcomed client on each node, closed when the test ends. */
async function onEveryNode(t: TestContext): Promise<Array<{ c: TestClient; id: string }>> {
  await cluster([]);
  const users = await Promise.all(nodes.map((node) => TestClient.welcomed(node.port)));
  t.after(() => Promise.all(users.map((u) => u.client.close())));
  return users.map((u) => ({ c: u.client, id: u.identity }));
}

async function ask(c: TestClient, request: object, pred: (m: Msg) => boolean): Promise<Msg> {
  c.send(request);
  return c.waitFor(pred, 10_000);
}

const roomidsOf = (m: Msg): string[] => (m.rooms as Array<{ roomid: string }>).map((r) => r.roomid);

describe('no split brain (3 nodes racing)', () => {
  test('one room name created on every node at once: exactly one creator, the owner everywhere', async (t) => {
    if (missingPrerequisite(t, MISSING === null, MISSING ?? '')) return;
    for (let round = 0; round < 5; round++) {
      const users = await onEveryNode(t);
      const room = uniq('Race');
      for (const u of users) u.c.send({ type: 'createroom', roomid: room });
      const replies = await Promise.all(users.map((u) => u.c.waitFor((m) => m.type === 'roomlist', 10_000)));
      // The seed's refusal: a roomlist without the room asked for.
      const creators = users.filter((_, i) => roomidsOf(replies[i]!).includes(room));
      assert.equal(creators.length, 1, `round ${round}: exactly one of ${users.map((u) => u.id)} created ${room}: ${JSON.stringify(replies)}`);
      // Every node, asked after its reply, names the same owner and lists the room once.
      for (const u of users) {
        const who = await ask(u.c, { type: 'who', roomid: room }, (m) => m.type === 'roomcontents' && m.roomid === room);
        assert.equal(who.owner, creators[0]!.id, `round ${round}: the owner as ${u.id}'s node sees it`);
        const listed = roomidsOf(await ask(u.c, { type: 'list' }, (m) => m.type === 'roomlist')).filter((r) => r === room);
        assert.equal(listed.length, 1);
      }
    }
  });

  test('one identity asked for on every node at once: exactly one takes it, every node agrees', async (t) => {
    if (missingPrerequisite(t, MISSING === null, MISSING ?? '')) return;
    for (let round = 0; round < 5; round++) {
      const users = await onEveryNode(t);
      const wanted = uniq('Race');
      for (const u of users) u.c.send({ type: 'identitychange', identity: wanted });
      const replies = await Promise.all(users.map((u) => u.c.waitFor((m) => m.type === 'newidentity' && m.former === u.id, 10_000)));
      const winners = replies.filter((r) => r.identity === wanted);
      assert.equal(winners.length, 1, `round ${round}: exactly one of ${JSON.stringify(replies)} took ${wanted}`);
      // The others keep their names (the seed's refusal: newidentity with former = identity).
      for (const r of replies) if (r !== winners[0]) assert.equal(r.identity, r.former);
      for (const u of users) {
        const hall = await ask(u.c, { type: 'who', roomid: 'MainHall' }, (m) => m.type === 'roomcontents' && m.roomid === 'MainHall');
        const ids = hall.identities as string[];
        assert.equal(ids.filter((id) => id.toLowerCase() === wanted.toLowerCase()).length, 1, `round ${round}: ${wanted} once in MainHall as ${u.id}'s node sees it`);
        for (const r of replies) if (r !== winners[0]) assert.ok(ids.includes(r.former as string));
      }
    }
  });

  test('a change acknowledged on one node is in the next who and list on every other node', async (t) => {
    if (missingPrerequisite(t, MISSING === null, MISSING ?? '')) return;
    const [a, b, c] = await onEveryNode(t);
    const room = uniq('Read');
    await ask(a!.c, { type: 'createroom', roomid: room }, (m) => m.type === 'roomlist');
    for (let round = 0; round < 10; round++) {
      // b joins (acknowledged to b once its node applied it), then leaves: a and c, on the
      // other nodes, are asked at once after each acknowledgement, no event awaited between.
      await ask(b!.c, { type: 'join', roomid: room }, (m) => m.type === 'roomchange' && m.identity === b!.id && m.roomid === room);
      const [whoA, listC] = await Promise.all([
        ask(a!.c, { type: 'who', roomid: room }, (m) => m.type === 'roomcontents' && m.roomid === room),
        ask(c!.c, { type: 'list' }, (m) => m.type === 'roomlist'),
      ]);
      assert.deepEqual(whoA.identities, [b!.id], `round ${round}: who on A right after the join on B`);
      assert.equal((listC.rooms as Array<{ roomid: string; count: number }>).find((r) => r.roomid === room)?.count, 1, `round ${round}: list on C`);
      await ask(b!.c, { type: 'join', roomid: 'MainHall' }, (m) => m.type === 'roomcontents' && m.roomid === 'MainHall');
      const whoC = await ask(c!.c, { type: 'who', roomid: room }, (m) => m.type === 'roomcontents' && m.roomid === room);
      assert.deepEqual(whoC.identities, [], `round ${round}: who on C right after the leave on B`);
    }
  });
});
