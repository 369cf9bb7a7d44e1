import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test, type TestContext } from 'node:test';
import { TestClient, type Msg } from '../helpers/client';
import { defineCoreProtocolSuite } from '../helpers/core-protocol-suite';
import { natsServerPresent, startNatsCluster, type NatsCluster } from '../helpers/nats-cluster';
import { createDatabase, dropDatabase, postgresUnreachable, sql } from '../helpers/postgres-db';
import { missingPrerequisite } from '../helpers/prerequisite';
import { runCli } from '../helpers/requests';
import { startServer, type RunningServer } from '../helpers/server';
import { TEST_HEARTBEAT } from '../helpers/cluster-client';

/**
 * The core protocol suite (test/helpers/core-protocol-suite.ts) against a 3-node cluster: three
 * nats-servers with JetStream, three Switchboard nodes sharing one fresh PostgreSQL database,
 * each new client connecting to the next node in turn, so a test's clients are on different
 * nodes. Then, on the same cluster, the races a split brain would lose (one room name or one
 * identity asked for on every node at once), and a cluster's room history in the shared store:
 * recall of an ended epoch's message, `switchboard export`. Every process is stopped by its
 * pid, the database dropped, the sockets removed.
 */

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
      const args = ['--cluster', nats.url, '--store', storeUrl, '--node-id', name, '--workers', '1', ...TEST_HEARTBEAT, ...extra, '--unix-socket', unixPaths[i]!];
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

describe("a cluster's room history in the shared store", () => {
  /** Joins `room` and waits for the joiner's own roomchange. */
  const join = (u: { c: TestClient; id: string }, room: string) => ask(u.c, { type: 'join', roomid: room }, (m) => m.type === 'roomchange' && m.identity === u.id && m.roomid === room);
  const say = (u: { c: TestClient; id: string }, content: string) => ask(u.c, { type: 'message', content }, (m) => m.type === 'message' && m.identity === u.id && m.content === content);

  test('recall of a message of an ended epoch, written again by a node running behind, is refused (NO_SUCH_MESSAGE); of the current epoch it works', async (t) => {
    if (missingPrerequisite(t, MISSING === null, MISSING ?? '')) return;
    const [owner, member] = await onEveryNode(t);
    const room = uniq('Recall');
    await ask(owner!.c, { type: 'createroom', roomid: room }, (m) => m.type === 'roomlist');
    await join(owner!, room);
    const old = await say(owner!, 'of the first room');
    const [row] = await sql(storeUrl, 'SELECT roomid, epoch, seq, id, identity, sender, content, ts, recalled FROM room_messages WHERE id = $1', [old.id]);
    assert.equal(row?.epoch, old.epoch, 'stored under its epoch');
    // The room ends and is made again by the same owner: a new epoch.
    await ask(owner!.c, { type: 'delete', roomid: room }, (m) => m.type === 'roomlist' && !roomidsOf(m).includes(room));
    await ask(owner!.c, { type: 'createroom', roomid: room }, (m) => m.type === 'roomlist' && roomidsOf(m).includes(room));
    await join(owner!, room);
    await join(member!, room);
    const current = await say(owner!, 'of the second room');
    assert.notEqual(current.epoch, old.epoch);
    // Every node deletes the ended epoch when it applies the room's end; then a node running
    // behind writes the old message again (as its replay would), under its old epoch.
    const deadline = Date.now() + 10_000;
    while ((await sql(storeUrl, 'SELECT 1 FROM room_messages WHERE roomid = $1 AND epoch = $2', [room, old.epoch])).length > 0) {
      assert.ok(Date.now() < deadline, 'the ended epoch was deleted');
      await new Promise((r) => setTimeout(r, 50));
    }
    const r = row!;
    await sql(storeUrl, 'INSERT INTO room_messages (roomid, epoch, seq, id, identity, sender, content, ts, recalled) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)', [r.roomid, r.epoch, r.seq, r.id, r.identity, r.sender, r.content, r.ts, r.recalled]);
    const refused = await ask(owner!.c, { type: 'recall', id: old.id }, (m) => m.type === 'error');
    assert.equal(refused.code, 'NO_SUCH_MESSAGE', JSON.stringify(refused));
    const [kept] = await sql(storeUrl, 'SELECT content, recalled FROM room_messages WHERE id = $1', [old.id]);
    assert.deepEqual(kept, { content: 'of the first room', recalled: false }, 'the ended epoch\'s row untouched');
    // The current epoch's message: recalled, its members told on their own nodes.
    owner!.c.send({ type: 'recall', id: current.id });
    for (const u of [owner!, member!]) {
      const told = await u.c.waitFor((m) => m.type === 'recalled' && m.id === current.id, 10_000);
      assert.equal(told.epoch, current.epoch);
    }
    // The old epoch's late row goes when its node applies the room's end: here, by hand.
    await sql(storeUrl, 'DELETE FROM room_messages WHERE id = $1', [old.id]);
  });

  test('switchboard export --store of a cluster\'s room: its newest epoch, labelled; --epoch another; the others named on stderr', async (t) => {
    if (missingPrerequisite(t, MISSING === null, MISSING ?? '')) return;
    const users = await onEveryNode(t);
    const room = uniq('Export');
    await ask(users[0]!.c, { type: 'createroom', roomid: room }, (m) => m.type === 'roomlist');
    for (const u of users) await join(u, room);
    const sent: Msg[] = [];
    for (const [i, u] of users.entries()) sent.push(await say(u, `line ${i} from ${u.id}`));
    const json = await runCli(['export', '--store', storeUrl, '--room', room, '--format', 'json']);
    assert.equal(json.code, 0, json.stderr);
    assert.equal(json.stderr, '', 'one epoch: nothing to say');
    const exported = JSON.parse(json.stdout) as Msg[];
    assert.deepEqual(
      exported.map((m) => [m.id, m.seq, m.epoch, m.identity, m.content]),
      sent.map((m) => [m.id, m.seq, m.epoch, m.identity, m.content]),
      'every message once, with the seq and epoch its members were given',
    );
    const text = await runCli(['export', '--store', storeUrl, '--room', room]);
    assert.equal(text.code, 0, text.stderr);
    assert.deepEqual(text.stdout.trim().split('\n').map((l) => l.replace(/^\[[^\]]*\] /, '')), sent.map((m) => `#${m.seq} ${m.identity}: ${m.content}`));
    // An ended epoch's rows, as a node running behind writes them again: not exported unless asked for.
    const ended = 'e0e0e0e0e0e0e0e0';
    await sql(storeUrl, 'INSERT INTO room_messages (roomid, epoch, seq, id, identity, sender, content, ts, recalled) VALUES ($1, $2, 1, $3, $4, NULL, $5, $6, false)', [room, ended, `${room}-ended`, 'someone', 'of an ended epoch', (sent[0]!.ts as number) - 60_000]);
    const both = await runCli(['export', '--store', storeUrl, '--room', room, '--format', 'json']);
    assert.equal(both.code, 0, both.stderr);
    assert.deepEqual((JSON.parse(both.stdout) as Msg[]).map((m) => m.id), sent.map((m) => m.id), 'the newest epoch');
    assert.match(both.stderr, new RegExp(`has messages under 2 epochs; exporting the newest, ${sent[0]!.epoch} \\(3 messages\\); the others: ${ended} \\(1 messages\\)`));
    const asked = await runCli(['export', '--store', storeUrl, '--room', room, '--epoch', ended, '--format', 'json']);
    assert.deepEqual((JSON.parse(asked.stdout) as Msg[]).map((m) => [m.id, m.epoch, m.content]), [[`${room}-ended`, ended, 'of an ended epoch']]);
    const none = await runCli(['export', '--store', storeUrl, '--room', room, '--epoch', 'ffff']);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /no messages of room \S+ under epoch ffff in the store \(its epochs: /);
    const unknown = await runCli(['export', '--store', storeUrl, '--room', uniq('Nowhere')]);
    assert.equal(unknown.code, 1);
    assert.equal(unknown.stdout, '');
    await sql(storeUrl, 'DELETE FROM room_messages WHERE roomid = $1 AND epoch = $2', [room, ended]);
  });
});
