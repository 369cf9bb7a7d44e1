import assert from 'node:assert/strict';
import { after, before, test, type TestContext } from 'node:test';
import type { Msg } from '../helpers/client';
import { natsServerPresent, startNatsCluster, type NatsCluster } from '../helpers/nats-cluster';
import { createDatabase, dropDatabase, postgresUnreachable } from '../helpers/postgres-db';
import { missingPrerequisite } from '../helpers/prerequisite';
import { PASSWORD, expectFields, login, ok, refused, register, welcomed, type Conn } from '../helpers/requests';
import { startServer, type RunningServer } from '../helpers/server';
import { createStore } from '../../src/store';
import { TEST_HEARTBEAT } from '../helpers/cluster-client';

/**
 * Accounts across the nodes of a cluster (issue 10): three Switchboard nodes over a real
 * 3-server NATS JetStream cluster, sharing one fresh PostgreSQL database. Registrations,
 * logins (and the replacement of an account's session on another node), DMs live and through
 * the offline inbox, recalls, moderation and administrators' notices, each across nodes.
 */

const natsPresent = natsServerPresent();
const pgMissing = postgresUnreachable();
const present = natsPresent && pgMissing === null;
const SKIP = !natsPresent ? 'nats-server is not installed (/usr/sbin/nats-server): the cluster is not tested' : `${pgMissing}: the cluster's shared store is not tested`;
const ADMIN = 'root';

let nats: NatsCluster | undefined;
let database: string | undefined;
const nodes: RunningServer[] = [];

const RUN = Math.random().toString(36).slice(2, 5).padEnd(3, '0');
let n = 0;
/** A name unique in this run, valid as identity, username and room id. */
const uniq = (prefix: string): string => `${prefix}${RUN}${(++n).toString(36)}`;
/** An account the store has before any node starts (made by a single-node server, say): the log never registered it. */
const LEGACY = uniq('Legacy');

before(async () => {
  if (!present) return;
  nats = await startNatsCluster(3);
  database = await createDatabase('sb_cluster_accounts');
  const store = createStore(database, '/nonexistent');
  await store.migrate();
  assert.equal(await store.createAccount({ username: LEGACY, passwordHash: 'x', createdAt: Date.now(), status: '', dnd: false }), true);
  await store.close();
  for (const name of ['nodeA', 'nodeB', 'nodeC']) {
    nodes.push(
      await startServer({
        // One device per account: the replacement across nodes is tested here (several: cluster-devices.test.ts).
        args: ['--cluster', nats.url, '--node-id', name, '--store', database, '--workers', '1', '--admins', ADMIN, '--max-devices', '1', ...TEST_HEARTBEAT],
        startTimeoutMs: 30_000,
      }),
    );
  }
});

after(async () => {
  await Promise.all(nodes.map((s) => s.stop()));
  await nats?.stop();
  if (database) await dropDatabase(database);
});

/** A welcomed client on node `i` (A, B, C = 0, 1, 2), closed when the test ends. */
async function on(t: TestContext, i: number): Promise<Conn> {
  const conn = await welcomed(nodes[i]!.port, 20_000);
  t.after(() => conn.c.close());
  return conn;
}

/** A client on node `i` logged in as a new account registered from node `registerOn`. */
async function account(t: TestContext, i: number, prefix: string, registerOn = i): Promise<Conn & { username: string }> {
  const username = uniq(prefix);
  const registrar = registerOn === i ? undefined : await on(t, registerOn);
  const conn = await on(t, i);
  await register((registrar ?? conn).c, username);
  await login(conn, username);
  return { ...conn, username };
}

/** Joins `roomid` and waits for the move. */
async function join(conn: Conn, roomid: string): Promise<void> {
  await ok(conn.c, { type: 'join', roomid }, 'roomchange', (m) => m.identity === conn.id && m.roomid === roomid, 10_000);
}

/** Polls `who` of `roomid` from `conn` until `pred` holds on its identities (bounded). */
async function whoUntil(conn: Conn, roomid: string, pred: (ids: string[]) => boolean, timeoutMs = 10_000): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const m = await ok(conn.c, { type: 'who', roomid }, 'roomcontents', (x) => x.roomid === roomid);
    const ids = m.identities as string[];
    if (pred(ids)) return ids;
    if (Date.now() > deadline) assert.fail(`who ${roomid} never matched; last: ${JSON.stringify(ids)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('register on A, log in on B; a login on C replaces the session on B; the name is reserved everywhere, in any case', async (t) => {
  if (missingPrerequisite(t, present, SKIP)) return;
  const username = uniq('Acct');
  const a = await on(t, 0);
  await register(a.c, username);
  const b = await on(t, 1);
  await login(b, username);
  // Every node sees the account's session under its name.
  for (const i of [0, 2]) await whoUntil(await on(t, i), 'MainHall', (ids) => ids.includes(username));

  const c = await on(t, 2);
  // Any spelling logs in; the stored one is the identity.
  const m = await ok(c.c, { type: 'login', username: username.toLowerCase(), password: PASSWORD }, 'loggedin', () => true, 10_000);
  expectFields(m, { identity: username });
  const replaced = await b.c.waitFor((m) => m.type === 'error', 10_000);
  expectFields(replaced, { type: 'error', code: 'SESSION_REPLACED' });
  await b.c.closed;

  // A guest on any node cannot take the registered name, in any case, nor one the store had before the cluster.
  for (const i of [0, 2]) {
    const guest = await on(t, i);
    for (const wanted of [username, username.toUpperCase(), LEGACY.toLowerCase()]) {
      const m = await ok(guest.c, { type: 'identitychange', identity: wanted }, 'newidentity', (x) => x.former === guest.id, 10_000);
      assert.equal(m.identity, guest.id, `a guest on node ${i} kept its name instead of ${wanted}`);
    }
    await refused(guest.c, { type: 'register', username: username.toLowerCase(), password: PASSWORD }, 'USERNAME_TAKEN', ['registered']);
  }
});

test('two nodes registering the same name at once: exactly one succeeds', async (t) => {
  if (missingPrerequisite(t, present, SKIP)) return;
  for (let round = 0; round < 2; round++) {
    const a = await on(t, 0);
    const b = await on(t, 1);
    const wanted = uniq('Race');
    const asks = [a, b].map((conn, i) => {
      conn.c.send({ type: 'register', username: i === 0 ? wanted : wanted.toLowerCase(), password: PASSWORD });
      return conn.c.waitFor((m) => m.type === 'registered' || m.type === 'error', 10_000);
    });
    const replies = await Promise.all(asks);
    assert.equal(replies.filter((m) => m.type === 'registered').length, 1, `exactly one registered: ${JSON.stringify(replies)}`);
    expectFields(replies.find((m) => m.type === 'error')!, { type: 'error', code: 'USERNAME_TAKEN' });
  }
});

test('DMs: live from A to B; to an offline account through its inbox, delivered at login on C and acknowledged', async (t) => {
  if (missingPrerequisite(t, present, SKIP)) return;
  const alice = await account(t, 0, 'alice');
  const bob = await account(t, 1, 'bob', 0);
  const p = await ok(alice.c, { type: 'presence', users: [bob.username] }, 'presence');
  expectFields((p.users as Msg[])[0]!, { username: bob.username, online: true });

  const mine = await ok(alice.c, { type: 'dm', to: bob.username, content: 'hello bob' }, 'dm');
  expectFields(mine, { from: alice.username, to: bob.username, content: 'hello bob' });
  const got = await bob.c.waitFor((m) => m.type === 'dm', 10_000);
  expectFields(got, { id: mine.id, from: alice.username, to: bob.username, content: 'hello bob', ts: mine.ts });
  assert.equal(got.inbox, undefined, 'a live DM is not an inbox entry');

  // carol is registered and offline: the DM waits in her inbox (the shared store).
  const carolName = uniq('carol');
  await register(alice.c, carolName);
  const queued = await ok(alice.c, { type: 'dm', to: carolName, content: 'while you were out' }, 'dm');
  const carol: Conn = await on(t, 2);
  await login(carol, carolName);
  const waiting = await carol.c.waitFor((m) => m.type === 'dm', 10_000);
  expectFields(waiting, { id: queued.id, from: alice.username, content: 'while you were out' });
  assert.equal(typeof waiting.inbox, 'number');
  carol.c.send({ type: 'ack', inbox: waiting.inbox });
  // Handled after the ack (one session's requests apply in order): the inbox is empty.
  expectFields(await ok(carol.c, { type: 'status', text: 'here' }, 'profile'), { inbox: 0 });
  // Acknowledged: the inbox is empty, seen from another node.
  const again: Conn = await on(t, 0);
  await login(again, carolName);
  const profile = await ok(again.c, { type: 'status', text: 'back' }, 'profile');
  expectFields(profile, { username: carolName, inbox: 0 });
  assert.equal(again.c.received.filter((m) => m.type === 'dm').length, 0, 'nothing delivered again');
});

test('a room message recalled on A is recalled for its members on B and C, and in history', async (t) => {
  if (missingPrerequisite(t, present, SKIP)) return;
  const alice = await account(t, 0, 'alice');
  const [b, c] = [await on(t, 1), await on(t, 2)];
  const room = uniq('recall');
  await ok(alice.c, { type: 'createroom', roomid: room }, 'roomlist');
  for (const conn of [alice, b, c]) await join(conn, room);
  await whoUntil(alice, room, (ids) => ids.length === 3);
  alice.c.send({ type: 'message', content: 'oops' });
  const copies = await Promise.all([alice, b, c].map((conn) => conn.c.waitFor((m) => m.type === 'message' && m.roomid === room, 10_000)));
  const sent = copies[0]!;
  const recalled = await ok(alice.c, { type: 'recall', id: sent.id }, 'recalled', (m) => m.id === sent.id, 10_000);
  for (const conn of [b, c]) {
    const m = await conn.c.waitFor((x) => x.type === 'recalled' && x.id === sent.id, 10_000);
    expectFields(m, { roomid: room, seq: sent.seq, epoch: sent.epoch, by: alice.username });
  }
  expectFields(recalled, { roomid: room, seq: sent.seq });
  const h = await ok(c.c, { type: 'history', roomid: room }, 'history', (m) => m.roomid === room);
  const stored = (h.messages as Msg[]).find((m) => m.id === sent.id)!;
  assert.equal(stored.recalled, true, `recalled in history on C: ${JSON.stringify(stored)}`);
});

test('a ban on A moves the member on B out and refuses its rejoin; an administrator\'s notice reaches every node', async (t) => {
  if (missingPrerequisite(t, present, SKIP)) return;
  const owner = await on(t, 0);
  const member = await on(t, 1);
  const room = uniq('ban');
  await ok(owner.c, { type: 'createroom', roomid: room }, 'roomlist');
  await join(owner, room);
  await join(member, room);
  await whoUntil(owner, room, (ids) => ids.includes(member.id));
  await ok(owner.c, { type: 'ban', roomid: room, identity: member.id, seconds: 600, reason: 'spam' }, 'ban');
  const told = await member.c.waitFor((m) => m.type === 'ban', 10_000);
  expectFields(told, { roomid: room, identity: member.id, by: owner.id, reason: 'spam' });
  await member.c.waitFor((m) => m.type === 'roomchange' && m.identity === member.id && m.roomid === 'MainHall', 10_000);
  // The seed's refusal (a roomchange that stays put), then why.
  const stay = await ok(member.c, { type: 'join', roomid: room }, 'roomchange', () => true, 10_000);
  expectFields(stay, { identity: member.id, former: 'MainHall', roomid: 'MainHall' });
  expectFields(await member.c.waitFor((x) => x.type === 'error', 10_000), { type: 'error', code: 'BANNED' });
  assert.ok(!(await whoUntil(owner, room, () => true)).includes(member.id), 'not back in the room');

  // The administrators setting holds on every node: root, registered on C, logged in on B.
  const admin = await on(t, 1);
  const registrar = await on(t, 2);
  await register(registrar.c, ADMIN);
  const m = await ok(admin.c, { type: 'login', username: ADMIN, password: PASSWORD }, 'loggedin');
  assert.equal(m.admin, true);
  const listeners = [await on(t, 0), await on(t, 1), await on(t, 2)];
  await ok(admin.c, { type: 'notice', content: 'maintenance at noon' }, 'notice');
  for (const l of listeners) expectFields(await l.c.waitFor((x) => x.type === 'notice', 10_000), { from: ADMIN, content: 'maintenance at noon' });
});

test('a session dropped on A is reclaimed on B with its resume token: its name and room come back', async (t) => {
  if (missingPrerequisite(t, present, SKIP)) return;
  const a = await on(t, 0);
  const room = uniq('resume');
  await ok(a.c, { type: 'createroom', roomid: room }, 'roomlist');
  await join(a, room);
  const issued = await ok(a.c, { type: 'session' }, 'session');
  assert.equal(typeof issued.token, 'string');
  // A member on C keeps the room open while its owner is away.
  const watcher = await on(t, 2);
  await join(watcher, room);
  await a.c.close();
  await whoUntil(watcher, room, (ids) => !ids.includes(a.id));
  const b = await on(t, 1);
  const m = await ok(b.c, { type: 'reclaim', token: issued.token }, 'reclaimed', () => true, 10_000);
  expectFields(m, { identity: a.id, roomid: room });
  await whoUntil(watcher, room, (ids) => ids.includes(a.id));
  // A token is good once.
  const c = await on(t, 2);
  await refused(c.c, { type: 'reclaim', token: issued.token }, 'NO_SUCH_SESSION', ['reclaimed']);
});
