import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { TestClient, type Msg } from '../helpers/client';
import { ask, clusterPrerequisites, TEST_HEARTBEAT, user } from '../helpers/cluster-client';
import { startNatsCluster, type NatsCluster } from '../helpers/nats-cluster';
import { createDatabase, dropDatabase, sql } from '../helpers/postgres-db';
import { missingPrerequisite } from '../helpers/prerequisite';
import { startServer, type RunningServer } from '../helpers/server';
import { runTag, uniqueNames } from '../helpers/unique-names';

/**
 * A cluster on PostgreSQL: three NATS servers, three Switchboard nodes, one fresh database
 * they all write (docs/CLUSTER.md, "PostgreSQL in a cluster"). Every node writes what it
 * applies under the message's epoch; the table is checked directly: each message once, with
 * the seq and epoch every node delivered; a node killed -9 and started again deletes nothing;
 * a room deleted and made again starts a new epoch with none of the old messages anywhere.
 */

const { present, skip: SKIP } = clusterPrerequisites('the cluster is');

let nats: NatsCluster | undefined;
let storeUrl = '';
const nodes: RunningServer[] = [];
const dirs: string[] = [];

const uniq = uniqueNames(runTag(4));

interface Row {
  roomid: string;
  epoch: string;
  seq: number;
  id: string;
  content: string;
}

/** A node of the cluster; `dataDir` given: a restart of an earlier node on its data dir. */
async function startNode(name: string, dataDir: string, detached = false): Promise<RunningServer> {
  return startServer({ args: ['--cluster', nats!.url, '--store', storeUrl, '--node-id', name, '--workers', '1', ...TEST_HEARTBEAT], dataDir, detached, startTimeoutMs: 45_000 });
}

before(async () => {
  if (!present) return;
  nats = await startNatsCluster(3);
  storeUrl = await createDatabase('sb_cstore');
  for (const name of ['nodeA', 'nodeB', 'nodeC']) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sb-cstore-'));
    dirs.push(dir);
    // nodeC in a process group of its own: it is killed -9 as a whole machine would die.
    nodes.push(await startNode(name, dir, name === 'nodeC'));
  }
});

after(async () => {
  await Promise.all(nodes.map((s) => s.stop()));
  await nats?.stop();
  if (storeUrl) await dropDatabase(storeUrl);
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});



async function history(c: TestClient, roomid: string): Promise<Msg> {
  return ask(c, { type: 'history', roomid, limit: 200 }, (m) => m.type === 'history' && m.roomid === roomid);
}

async function join(u: { c: TestClient; id: string }, roomid: string): Promise<void> {
  await ask(u.c, { type: 'join', roomid }, (m) => m.type === 'roomchange' && m.identity === u.id && m.roomid === roomid);
}

/** Polls `who` from `c` until all of `ids` are in `roomid` (bounded). */
async function allIn(c: TestClient, roomid: string, ids: string[]): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const m = await ask(c, { type: 'who', roomid }, (x) => x.type === 'roomcontents' && x.roomid === roomid);
    if (ids.every((id) => (m.identities as string[]).includes(id))) return;
    if (Date.now() > deadline) throw new Error(`${ids} never all in ${roomid}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function rows(roomid: string): Promise<Row[]> {
  return sql<Row>(storeUrl, 'SELECT roomid, epoch, seq::int AS seq, id, content FROM room_messages WHERE roomid = $1 ORDER BY epoch, seq', [roomid]);
}

/** Each user sends `count` messages in turn, each waiting for its echo; returns the echoes. */
async function converse(users: Array<{ c: TestClient; id: string }>, roomid: string, count: number, check?: (echo: Msg) => Promise<void>): Promise<Msg[]> {
  const echoes: Msg[] = [];
  for (let i = 0; i < count; i++) {
    for (const u of users) {
      const content = `${u.id} says ${i}`;
      const echo = await ask(u.c, { type: 'message', content }, (m) => m.type === 'message' && m.roomid === roomid && m.content === content);
      echoes.push(echo);
      if (check) await check(echo);
    }
  }
  return echoes;
}

test('messages from every node are stored once each with the seq and epoch delivered; history on every node right after a send includes it', async (t) => {
  if (missingPrerequisite(t, present, SKIP)) return;
  const users = [await user(t, nodes[0]!), await user(t, nodes[1]!), await user(t, nodes[2]!)];
  const room = uniq('shared');
  await ask(users[0]!.c, { type: 'createroom', roomid: room }, (m) => m.type === 'roomlist');
  for (const u of users) await join(u, room);
  await allIn(users[0]!.c, room, users.map((u) => u.id));
  const echoes = await converse(users, room, 4, async (echo) => {
    // Its sender's node wrote it before the echo: every node's history has it now.
    for (const u of users) {
      const h = await history(u.c, room);
      assert.equal(h.epoch, echo.epoch);
      assert.ok((h.messages as Msg[]).some((m) => m.id === echo.id && m.seq === echo.seq), `${echo.id} in the history on ${u.id}'s node`);
    }
  });
  assert.deepEqual(echoes.map((m) => m.seq), Array.from({ length: echoes.length }, (_, i) => i + 1));
  // Every member received all of them, with the same seq and epoch.
  for (const u of users) {
    const got = (h: Msg) => (h.messages as Msg[]).map((m) => `${m.seq}|${m.epoch}|${m.id}`);
    assert.deepEqual(got(await history(u.c, room)), echoes.map((m) => `${m.seq}|${m.epoch}|${m.id}`));
  }
  const stored = await rows(room);
  assert.deepEqual(
    stored.map((r) => `${r.seq}|${r.epoch}|${r.id}|${r.content}`),
    echoes.map((m) => `${m.seq}|${m.epoch}|${m.id}|${m.content}`),
    'the table holds each message once, under the seq and epoch delivered, and nothing else of the room',
  );
});

test('a room deleted and made again gets a new epoch and none of the old messages, on every node and in the table', async (t) => {
  if (missingPrerequisite(t, present, SKIP)) return;
  const users = [await user(t, nodes[0]!), await user(t, nodes[1]!), await user(t, nodes[2]!)];
  const room = uniq('again');
  await ask(users[1]!.c, { type: 'createroom', roomid: room }, (m) => m.type === 'roomlist');
  for (const u of users) await join(u, room);
  await allIn(users[1]!.c, room, users.map((u) => u.id));
  const old = await converse(users, room, 2);
  const oldEpoch = old[0]!.epoch as string;
  await ask(users[1]!.c, { type: 'delete', roomid: room }, (m) => m.type === 'roomlist' && !(m.rooms as Array<{ roomid: string }>).some((r) => r.roomid === room));
  // Every node applies the delete; one of them deletes the epoch's rows first, the others find them gone.
  const deadline = Date.now() + 15_000;
  while ((await rows(room)).length > 0) {
    assert.ok(Date.now() < deadline, `the old epoch's rows are deleted: ${JSON.stringify(await rows(room))}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  await ask(users[2]!.c, { type: 'createroom', roomid: room }, (m) => m.type === 'roomlist' && (m.rooms as Array<{ roomid: string }>).some((r) => r.roomid === room));
  for (const u of users) await join(u, room);
  await allIn(users[2]!.c, room, users.map((u) => u.id));
  for (const u of users) {
    const h = await history(u.c, room);
    assert.deepEqual(h.messages, [], `no old message on ${u.id}'s node`);
    assert.notEqual(h.epoch, oldEpoch);
  }
  const fresh = await converse([users[0]!], room, 1);
  assert.equal(fresh[0]!.seq, 1, 'the new room counts from 1');
  assert.notEqual(fresh[0]!.epoch, oldEpoch);
  for (const u of users) {
    const h = await history(u.c, room);
    assert.deepEqual((h.messages as Msg[]).map((m) => `${m.epoch}|${m.seq}|${m.id}`), [`${fresh[0]!.epoch}|1|${fresh[0]!.id}`]);
  }
  assert.deepEqual((await rows(room)).map((r) => `${r.epoch}|${r.seq}|${r.id}`), [`${fresh[0]!.epoch}|1|${fresh[0]!.id}`]);
});

test('a node killed -9 and started again (same data dir, same database) loses nothing and deletes nothing', async (t) => {
  if (missingPrerequisite(t, present, SKIP)) return;
  const [a, b] = [await user(t, nodes[0]!), await user(t, nodes[1]!)];
  const room = uniq('restart');
  await ask(a.c, { type: 'createroom', roomid: room }, (m) => m.type === 'roomlist');
  for (const u of [a, b]) await join(u, room);
  await allIn(a.c, room, [a.id, b.id]);
  const before = await converse([a, b], room, 3);
  // A room that ends before the restart: the replay writes its epoch again, then deletes it again.
  const gone = uniq('gone');
  await ask(a.c, { type: 'createroom', roomid: gone }, (m) => m.type === 'roomlist');
  await join(a, gone);
  await converse([a], gone, 2);
  await ask(a.c, { type: 'delete', roomid: gone }, (m) => m.type === 'roomlist' && !(m.rooms as Array<{ roomid: string }>).some((r) => r.roomid === gone));
  await join(a, room);
  const snapshot = await rows(room);
  assert.equal(snapshot.length, before.length);

  const doomed = nodes[2]!;
  process.kill(-doomed.pid, 'SIGKILL');
  await doomed.exited;
  // While it is down, and while it replays, the others go on.
  const during = await converse([a, b], room, 2);
  const restarted = await startNode('nodeC', doomed.dataDir, true);
  nodes[2] = restarted;
  const c = await user(t, restarted);
  await join(c, room);
  await allIn(a.c, room, [a.id, b.id, c.id]);
  const afterwards = await converse([c, a], room, 2);
  const all = [...before, ...during, ...afterwards];
  assert.deepEqual(all.map((m) => m.seq), Array.from({ length: all.length }, (_, i) => i + 1), 'one sequence across the restart');
  const stored = await rows(room);
  for (const r of snapshot) assert.ok(stored.some((s) => s.id === r.id && s.seq === r.seq && s.epoch === r.epoch), `${r.id} (seq ${r.seq}) still stored`);
  assert.deepEqual(stored.map((r) => `${r.epoch}|${r.seq}|${r.id}`), all.map((m) => `${m.epoch}|${m.seq}|${m.id}`), 'each message once, nothing lost, nothing extra');
  const h = await history(c.c, room);
  assert.deepEqual((h.messages as Msg[]).map((m) => m.id), all.map((m) => m.id), 'the restarted node\'s history is the whole room');
  // The replay wrote the ended room's epoch again on its way, then deleted it when it came to the delete.
  const deadline = Date.now() + 15_000;
  while ((await rows(gone)).length > 0) {
    assert.ok(Date.now() < deadline, 'the replayed epoch of an ended room is deleted again');
    await new Promise((r) => setTimeout(r, 100));
  }
});

test('a cluster node refuses to start on SQLite, or without reaching PostgreSQL, saying why', async (t) => {
  await assert.rejects(startServer({ args: ['--cluster', 'nats://127.0.0.1:4222', '--workers', '1'] }), (err: Error) => {
    assert.match(err.message, /cluster needs store set to a postgres:\/\/USER@HOST:PORT\/DB URL/);
    return true;
  });
  if (missingPrerequisite(t, present, SKIP)) return;
  await assert.rejects(
    startServer({ args: ['--cluster', nats!.url, '--store', 'postgres://sb:secret@127.0.0.1:1/sb', '--workers', '1'], startTimeoutMs: 30_000 }),
    (err: Error) => {
      assert.match(err.message, /exited with 1 before listening/);
      assert.match(err.message, /cannot reach the cluster's PostgreSQL store postgres:\/\/sb:\*\*\*@127\.0\.0\.1:1\/sb/);
      return true;
    },
  );
});
