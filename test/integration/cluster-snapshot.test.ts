import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test, type TestContext } from 'node:test';
import { TestClient, type Msg } from '../helpers/client';
import { ask, clusterPrerequisites, killGroup, user, whoUntil } from '../helpers/cluster-client';
import { startNatsCluster, type NatsCluster } from '../helpers/nats-cluster';
import { createDatabase, dropDatabase } from '../helpers/postgres-db';
import { missingPrerequisite } from '../helpers/prerequisite';
import { startServer, type RunningServer } from '../helpers/server';
import { sleep } from '../helpers/wait';

/**
 * Snapshots (issue 10) on a real 3-server NATS JetStream cluster and nodes sharing one fresh
 * PostgreSQL database: a log bounded at 100 entries with a snapshot every 20, traffic until it
 * has discarded its first entries; then a new node, and a node restarted on its data dir,
 * start from a snapshot and agree with the others (names, rooms, members, room rules, history,
 * the next message's seq and epoch). With the snapshots gone, a start is refused with the reason.
 */

const { present, skip: SKIP } = clusterPrerequisites('cluster snapshots are');
const MAX_MESSAGES = 100;
const EVERY = 20;
const FLAGS = [
  ...['--cluster-log-max-messages', String(MAX_MESSAGES), '--cluster-snapshot-every', String(EVERY), '--cluster-snapshot-keep', '2'],
  ...['--cluster-heartbeat-ms', '300', '--cluster-node-timeout-ms', '2000', '--rate-limit', '1000', '--rate-burst', '1000', '--account-rate-limit', '1000'],
];

let nats: NatsCluster | undefined;
let storeUrl = '';
const nodes: RunningServer[] = [];
/** Node B's data dir: B is restarted on it. */
let dirB = '';

function startNode(name: string, opts: { detached?: boolean; dataDir?: string } = {}): Promise<RunningServer> {
  return startServer({ args: ['--cluster', nats!.url, '--store', storeUrl, '--node-id', name, '--workers', '1', ...FLAGS], detached: opts.detached ?? false, dataDir: opts.dataDir, startTimeoutMs: 30_000 });
}


before(async () => {
  if (!present) return;
  nats = await startNatsCluster(3);
  storeUrl = await createDatabase('sb_cluster_snapshot');
  dirB = fs.mkdtempSync(path.join(os.tmpdir(), 'sb-test-snapB-'));
  nodes.push(await startNode('snapA'), await startNode('snapB', { detached: true, dataDir: dirB }));
});

after(async () => {
  for (const node of nodes) await killGroup(node);
  await nats?.stop();
  if (storeUrl) await dropDatabase(storeUrl);
  if (dirB) fs.rmSync(dirB, { recursive: true, force: true });
});

/** A NATS connection of the test's own (to read the log's stream and the snapshot bucket). */
async function withNats<T>(fn: (jsm: import('@nats-io/jetstream').JetStreamManager) => Promise<T>): Promise<T> {
  const { connect } = await import('@nats-io/transport-node');
  const { jetstreamManager } = await import('@nats-io/jetstream');
  const nc = await connect({ servers: nats!.url.split(','), timeout: 5000 });
  try {
    return await fn(await jetstreamManager(nc));
  } finally {
    await nc.close();
  }
}

const firstSeq = (): Promise<number> => withNats(async (jsm) => (await jsm.streams.info('SWITCHBOARD_LOG')).state.first_seq);

/** Seqs of the stored snapshots (their manifests' keys), newest first. */
const snapshotSeqs = (): Promise<number[]> =>
  withNats(async (jsm) => {
    const info = await jsm.streams.info('KV_SWITCHBOARD_SNAPSHOTS', { subjects_filter: '$KV.SWITCHBOARD_SNAPSHOTS.>' });
    return Object.keys(info.state.subjects ?? {})
      .filter((s) => s.endsWith('.m'))
      .map((s) => Number(s.split('.').at(-2)))
      .sort((a, b) => b - a);
  });




/** What a node shows of the chat, from one of its clients: rooms with counts, members and owners of each, a room's history. */
async function view(c: TestClient, room: string): Promise<unknown> {
  const list = (await ask(c, { type: 'list' }, (m) => m.type === 'roomlist')).rooms as Array<{ roomid: string }>;
  const who: Record<string, unknown> = {};
  for (const { roomid } of list) {
    const m = await ask(c, { type: 'who', roomid }, (x) => x.type === 'roomcontents' && x.roomid === roomid);
    who[roomid] = { identities: [...(m.identities as string[])].sort(), owner: m.owner };
  }
  const history = ((await ask(c, { type: 'history', roomid: room, limit: 500 }, (m) => m.type === 'history' && m.roomid === room)).messages as Msg[]).map((m) => `${m.seq}|${m.id}|${m.content}`);
  return { list, who, history };
}

/** The seq and epoch of the next message in `room`, as `receivers` get it (the same on every node). */
async function nextMessage(sender: TestClient, receivers: TestClient[], room: string, content: string): Promise<{ seq: number; epoch: string; id: string }> {
  sender.send({ type: 'message', content });
  const got = await Promise.all(receivers.map((c) => c.waitFor((m) => m.type === 'message' && m.roomid === room && m.content === content, 20_000)));
  for (const m of got) assert.deepEqual([m.seq, m.epoch, m.id], [got[0]!.seq, got[0]!.epoch, got[0]!.id], `${content}: one seq, epoch and id on every node`);
  return { seq: got[0]!.seq as number, epoch: got[0]!.epoch as string, id: got[0]!.id as string };
}

/** A guest on `node` that takes the name `mallory` is refused `room` by its ban, a rule only the state (and so a snapshot) carries. */
async function assertBanned(t: TestContext, node: RunningServer, room: string): Promise<void> {
  const m = await user(t, node);
  await ask(m.c, { type: 'identitychange', identity: 'mallory' }, (x) => x.type === 'newidentity' && x.identity === 'mallory');
  const refused = await ask(m.c, { type: 'join', roomid: room }, (x) => x.type === 'error');
  assert.equal(refused.code, 'BANNED', JSON.stringify(refused));
  await m.c.close();
}

/** The node's log line saying where it started: the snapshot's seq, or undefined when it replayed from seq 1. */
function restoredAt(node: RunningServer): number | undefined {
  return node.logs.find((l) => l.msg === 'cluster snapshot restored')?.seq as number | undefined;
}

test('a new node and a restarted one start from a snapshot when the log has discarded its first entries, and agree with the others', async (t) => {
  if (missingPrerequisite(t, present, SKIP)) return;
  const [A, B] = nodes as [RunningServer, RunningServer];
  const [a, b] = [await user(t, A), await user(t, B)];
  const room = 'snaproom';
  await ask(a.c, { type: 'createroom', roomid: room }, (m) => m.type === 'roomlist');
  await ask(a.c, { type: 'join', roomid: room }, (m) => m.type === 'roomchange' && m.roomid === room);
  await ask(b.c, { type: 'join', roomid: room }, (m) => m.type === 'roomchange' && m.roomid === room && m.identity === b.id);
  // Room rules, which only the state (and so a snapshot) carries.
  const banned = await ask(a.c, { type: 'ban', roomid: room, identity: 'mallory', reason: 'spam' }, (m) => m.type === 'ban' || m.type === 'error');
  assert.equal(banned.type, 'ban', JSON.stringify(banned));
  await ask(a.c, { type: 'identitychange', identity: 'Snapper' }, (m) => m.type === 'newidentity' && m.identity === 'Snapper');

  // Traffic until the log has discarded its first entries (it keeps MAX_MESSAGES).
  const COUNT = MAX_MESSAGES + 3 * EVERY;
  for (let i = 0; i < COUNT; i++) a.c.send({ type: 'message', content: `m ${i}` });
  await b.c.waitFor((m) => m.type === 'message' && m.content === `m ${COUNT - 1}`, 60_000);
  const first = await firstSeq();
  assert.ok(first > 1, `the log discarded its first entries (first seq ${first})`);
  // A snapshot covering what was discarded is stored (the nodes upload them as they go).
  const deadline = Date.now() + 30_000;
  while (((await snapshotSeqs())[0] ?? 0) < first - 1) {
    if (Date.now() > deadline) throw new Error(`no snapshot at seq ${first - 1} or later: ${JSON.stringify(await snapshotSeqs())}`);
    await sleep(200);
  }
  const kept = await snapshotSeqs();
  assert.ok(kept.length <= 2 + 1, `older snapshots are removed (keep 2; one more may be on its way): ${JSON.stringify(kept)}`);
  assert.ok(kept.every((s) => s % EVERY === 0), `snapshots at multiples of ${EVERY}: ${JSON.stringify(kept)}`);

  // A new node: from a snapshot, not from seq 1 (which the log no longer has).
  const C = await startNode('snapC');
  nodes.push(C);
  const at = restoredAt(C);
  assert.ok(at !== undefined && at >= first - 1, `node C restored a snapshot at seq ${at} (the log's first seq ${first})`);
  const c = await user(t, C);
  // A guest name nobody goes by (guest1 is free again: a renamed itself).
  assert.ok(![b.id, 'Snapper'].includes(c.id), `C's guest ${c.id} is not B's ${b.id} nor A's Snapper`);
  await ask(c.c, { type: 'join', roomid: room }, (m) => m.type === 'roomchange' && m.roomid === room && m.identity === c.id);
  await whoUntil(a.c, room, (ids) => ids.length === 3);
  assert.deepEqual(await view(c.c, room), await view(a.c, room), 'node C shows what node A does');
  await assertBanned(t, C, room);
  const next = await nextMessage(b.c, [a.c, b.c, c.c], room, 'after C');
  const firstEcho = a.c.received.find((m) => m.type === 'message' && m.content === 'm 0')!;
  assert.equal(next.epoch, firstEcho.epoch, 'the room\'s epoch survived the snapshot');
  assert.equal(next.seq, COUNT + 1, 'the next seq follows the last, on every node');

  // Node B crashes and starts again on its data dir: from a snapshot too, its old session gone.
  await killGroup(B);
  // More traffic meanwhile, so that B's start has entries after the snapshot to replay.
  for (let i = 0; i < EVERY + 5; i++) a.c.send({ type: 'message', content: `n ${i}` });
  await c.c.waitFor((m) => m.type === 'message' && m.content === `n ${EVERY + 4}`, 60_000);
  const restartedAt = Date.now();
  const B2 = await startNode('snapB', { detached: true, dataDir: dirB });
  const readyMs = Date.now() - restartedAt;
  nodes[1] = B2;
  assert.ok((restoredAt(B2) ?? 0) >= first - 1, `node B restarted from a snapshot (at seq ${restoredAt(B2)})`);
  await whoUntil(a.c, room, (ids) => !ids.includes(b.id) && ids.length === 2);
  const b2 = await user(t, B2);
  await ask(b2.c, { type: 'join', roomid: room }, (m) => m.type === 'roomchange' && m.roomid === room && m.identity === b2.id);
  await whoUntil(c.c, room, (ids) => ids.length === 3);
  const views = await Promise.all([a, b2, c].map((u) => view(u.c, room)));
  assert.deepEqual(views[1], views[0], 'restarted node B shows what node A does');
  assert.deepEqual(views[2], views[0], 'node C shows what node A does');
  await assertBanned(t, B2, room);
  const last = await nextMessage(c.c, [a.c, b2.c, c.c], room, 'after B');
  assert.deepEqual([last.seq, last.epoch], [COUNT + 1 + EVERY + 5 + 1, next.epoch]);
  t.diagnostic(`log first seq ${first} after ${COUNT} messages; node C restored the snapshot at ${at}, restarted node B the one at ${restoredAt(B2)}, serving ${readyMs} ms after its process started; snapshots kept: ${JSON.stringify(await snapshotSeqs())}`);
});

// Last: it removes the snapshots.
test('a node refuses to start, saying why, when the log has discarded entries and no snapshot covers them', async (t) => {
  if (missingPrerequisite(t, present, SKIP)) return;
  // No node left to write a snapshot meanwhile (their clients' leaving is logged first).
  for (const node of nodes.splice(0)) await node.stop();
  const first = await firstSeq();
  assert.ok(first > 1, 'the log has discarded entries (the test before)');
  await withNats((jsm) => jsm.streams.purge('KV_SWITCHBOARD_SNAPSHOTS'));
  assert.deepEqual(await snapshotSeqs(), []);
  await assert.rejects(startNode('snapD'), (err: Error) => {
    assert.match(err.message, /exited with 1 before listening/);
    assert.match(err.message, new RegExp(`the cluster log has discarded its entries before seq ${first} .*no snapshot at seq ${first - 1} or later can be read`));
    return true;
  });
});
