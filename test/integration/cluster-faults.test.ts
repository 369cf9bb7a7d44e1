import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { TestClient, type Msg } from '../helpers/client';
import { ask, clusterPrerequisites, killGroup, TEST_HEARTBEAT, TEST_NODE_TIMEOUT_MS, user, whoUntil } from '../helpers/cluster-client';
import { startNatsCluster, type NatsCluster, type NatsServerProcess } from '../helpers/nats-cluster';
import { createDatabase, dropDatabase } from '../helpers/postgres-db';
import { missingPrerequisite } from '../helpers/prerequisite';
import { descendants, socketInodes, tcpTable } from '../helpers/procfs';
import { startServer, type RunningServer } from '../helpers/server';
import { sleep } from '../helpers/wait';
import { runTag, uniqueNames } from '../helpers/unique-names';

/**
 * The failures of issue 10 on a real 3-server NATS JetStream cluster and Switchboard nodes
 * (loopback, temporary directories, every process stopped by its pid): kill -9 of a node under
 * a message stream (its client resumes on another node), the loss of a NATS server under a
 * stream, a node restarted on its data dir. Every verdict is by content (0 lost, 0 duplicated),
 * never by time; the recovery times are reported as diagnostics.
 */

const { present, skip: SKIP } = clusterPrerequisites('the cluster failures are');

let nats: NatsCluster | undefined;
/** The PostgreSQL database the nodes share, made for this file and dropped at its end. */
let storeUrl = '';
/** The nodes that live through the whole file (A, B). */
const nodes: RunningServer[] = [];

const uniq = uniqueNames(runTag(4));

function startNode(name: string, opts: { detached?: boolean; dataDir?: string } = {}): Promise<RunningServer> {
  return startServer({ args: ['--cluster', nats!.url, '--store', storeUrl, '--node-id', name, '--workers', '1', ...TEST_HEARTBEAT], detached: opts.detached ?? false, dataDir: opts.dataDir, startTimeoutMs: 30_000 });
}


before(async () => {
  if (!present) return;
  nats = await startNatsCluster(3);
  storeUrl = await createDatabase('sb_cluster_faults');
  for (const name of ['nodeA', 'nodeB']) nodes.push(await startNode(name));
});

after(async () => {
  await Promise.all(nodes.map((s) => s.stop()));
  await nats?.stop();
  if (storeUrl) await dropDatabase(storeUrl);
});



const joined = (id: string, room: string) => (m: Msg): boolean => m.type === 'roomchange' && m.identity === id && m.roomid === room;

async function join(u: { c: TestClient; id: string }, room: string): Promise<void> {
  await ask(u.c, { type: 'join', roomid: room }, joined(u.id, room));
}


/** The room messages a connection received, live and replayed, in arrival order. */
const roomMessages = (c: TestClient, room: string): Msg[] => c.received.filter((m) => m.type === 'message' && m.roomid === room);

/**
 * What a client that de-duplicates by seq (as the terminal client does) ends up showing, from
 * everything its connections received: one message per seq, in seq order. A seq received
 * twice must carry the same message (the overlap of a resume with live delivery), else the
 * check fails: two messages with one seq would be a broken order.
 */
function shown(received: Msg[]): Msg[] {
  const bySeq = new Map<number, Msg>();
  for (const m of received) {
    const seen = bySeq.get(m.seq as number);
    if (seen) assert.deepEqual([seen.id, seen.content, seen.epoch], [m.id, m.content, m.epoch], `seq ${m.seq} delivered as two different messages`);
    else bySeq.set(m.seq as number, m);
  }
  return [...bySeq.values()].sort((a, b) => (a.seq as number) - (b.seq as number));
}

/**
 * Every message the sender saw echoed is shown exactly once, in the sender's order, with the
 * same seq, id and content it was echoed with: 0 lost, 0 duplicated.
 */
function assertExactlyOnce(what: string, got: Msg[], echoed: Msg[]): void {
  const contents = got.map((m) => m.content as string);
  assert.equal(new Set(contents).size, contents.length, `${what}: a content shown under two seqs (a duplicate)`);
  const key = (m: Msg): string => `${m.seq}|${m.epoch}|${m.id}|${m.content}`;
  assert.deepEqual(got.map(key), echoed.map(key), `${what}: exactly what the sender saw echoed, in order`);
}

/**
 * Sends `count` numbered messages from `sender` to its room, one every `everyMs`, and waits
 * for each echo (the sender's own copy, which it receives only once the message is committed
 * and applied). Resolves with the echoes; fails on an `error` or when an echo takes too long.
 */
async function stream(sender: TestClient, room: string, tag: string, count: number, everyMs: number): Promise<Msg[]> {
  for (let i = 0; i < count; i++) {
    sender.send({ type: 'message', content: `${tag} ${i}` });
    await sleep(everyMs);
  }
  const echoes: Msg[] = [];
  const deadline = Date.now() + 60_000;
  while (echoes.length < count) {
    const m = await sender.waitFor((x) => (x.type === 'message' && x.roomid === room) || x.type === 'error', Math.max(1, deadline - Date.now()));
    if (m.type === 'error') throw new Error(`the sender got ${JSON.stringify(m)}`);
    echoes.push(m);
  }
  assert.deepEqual(echoes.map((m) => m.content), Array.from({ length: count }, (_, i) => `${tag} ${i}`), 'the sender\'s messages, echoed in its order');
  return echoes;
}

/** Waits until `c` has received `count` messages of `room` (bounded). */
async function receivedCount(c: TestClient, room: string, count: number, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (roomMessages(c, room).length < count) {
    if (Date.now() > deadline) throw new Error(`only ${roomMessages(c, room).length} of ${count} messages of ${room} within ${timeoutMs} ms`);
    await sleep(20);
  }
}

/** The longest time between two consecutive arrivals in `times` (ms). */
const longestGap = (times: number[]): number => times.slice(1).reduce((max, t, i) => Math.max(max, t - times[i]!), 0);

/** Records when each room message reaches `c` (for the pause diagnostics). */
function arrivals(c: TestClient, room: string): number[] {
  const times: number[] = [];
  c.socket.on('data', () => {
    const now = Date.now();
    while (times.length < roomMessages(c, room).length) times.push(now);
  });
  return times;
}

test('kill -9 of a node during a stream: its receiver resumes on another node with 0 lost and 0 duplicated; the others see it leave', async (t) => {
  if (missingPrerequisite(t, present, SKIP)) return;
  const doomed = await startNode('nodeD', { detached: true });
  t.after(() => killGroup(doomed));
  const [sender, watcher, receiver] = [await user(t, nodes[0]!), await user(t, nodes[1]!), await user(t, doomed)];
  const room = uniq('kill');
  await ask(sender.c, { type: 'createroom', roomid: room }, (m) => m.type === 'roomlist');
  for (const u of [sender, watcher, receiver]) await join(u, room);
  await whoUntil(sender.c, room, (ids) => ids.length === 3);

  const COUNT = 100;
  const sending = stream(sender.c, room, 'kill', COUNT, 40);
  // A fifth of the stream in, the doomed node dies as a machine does: its whole process group.
  await receivedCount(receiver.c, room, COUNT / 5);
  const killedAt = Date.now();
  process.kill(-doomed.pid, 'SIGKILL');
  await receiver.c.closed;
  const before = roomMessages(receiver.c, room);
  const last = before[before.length - 1]!;

  // It comes back elsewhere as the terminal client does: join the room again, then resume
  // from the last seq it saw, in that seq's epoch.
  const again = await user(t, nodes[1]!);
  await join(again, room);
  const resumed = await ask(again.c, { type: 'resume', roomid: room, since: last.seq, epoch: last.epoch }, (m) => m.type === 'resumed' && m.roomid === room);
  const recoveredMs = Date.now() - killedAt;
  assert.equal(resumed.epoch, last.epoch, 'the room\'s epoch is the same on the other node');

  const echoed = await sending;
  await receivedCount(again.c, room, 1);
  // Everything echoed has been committed: the resumed connection gets the rest live.
  const deadline = Date.now() + 30_000;
  while (shown([...before, ...roomMessages(again.c, room)]).length < COUNT && Date.now() < deadline) await sleep(50);
  const overlap = before.length + roomMessages(again.c, room).length - COUNT;
  assertExactlyOnce('the receiver, across its two connections', shown([...before, ...roomMessages(again.c, room)]), echoed);
  assertExactlyOnce('the watcher on another node', shown(roomMessages(watcher.c, room)), echoed);

  // The others saw the killed node's client leave (roomchange to "") within the node timeout bound.
  const left = await watcher.c.waitFor((m) => m.type === 'roomchange' && m.identity === receiver.id && m.former === room, 15_000);
  assert.equal(left.roomid, '');
  const leftAfterMs = Date.now() - killedAt;
  assert.deepEqual((await whoUntil(sender.c, room, (ids) => !ids.includes(receiver.id))).sort(), [sender.id, watcher.id, again.id].sort());
  t.diagnostic(`kill -9 of a node: receiver resumed on another node ${recoveredMs} ms after the kill (reconnect, join, resume); its leave seen on the others by ${leftAfterMs} ms (node timeout ${TEST_NODE_TIMEOUT_MS} ms); ${overlap} message(s) came both live and replayed (dropped by seq)`);
});

test('a node restarted on its data dir replays the log and serves the same rooms, seqs and epochs as the others', async (t) => {
  if (missingPrerequisite(t, present, SKIP)) return;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sb-test-restart-'));
  let node: RunningServer | undefined;
  t.after(async () => {
    if (node) await killGroup(node);
    fs.rmSync(dataDir, { recursive: true, force: true });
  });
  node = await startNode('nodeR', { detached: true, dataDir });
  const [a, r] = [await user(t, nodes[0]!), await user(t, node)];
  const room = uniq('restart');
  await ask(r.c, { type: 'createroom', roomid: room }, (m) => m.type === 'roomlist');
  for (const u of [a, r]) await join(u, room);
  for (let i = 0; i < 5; i++) r.c.send({ type: 'message', content: `before ${i}` });
  await receivedCount(a.c, room, 5);
  await receivedCount(r.c, room, 5);
  const epoch = roomMessages(a.c, room)[0]!.epoch;

  // A crash, then a new process on the same data dir under the same node id.
  await killGroup(node);
  const restartedAt = Date.now();
  node = await startNode('nodeR', { detached: true, dataDir });
  const readyMs = Date.now() - restartedAt;
  // The restarted node's own earlier session leaves (node-start), on every node.
  await whoUntil(a.c, room, (ids) => !ids.includes(r.id));
  const back = await user(t, node);
  const list = (u: { c: TestClient }): Promise<Msg> => ask(u.c, { type: 'list' }, (m) => m.type === 'roomlist');
  const entry = (m: Msg) => (m.rooms as Array<{ roomid: string; count: number }>).find((x) => x.roomid === room);
  assert.deepEqual(entry(await list(back)), entry(await list(a)), 'the room, with the same member count, on both');
  await join(back, room);
  // Its history is the log's, seq for seq, as the survivor has it.
  const history = async (u: { c: TestClient }): Promise<string[]> =>
    ((await ask(u.c, { type: 'history', roomid: room, limit: 100 }, (m) => m.type === 'history' && m.roomid === room)).messages as Msg[]).map((m) => `${m.seq}|${m.id}|${m.content}`);
  assert.deepEqual(await history(back), await history(a));
  // A resume in the old epoch from seq 2 gives seq 3..5: the epoch survived the restart.
  const before = roomMessages(back.c, room).length;
  const resumed = await ask(back.c, { type: 'resume', roomid: room, since: 2, epoch }, (m) => m.type === 'resumed' && m.roomid === room);
  assert.equal(resumed.epoch, epoch);
  assert.deepEqual(roomMessages(back.c, room).slice(before).map((m) => `${m.seq}|${m.epoch}|${m.content}`), [3, 4, 5].map((s) => `${s}|${epoch}|before ${s - 1}`));
  // Both go on with the same next seq.
  a.c.send({ type: 'message', content: 'after' });
  const [onA, onR] = await Promise.all([a, back].map((u) => u.c.waitFor((m) => m.type === 'message' && m.content === 'after', 15_000)));
  assert.deepEqual([onR!.seq, onR!.epoch, onR!.id], [6, epoch, onA!.id]);
  t.diagnostic(`node restart: serving again ${readyMs} ms after the new process started (connect, replay, node-start)`);
});

/** The NATS server (of `servers`) that a node's processes hold a client connection to, if any. */
function natsServerOf(node: RunningServer, servers: NatsServerProcess[]): NatsServerProcess | undefined {
  const inodes = new Set<number>();
  for (const pid of [node.pid, ...descendants(node.pid)]) for (const i of socketInodes(pid)) inodes.add(i);
  const row = tcpTable().find((r) => r.state === '01' && inodes.has(r.inode) && servers.some((s) => s.clientPort === r.remotePort));
  return row && servers.find((s) => s.clientPort === row.remotePort);
}

/** The NATS server that leads the log's stream (its RAFT leader) now. */
async function streamLeader(): Promise<string | undefined> {
  const { connect } = await import('@nats-io/transport-node');
  const { jetstreamManager } = await import('@nats-io/jetstream');
  const nc = await connect({ servers: nats!.url.split(','), timeout: 5000 });
  try {
    const info = await (await jetstreamManager(nc)).streams.info('SWITCHBOARD_LOG');
    return info.cluster?.leader;
  } finally {
    await nc.close();
  }
}

// Last: it leaves the NATS cluster with two servers of three.
/** The last warnings and errors the nodes logged (pino levels 40 and up): why a client was closed. */
function warnings(servers: RunningServer[]): string[] {
  return servers.flatMap((s) => s.logs.filter((l) => Number(l.level) >= 40).map((l) => `${l.role ?? '?'}: ${l.msg ?? ''}`)).slice(-10);
}

test('loss of one NATS server of three during a stream: traffic goes on, 0 lost and 0 duplicated for every receiver', async (t) => {
  if (missingPrerequisite(t, present, SKIP)) return;
  const servers = nats!.servers;
  // The server to kill: the stream's leader if a node is connected to it (the worst case:
  // a new leader is elected and that node reconnects), else the one node A is connected to.
  const leader = await streamLeader();
  const homes = nodes.map((s) => natsServerOf(s, servers));
  let senderAt = homes.findIndex((h) => h?.name === leader);
  if (senderAt === -1) senderAt = 0;
  const victim = homes[senderAt];
  assert.ok(victim, `node ${senderAt} holds a connection to one of the NATS servers`);
  const [sender, r1, r2] = [await user(t, nodes[senderAt]!), await user(t, nodes[0]!), await user(t, nodes[1]!)];
  const room = uniq('natsloss');
  await ask(sender.c, { type: 'createroom', roomid: room }, (m) => m.type === 'roomlist');
  for (const u of [sender, r1, r2]) await join(u, room);
  await whoUntil(sender.c, room, (ids) => ids.length === 3);
  const times = [arrivals(r1.c, room), arrivals(r2.c, room)];

  const COUNT = 100;
  const sending = stream(sender.c, room, 'nats', COUNT, 40);
  await receivedCount(r1.c, room, COUNT / 5);
  await victim.stop('SIGKILL');
  const echoed = await sending;
  for (const r of [r1, r2]) await receivedCount(r.c, room, COUNT);
  for (const [i, r] of [r1, r2].entries()) {
    assert.ok(r.c.isOpen, `receiver ${i + 1} stayed connected; the nodes' warnings: ${JSON.stringify(warnings(nodes))}`);
    assertExactlyOnce(`receiver ${i + 1}`, shown(roomMessages(r.c, room)), echoed);
    assert.equal(roomMessages(r.c, room).length, COUNT, `receiver ${i + 1}: nothing delivered twice`);
  }
  const remade = nodes.map((s) => s.logs.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('cluster log reader:')).length);
  t.diagnostic(`log readers' consumers made again on nodes A and B: ${remade.join(' and ')} time(s)`);
  t.diagnostic(`loss of NATS server ${victim.name} (${victim.name === leader ? 'the stream leader' : `not the stream leader ${leader}`}, the sender's node's server): longest pause between deliveries ${times.map(longestGap).join(' ms and ')} ms (steady pace: one message every 40 ms)`);
});
