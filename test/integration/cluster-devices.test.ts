import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TestClient, type Msg } from '../helpers/client';
import { clusterNodes, clusterPrerequisites, user, whoUntil } from '../helpers/cluster-client';
import { missingPrerequisite } from '../helpers/prerequisite';
import { PASSWORD, expectFields, login, ok, register } from '../helpers/requests';
import { sleep, until, within } from '../helpers/wait';
import { runTag, uniqueNames } from '../helpers/unique-names';

/**
 * Several devices of one account on the nodes of a cluster (issue 11): two Switchboard nodes
 * over a real 3-server NATS JetStream cluster and one fresh PostgreSQL database. The devices
 * of an account on node A and node B receive the same DM, its name shows once, a login past
 * `--max-devices` on one node replaces the oldest device on the other, and a contact on one
 * node sees the presence changes of an account whose devices are on the other; `blocklist`
 * and the away `state` of `presence` read on a node other than where they were set, and a
 * block hides each side's presence from the other on either node. A room with members on both
 * nodes sees an account's `roomchange` once when its name enters and once when it leaves,
 * whichever node each of its devices is on.
 */

const { present, skip } = clusterPrerequisites('several devices per account on a cluster are');

const nodes = clusterNodes(present, 'sb_cluster_devices', ['nodeA', 'nodeB'], ['--workers', '1', '--max-devices', '2', '--inbox-window', '2']);

const uniq = uniqueNames(runTag(3));

/** Waits until `c` has received, at or after index `from`, a message matching `pred` (a cluster may take a while). */
function seen(c: TestClient, from: number, pred: (m: Msg) => boolean, what: string): Promise<Msg> {
  return until(what, () => c.received.slice(from).find(pred), 15_000);
}

test('two devices of one account on two nodes: the same DM, the name once, replacement across nodes, presence seen on the other node', { timeout: 120_000 }, async (t) => {
  if (missingPrerequisite(t, present, skip)) return;
  const [nodeA, nodeB] = [nodes[0]!, nodes[1]!];
  const alice = uniq('Al');
  const bob = uniq('Bo');
  const carol = uniq('Ca');
  const reg = await user(t, nodeA);
  for (const name of [alice, bob, carol]) await register(reg.c, name);

  // Carol (node A) watches alice before alice is online.
  const c1 = await user(t, nodeA);
  await login(c1, carol);
  // The contact list every login brings (empty), before the one the add answers.
  await c1.c.waitFor((m) => m.type === 'contacts', 15_000);
  const list = await ok(c1.c, { type: 'contacts', action: 'add', username: alice }, 'contacts', () => true, 15_000);
  expectFields((list.contacts as Msg[])[0]!, { username: alice, online: false, state: 'offline' });

  // Alice's first device on node A: carol sees her come online.
  let mark = c1.c.received.length;
  const a1 = await user(t, nodeA);
  await login(a1, alice);
  await seen(c1.c, mark, (m) => m.type === 'presencechange' && m.username === alice && m.online === true, 'alice online');

  // Her second device on node B: the name shows once on both nodes.
  const a2 = await user(t, nodeB);
  await login(a2, alice);
  for (const node of [nodeA, nodeB]) {
    const probe = await user(t, node);
    const ids = await whoUntil(probe.c, 'MainHall', (xs) => xs.includes(alice) && xs.includes(carol));
    assert.equal(ids.filter((x) => x === alice).length, 1, `alice once in MainHall as node ${node.port} sees it`);
  }

  // Bob on node B writes to alice: both devices get it, each once.
  const b1 = await user(t, nodeB);
  await login(b1, bob);
  const marks = [a1.c.received.length, a2.c.received.length];
  const echo = await ok(b1.c, { type: 'dm', to: alice, content: 'to every device' }, 'dm', (m) => m.content === 'to every device', 15_000);
  for (const [i, d] of [a1, a2].entries()) {
    const got = await seen(d.c, marks[i]!, (m) => m.type === 'dm' && m.id === echo.id, `device ${i + 1} gets the DM`);
    expectFields(got, { from: bob, to: alice, content: 'to every device' });
  }

  // Alice's reply from node B shows on her device on node A too.
  const aMark = a1.c.received.length;
  await ok(a2.c, { type: 'dm', to: bob, content: 'reply' }, 'dm', (m) => m.content === 'reply', 15_000);
  await seen(a1.c, aMark, (m) => m.type === 'dm' && m.content === 'reply' && m.from === alice, 'the sender\'s device on the other node sees the reply');

  // Presence changes made on node B reach carol on node A.
  mark = c1.c.received.length;
  a2.c.send({ type: 'away', on: true });
  await seen(c1.c, mark, (m) => m.type === 'presencechange' && m.username === alice && m.state === 'away', 'away seen across nodes');
  mark = c1.c.received.length;
  await ok(a2.c, { type: 'status', text: 'on the train' }, 'profile', () => true, 15_000);
  await seen(c1.c, mark, (m) => m.type === 'presencechange' && m.username === alice && m.status === 'on the train', 'status seen across nodes');

  // --max-devices 2: a third login, on node A, replaces the oldest device (node A's a1); the
  // node B device stays, and alice never goes offline for carol.
  mark = c1.c.received.length;
  const a3 = await user(t, nodeA);
  const replacedFrom = a1.c.received.length;
  a3.c.send({ type: 'login', username: alice, password: PASSWORD });
  await seen(a3.c, 0, (m) => m.type === 'loggedin', 'third device logged in');
  const err = await seen(a1.c, replacedFrom, (m) => m.type === 'error', 'the oldest device is told');
  expectFields(err, { code: 'SESSION_REPLACED' });
  assert.ok(await within(a1.c.closed, 10_000), 'the oldest device is closed');
  assert.ok(a2.c.isOpen, 'the device on node B stays');

  // The last devices leave (one per node): offline only after the second.
  await ok(a2.c, { type: 'logout' }, 'loggedout', () => true, 15_000);
  await ok(a3.c, { type: 'logout' }, 'loggedout', () => true, 15_000);
  await seen(c1.c, mark, (m) => m.type === 'presencechange' && m.username === alice && m.online === false, 'alice offline');
  const between = c1.c.received.slice(mark).filter((m) => m.type === 'presencechange' && m.username === alice);
  assert.equal(between.filter((m) => m.online === false).length, 1, `offline once, after the last device: ${JSON.stringify(between)}`);
  assert.equal(between.at(-1)!.online, false);
});

test('an ack from a device on one node moves the inbox delivery of a device on the other node', { timeout: 90_000 }, async (t) => {
  if (missingPrerequisite(t, present, skip)) return;
  const [nodeA, nodeB] = [nodes[0]!, nodes[1]!];
  const dee = uniq('De');
  const eve = uniq('Ev');
  const reg = await user(t, nodeA);
  for (const name of [dee, eve]) await register(reg.c, name);
  const e1 = await user(t, nodeB);
  await login(e1, eve);
  for (const content of ['one', 'two', 'three']) await ok(e1.c, { type: 'dm', to: dee, content }, 'dm', (m) => m.content === content, 15_000);
  const inboxOf = (c: TestClient): Msg[] => c.received.filter((m) => m.type === 'dm' && typeof m.inbox === 'number');
  // --inbox-window 2: each device is sent the first two and waits for an ack.
  const d1 = await user(t, nodeA);
  await login(d1, dee);
  const d2 = await user(t, nodeB);
  await login(d2, dee);
  for (const d of [d1, d2]) await until('two inbox entries', () => inboxOf(d.c).length === 2 || undefined, 15_000);
  // d1 (node A) acks both: d1 gets the third, and so does d2 (node B), which acked nothing.
  d1.c.send({ type: 'ack', inbox: inboxOf(d1.c)[1]!.inbox });
  for (const d of [d1, d2]) await until('the third entry', () => inboxOf(d.c).length === 3 || undefined, 15_000);
  assert.deepEqual(inboxOf(d2.c).map((m) => m.content), ['one', 'two', 'three']);
});

test('blocklist and the away state of presence across nodes: blocks made on node A read on node B; away set on B seen on A; blocked presence hidden on both', { timeout: 90_000 }, async (t) => {
  if (missingPrerequisite(t, present, skip)) return;
  const [nodeA, nodeB] = [nodes[0]!, nodes[1]!];
  const fay = uniq('Fa');
  const gus = uniq('Gu');
  const hal = uniq('Ha');
  const reg = await user(t, nodeA);
  for (const name of [fay, gus, hal]) await register(reg.c, name);
  const f1 = await user(t, nodeA);
  await login(f1, fay);
  for (const who of [hal, gus]) await ok(f1.c, { type: 'block', user: who }, 'blocklist', () => true, 15_000);
  // A device that just logged in on the other node asks for the list: the store's, sorted.
  const f2 = await user(t, nodeB);
  await login(f2, fay);
  expectFields(await ok(f2.c, { type: 'blocklist' }, 'blocklist', () => true, 15_000), { users: [gus, hal].sort() });
  // gus (no contact of anyone) goes away on node B: a presence query on node A says so.
  const g1 = await user(t, nodeB);
  await login(g1, gus);
  g1.c.send({ type: 'away', on: true });
  const asker = await user(t, nodeA);
  const deadline = Date.now() + 15_000;
  for (;;) {
    const p = await ok(asker.c, { type: 'presence', users: [gus] }, 'presence', () => true, 15_000);
    const entry = (p.users as Msg[])[0]!;
    if (entry.state === 'away') {
      expectFields(entry, { username: gus, online: true, dnd: false, state: 'away' });
      break;
    }
    assert.ok(Date.now() < deadline, `gus never away on node A: ${JSON.stringify(entry)}`);
    await sleep(50);
  }
  // fay blocked gus (on node A): gus, on node B, sees fay (online on both nodes) as an offline
  // user with no status, and fay sees gus likewise, away though he is; unblocked, the truth.
  await ok(f1.c, { type: 'status', text: 'busy' }, 'profile', () => true, 15_000);
  const ask = async (c: TestClient, name: string): Promise<Msg> => ((await ok(c, { type: 'presence', users: [name] }, 'presence', () => true, 15_000)).users as Msg[])[0]!;
  const offline = (username: string) => ({ username, online: false, state: 'offline', status: '', dnd: false });
  assert.deepEqual(await ask(g1.c, fay), offline(fay), 'the blocked user, on the other node');
  assert.deepEqual(await ask(f2.c, gus), offline(gus), 'the blocker, on the other node');
  assert.deepEqual(await ask(f1.c, gus), offline(gus), 'the blocker, on its own node');
  await ok(f1.c, { type: 'unblock', user: gus }, 'blocklist', () => true, 15_000);
  assert.deepEqual(await ask(g1.c, fay), { username: fay, online: true, state: 'online', status: 'busy', dnd: false }, 'unblocked: the truth');
  expectFields(await ask(f2.c, gus), { username: gus, online: true, state: 'away' });
});

test('a room with observers on both nodes sees an account\'s roomchange only when its name enters or leaves, its devices on two nodes', { timeout: 90_000 }, async (t) => {
  if (missingPrerequisite(t, present, skip)) return;
  const [nodeA, nodeB] = [nodes[0]!, nodes[1]!];
  const ivy = uniq('Iv');
  const room = uniq('rm');
  const reg = await user(t, nodeA);
  await register(reg.c, ivy);
  // A core (seed-004) observer on node A, an extended one on node B, both in the room.
  const { client: coreA, identity: coreId } = await TestClient.welcomed(nodeA.port, 20_000, { core: true });
  t.after(() => coreA.close());
  const extB = await user(t, nodeB);
  await ok(extB.c, { type: 'createroom', roomid: room }, 'roomlist', (m) => (m.rooms as Msg[]).some((r) => r.roomid === room), 15_000);
  await ok(extB.c, { type: 'join', roomid: room }, 'roomchange', (m) => m.roomid === room, 15_000);
  await whoUntil(coreA, room, (ids) => ids.includes(extB.id));
  await ok(coreA, { type: 'join', roomid: room }, 'roomchange', (m) => m.identity === coreId && m.roomid === room, 15_000);
  const observers = [coreA, extB.c];
  const marks = observers.map((c) => c.received.length);
  /** After the room shows `names` on both observers' nodes and a quiet while, each was told `moves` roomchange lines of ivy. */
  const check = async (step: string, present: boolean, moves: number): Promise<void> => {
    for (const c of observers) await whoUntil(c, room, (ids) => ids.includes(ivy) === present);
    await sleep(800);
    for (const [i, c] of observers.entries()) {
      const told = c.received.slice(marks[i]!).filter((m) => m.type === 'roomchange' && m.identity === ivy);
      assert.equal(told.length, moves, `${step}, observer ${i === 0 ? 'core on A' : 'extended on B'}: ${JSON.stringify(told)}`);
    }
  };
  const d1 = await user(t, nodeA);
  await login(d1, ivy);
  const d2 = await user(t, nodeB);
  await login(d2, ivy);
  await ok(d1.c, { type: 'join', roomid: room }, 'roomchange', (m) => m.roomid === room, 15_000);
  await check('the device on node A joins', true, 1);
  await ok(d2.c, { type: 'join', roomid: room }, 'roomchange', (m) => m.roomid === room, 15_000);
  await check('the device on node B joins too', true, 1);
  await ok(d1.c, { type: 'join', roomid: 'MainHall' }, 'roomcontents', () => true, 15_000);
  await check('the device on node A leaves', true, 1);
  await d2.c.close();
  await check('the device on node B, the last, disconnects', false, 2);
});
