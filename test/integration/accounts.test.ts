import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test, type TestContext } from 'node:test';
import { TestClient, type Msg } from '../helpers/client';
import { Streamer, type StreamingClient } from '../helpers/streamer';
import { expectFields, login, ok, PASSWORD, refused, register, runCli as run, say, welcomed, type Account, type Conn } from '../helpers/requests';
import * as proc from '../helpers/procfs';
import { startServer, type RunningServer } from '../helpers/server';
import { sleep, until, within } from '../helpers/wait';

/**
 * Accounts, direct messages, history and storage (docs/PROTOCOL.md, "Accounts, direct messages
 * and history") against the real server: the whole wire contract in `pool` (2 workers) and in
 * `dedicated`; restarts on the same data dir; kill -9 of the hub and of a worker while
 * a client streams messages; offline inbox delivery across dropped connections; online backup,
 * restore and export through the CLI.
 *
 * Every wait is bounded; every client is on 127.0.0.1; the only processes signalled are the
 * server's own children (found through its logs and /proc). Failed logins count against the
 * per-address throttle (20 per 15 min, and every client here is 127.0.0.1): a shared server
 * sees only a handful, and the throttle test runs last on its server.
 */

const GUEST = /^guest[1-9][0-9]*$/;
/** Long enough for the server to have sent anything it was going to send. */
const QUIET_MS = 300;
/** A streaming client sends one message every this many ms. */
const STREAM_EVERY_MS = 2;

const RUN = Math.random().toString(36).slice(2, 5).padEnd(3, '0');
let counter = 0;
/** A name unique in this run, valid as identity, username and room id (prefix at most 10 letters). */
const uniq = (prefix: string): string => `${prefix}${RUN}${(++counter).toString(36)}`;


// ---- clients ---------------------------------------------------------------------------------

/** Gives the server time to send anything it was going to send. */
const settle = (): Promise<void> => sleep(QUIET_MS);

/** Polls `presence` (asked by `asker`) until `username` is offline. */
async function waitOffline(asker: TestClient, username: string, timeoutMs = 5000): Promise<Msg> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const p = await ok(asker, { type: 'presence', users: [username] }, 'presence');
    const entry = (p.users as Msg[])[0]!;
    if (!entry.online) return entry;
    if (Date.now() > deadline) assert.fail(`${username} still online after ${timeoutMs} ms: ${JSON.stringify(entry)}`);
    await sleep(50);
  }
}

function dmsOf(c: TestClient): Msg[] {
  return c.received.filter((m) => m.type === 'dm');
}

async function join(conn: Conn, roomid: string): Promise<void> {
  const m = await ok(conn.c, { type: 'join', roomid }, 'roomchange', (x) => x.identity === conn.id);
  expectFields(m, { roomid }, `join ${roomid}: `);
}

async function createRoom(conn: Conn, roomid: string): Promise<void> {
  const m = await ok(conn.c, { type: 'createroom', roomid }, 'roomlist');
  assert.ok((m.rooms as Array<{ roomid: string }>).some((r) => r.roomid === roomid), `${roomid} created: ${JSON.stringify(m)}`);
}

/** Says `content` in the sender's room and waits for the sender's own copy. */
/** Clients of one test, closed when it ends. */
function scope(t: TestContext, port: () => number) {
  const open: TestClient[] = [];
  t.after(async () => {
    await Promise.all(open.map((c) => within(c.close(), 2000)));
  });
  const guest = async (timeoutMs?: number): Promise<Conn> => {
    const conn = await welcomed(port(), timeoutMs);
    open.push(conn.c);
    return conn;
  };
  /** A fresh guest connection logged in as `username`. */
  const as = async (username: string, how?: { password?: string; token?: string }, timeoutMs?: number): Promise<Account> => {
    const conn = await guest(timeoutMs);
    const token = await login(conn, username, how);
    return { ...conn, username, token };
  };
  /** Registers a new account and logs it in on a fresh connection. */
  const account = async (prefix = 'u'): Promise<Account> => {
    const conn = await guest();
    const username = uniq(prefix);
    await register(conn.c, username);
    const token = await login(conn, username);
    return { ...conn, username, token };
  };
  /** Registers a new account from a throwaway connection: the account is offline. */
  const offlineAccount = async (prefix = 'u'): Promise<string> => {
    const conn = await guest();
    const username = uniq(prefix);
    await register(conn.c, username);
    await conn.c.close();
    return username;
  };
  return { guest, as, account, offlineAccount };
}

// ---- room streams ----------------------------------------------------------------------------

function roomMessages(c: TestClient, roomid: string): Msg[] {
  return c.received.filter((m) => m.type === 'message' && m.roomid === roomid);
}

function lastSeqSeen(c: TestClient, roomid: string): number {
  return roomMessages(c, roomid).reduce((max, m) => Math.max(max, m.seq as number), 0);
}

/** Sends `resume`; returns the room's messages received until `resumed`, and its seq. */
async function resume(c: TestClient, roomid: string, since: number, timeoutMs = 10_000): Promise<{ lines: Msg[]; last: number }> {
  const earlier = new Set(c.received);
  c.send({ type: 'resume', roomid, since });
  const done = await c.waitFor((m) => !earlier.has(m) && ((m.type === 'resumed' && m.roomid === roomid) || m.type === 'error'), timeoutMs);
  assert.equal(done.type, 'resumed', `resume answered with ${JSON.stringify(done)}`);
  assert.ok(Number.isInteger(done.seq), JSON.stringify(done));
  const end = c.received.indexOf(done);
  const lines = c.received.slice(0, end).filter((m) => !earlier.has(m) && m.type === 'message' && m.roomid === roomid);
  return { lines, last: done.seq as number };
}

/** Every stored message of the room, read with `resume` since 0 from a fresh guest in MainHall. */
async function storedMessages(port: number, roomid: string): Promise<Msg[]> {
  const reader = await welcomed(port, 15_000);
  try {
    const { lines, last } = await resume(reader.c, roomid, 0, 15_000);
    assert.equal(lines.length === 0 ? 0 : lines[lines.length - 1]!.seq, last, 'resumed names the last seq sent');
    return lines;
  } finally {
    await reader.c.close();
  }
}

/** Seqs 1..N, each once, in order: the per-room total order with no gap. */
function assertContiguous(seqs: number[], what: string, from = 1): void {
  const bad = seqs.findIndex((s, i) => s !== from + i);
  assert.equal(bad, -1, `${what}: seqs are not ${from}, ${from + 1}, ... (first mismatch at index ${bad}: ${JSON.stringify(seqs.slice(Math.max(0, bad - 3), bad + 3))})`);
}

/** `n` between 1 and the largest: the seqs missing from `seen`. */
function missing(seen: Iterable<number>, upto: number): number[] {
  const have = new Set(seen);
  const out: number[] = [];
  for (let s = 1; s <= upto; s++) if (!have.has(s)) out.push(s);
  return out;
}

/**
 * The stored history agrees with what senders saw: seqs 1..N without gaps, ids unique, every
 * echoed message stored as echoed (same id, seq, content), each streamed message stored at
 * most once and each sender's messages in the order sent.
 */
function assertHistoryKeeps(stored: Msg[], echoed: Msg[], what: string): void {
  assertContiguous(stored.map((m) => m.seq as number), `${what}: stored history`);
  assert.equal(new Set(stored.map((m) => m.id)).size, stored.length, `${what}: ids are unique`);
  const bySeq = new Map(stored.map((m) => [m.seq as number, m]));
  const lost = echoed.filter((e) => {
    const h = bySeq.get(e.seq as number);
    return !h || h.id !== e.id || h.content !== e.content || h.identity !== e.identity;
  });
  assert.deepEqual(lost.slice(0, 5), [], `${what}: ${lost.length} echoed message(s) not in the history as echoed`);
  const contents = stored.map((m) => m.content as string).filter((c) => /^[a-z]+:[0-9]+$/.test(c));
  assert.equal(new Set(contents).size, contents.length, `${what}: a streamed message is stored twice`);
  const lastOf = new Map<string, number>();
  for (const c of contents) {
    const [tag, n] = c.split(':');
    assert.ok(Number(n) > (lastOf.get(tag!) ?? 0), `${what}: ${c} stored after a later message of its sender`);
    lastOf.set(tag!, Number(n));
  }
}

/**
 * A client that dropped after seeing up to `since` reconnected, joined the room and sent
 * `resume` (`window`: the room's messages up to `resumed`; `after`: everything it got of the
 * room from its join on). The window holds since+1..last in order (live copies may be mixed in:
 * duplicates are allowed, the client drops a seq it has); nothing at or below `since` comes
 * again; and with what it saw before dropping, it has every stored message.
 */
function assertResumeFills(before: Msg[], since: number, window: { lines: Msg[]; last: number }, afterJoin: Msg[], stored: Msg[], what: string): void {
  let next = since + 1;
  for (const m of window.lines) if (m.seq === next) next++;
  // Live copies of later messages may come before `resumed`: the pointer may run past `last`.
  assert.ok(next > window.last, `${what}: resume since ${since} did not bring ${since + 1}..${window.last} in order (stopped before ${next}); got ${JSON.stringify(window.lines.map((m) => m.seq))}`);
  assert.ok(window.last >= since, `${what}: resumed ${window.last} < since ${since}`);
  const again = afterJoin.filter((m) => (m.seq as number) <= since).map((m) => m.seq);
  assert.deepEqual(again, [], `${what}: messages at or below since=${since} sent again`);
  const bySeq = new Map(stored.map((m) => [m.seq as number, m]));
  for (const m of [...before, ...afterJoin]) {
    const h = bySeq.get(m.seq as number);
    assert.ok(h && h.id === m.id && h.content === m.content, `${what}: received ${JSON.stringify(m)} differs from the stored ${JSON.stringify(h)}`);
  }
  const gaps = missing([...before, ...afterJoin].map((m) => m.seq as number), stored.length);
  assert.deepEqual(gaps, [], `${what}: after resume the client still lacks these seqs of ${stored.length}`);
}

/** A connection as a Streamer sees it: its identity read at each use (logins rename it). */
function streaming(conn: Conn): StreamingClient {
  return {
    get client() {
      return conn.c;
    },
    get identity() {
      return conn.id;
    },
  };
}

// ---- server processes ------------------------------------------------------------------------

/** The pid of the hub now serving (the latest 'hub listening' line), checked to be the server's child. */
function hubPid(server: RunningServer): number {
  const lines = server.logs.filter((l) => l.role === 'hub' && l.msg === 'hub listening');
  assert.ok(lines.length > 0, 'no hub log line');
  const pid = lines[lines.length - 1]!.pid as number;
  assert.ok(proc.childPids(server.pid).includes(pid), `hub ${pid} is a child of the server ${server.pid}`);
  return pid;
}

/** The worker process holding `client`'s connection: a child of this server, not the supervisor. */
async function holderOf(server: RunningServer, client: TestClient): Promise<number> {
  let last: number[] = [];
  await until(
    `one worker holding the connection from port ${client.localPort} (holders ${JSON.stringify(last)})`,
    () => {
      last = proc.pidsHoldingTcpConnection(server.port, client.localPort, [server.pid, ...proc.descendants(server.pid)]);
      return last.length === 1 && last[0] !== server.pid && proc.childPids(server.pid).includes(last[0]!);
    },
    5000,
  );
  return last[0]!;
}

/** SIGKILLs the hub and waits until its successor has recovered; returns the new hub's pid. */
async function killHub(server: RunningServer, t?: TestContext): Promise<number> {
  const t0 = Date.now();
  const old = hubPid(server);
  // Every hub so far, the killed one included: the successor is a pid not among them.
  const earlier = new Set(server.logs.filter((l) => l.role === 'hub').map((l) => l.pid));
  process.kill(old, 'SIGKILL');
  await server.waitForLog((l) => l.role === 'supervisor' && l.msg === 'hub died; restarting it' && l.childPid === old, 5000);
  const fresh = (await server.waitForLog((l) => l.role === 'hub' && l.msg === 'hub listening' && !earlier.has(l.pid), 15_000)).pid as number;
  await server.waitForLog((l) => l.role === 'hub' && l.pid === fresh && l.msg === 'recovered', 15_000);
  t?.diagnostic(`hub ${old} killed; hub ${fresh} recovered after ${Date.now() - t0} ms`);
  return fresh;
}

// Clients here stream a message every STREAM_EVERY_MS, far over the default rate limits, which
// have their own suite (limits.test.ts).
// One device per account: these tests prove the replacement rule (a second login replaces the
// first); several devices per account are test/integration/devices.test.ts's.
const UNLIMITED = ['--rate-limit', '5000', '--rate-burst', '5000', '--account-rate-limit', '5000', '--max-devices', '1'];
const serverArgs = (placement: 'pool' | 'dedicated'): string[] =>
  [...(placement === 'pool' ? ['--host', '127.0.0.1', '--placement', 'pool', '--workers', '2'] : ['--host', '127.0.0.1', '--placement', 'dedicated', '--spares', '2']), ...UNLIMITED];

// ---- the wire contract, on one server per placement ------------------------------------------

for (const placement of ['pool', 'dedicated'] as const) {
  describe(`accounts (${placement})`, { timeout: 180_000 }, () => {
    let server: RunningServer;
    before(async () => {
      server = await startServer({ args: serverArgs(placement) });
    });
    after(async () => {
      await server?.stop();
    });
    const port = (): number => server.port;

    test('register: registered, or INVALID_USERNAME, WEAK_PASSWORD, USERNAME_TAKEN; a registered name is nobody else\'s identity', { timeout: 20_000 }, async (t) => {
      const sc = scope(t, port);
      const g = await sc.guest();
      const name = uniq('reg');
      for (const bad of ['1abc', 'ab', 'a_b_c', 'x'.repeat(17), '']) {
        await refused(g.c, { type: 'register', username: bad, password: PASSWORD }, 'INVALID_USERNAME', ['registered']);
      }
      await refused(g.c, { type: 'register', username: name, password: '1234567' }, 'WEAK_PASSWORD', ['registered']);
      await refused(g.c, { type: 'register', username: name, password: 'p'.repeat(257) }, 'WEAK_PASSWORD', ['registered']);
      await refused(g.c, { type: 'register', username: name }, 'INVALID_FIELD', ['registered']);
      await register(g.c, name, 'p'.repeat(256));
      const short = uniq('reg');
      await register(g.c, short, '12345678');
      // The name is taken whoever asks, the registrant included.
      const h = await sc.guest();
      await refused(h.c, { type: 'register', username: name, password: PASSWORD }, 'USERNAME_TAKEN', ['registered']);
      await refused(g.c, { type: 'register', username: name, password: PASSWORD }, 'USERNAME_TAKEN', ['registered']);
      // The identity a connected guest holds cannot be registered by another client.
      const held = uniq('gst');
      expectFields(await ok(h.c, { type: 'identitychange', identity: held }, 'newidentity', (m) => m.former === h.id), { identity: held });
      h.id = held;
      await refused(g.c, { type: 'register', username: held, password: PASSWORD }, 'USERNAME_TAKEN', ['registered']);
      // A registered name cannot be taken as an identity: refused with the no-change newidentity,
      // while its account is offline and while it is logged in.
      const noChange = { former: held, identity: held };
      expectFields(await ok(h.c, { type: 'identitychange', identity: name }, 'newidentity', (m) => m.former === held), noChange);
      const owner = await sc.as(name, { password: 'p'.repeat(256) });
      assert.equal(owner.id, name);
      expectFields(await ok(h.c, { type: 'identitychange', identity: name }, 'newidentity', (m) => m.former === held), noChange);
      await sc.as(short, { password: '12345678' });
    });

    test('login (password or token) is an identity change seen by the room; logout revokes the token; BAD_CREDENTIALS', { timeout: 20_000 }, async (t) => {
      const sc = scope(t, port);
      const a = await sc.guest();
      const b = await sc.guest();
      const room = uniq('Rl');
      await createRoom(a, room);
      await join(a, room);
      await join(b, room);
      const username = uniq('li');
      await register(a.c, username);
      const guestName = a.id;

      const token = await login(a, username);
      // The requester and the room see {former: guest name, identity: username}.
      expectFields(await b.c.waitFor((m) => m.type === 'newidentity' && m.former === guestName), { identity: username });
      const own = a.c.received.find((m) => m.type === 'newidentity' && m.former === guestName);
      assert.ok(own, 'the requester gets the newidentity too');
      expectFields(own, { identity: username });

      // logout: a fresh guest name, shown to the room; the token is revoked.
      const out = await ok(a.c, { type: 'logout' }, 'loggedout');
      const newGuest = out.identity as string;
      assert.match(newGuest, GUEST, `loggedout names a guest identity: ${JSON.stringify(out)}`);
      expectFields(await b.c.waitFor((m) => m.type === 'newidentity' && m.former === username), { identity: newGuest });
      a.id = newGuest;
      await refused(a.c, { type: 'login', token }, 'BAD_CREDENTIALS', ['loggedin']);
      await refused(a.c, { type: 'logout' }, 'NOT_LOGGED_IN', ['loggedout']);

      // A token from a password login logs in on another connection.
      const token2 = await login(a, username);
      // While logged in, the identity is the username.
      expectFields(await ok(a.c, { type: 'identitychange', identity: uniq('other') }, 'newidentity', (m) => m.former === username), { identity: username });
      assert.notEqual(token2, token, 'a new token per password login');
      await a.c.close();
      const again = await sc.as(username, { token: token2 });
      assert.equal(again.token, token2, 'a token login answers with the same token');

      // Wrong password, unknown user, unknown token: one code for all.
      const c = await sc.guest();
      await refused(c.c, { type: 'login', username, password: 'wrong password' }, 'BAD_CREDENTIALS', ['loggedin']);
      await refused(c.c, { type: 'login', username: uniq('nobody'), password: PASSWORD }, 'BAD_CREDENTIALS', ['loggedin']);
      await refused(c.c, { type: 'login', token: 'x'.repeat(43) }, 'BAD_CREDENTIALS', ['loggedin']);
      await refused(c.c, { type: 'login', username }, 'INVALID_FIELD', ['loggedin']);
      await refused(c.c, { type: 'login' }, 'INVALID_FIELD', ['loggedin']);
      assert.match(c.id, GUEST, 'a failed login changes nothing');
    });

    test('a second login of the same account closes the first connection with SESSION_REPLACED', { timeout: 20_000 }, async (t) => {
      const sc = scope(t, port);
      const first = await sc.account('sr');
      const second = await sc.as(first.username);
      const err = await first.c.waitFor((m) => m.type === 'error');
      expectFields(err, { code: 'SESSION_REPLACED' });
      assert.ok(await within(first.c.closed, 5000), 'the replaced connection is closed');
      assert.equal(first.c.received[first.c.received.length - 1], err, 'SESSION_REPLACED is the last line');
      // By token too.
      const third = await sc.as(first.username, { token: second.token });
      expectFields(await second.c.waitFor((m) => m.type === 'error'), { code: 'SESSION_REPLACED' });
      assert.ok(await within(second.c.closed, 5000), 'the replaced connection is closed');
      assert.ok(third.c.isOpen);
      const p = await ok(third.c, { type: 'presence', users: [first.username] }, 'presence');
      expectFields((p.users as Msg[])[0]!, { username: first.username, online: true });
    });

    test('room messages carry roomid, a unique id, a per-room seq (+1, no gaps) and ts; all members see one order', { timeout: 30_000 }, async (t) => {
      const sc = scope(t, port);
      const members = await Promise.all([sc.guest(), sc.guest(), sc.guest()]);
      const room = uniq('Rs');
      const other = uniq('Rt');
      await createRoom(members[0]!, room);
      await createRoom(members[0]!, other);
      for (const m of members) await join(m, room);
      const t0 = Date.now();
      const PER = 20;
      members.forEach((m, k) => {
        for (let i = 1; i <= PER; i++) m.c.send({ type: 'message', content: `${'abc'[k]}:${i}` });
      });
      for (const m of members) await until(`${m.id} has all ${3 * PER} messages`, () => roomMessages(m.c, room).length >= 3 * PER, 10_000);
      const t1 = Date.now();
      const views = members.map((m) => roomMessages(m.c, room));
      for (const [k, view] of views.entries()) {
        assert.equal(view.length, 3 * PER, `${members[k]!.id} got each message once`);
        assertContiguous(view.map((m) => m.seq as number), `${members[k]!.id}'s view`);
        assert.deepEqual(view, views[0], 'every member sees the same messages, ids and order');
      }
      for (const m of views[0]!) {
        assert.equal(typeof m.id, 'string');
        assert.ok((m.id as string).length > 0);
        assert.ok(typeof m.ts === 'number' && m.ts >= t0 - 1000 && m.ts <= t1 + 1000, `ts is the time in ms: ${JSON.stringify(m)}`);
        assert.equal(m.roomid, room);
      }
      assert.equal(new Set(views[0]!.map((m) => m.id)).size, 3 * PER, 'ids are unique');
      assertHistoryKeeps(views[0]!, views[0]!, 'live view');
      // Each room counts on its own.
      await join(members[0]!, other);
      expectFields(await say(members[0]!, 'first'), { roomid: other, seq: 1 });
    });

    test('history: oldest first, 50 by default, at most 200, before; resume: everything after since, then resumed', { timeout: 30_000 }, async (t) => {
      const sc = scope(t, port);
      const a = await sc.guest();
      const b = await sc.guest();
      const room = uniq('Rh');
      await createRoom(a, room);
      await join(a, room);
      const N = 210;
      for (let i = 1; i <= N; i++) a.c.send({ type: 'message', content: `h:${i}` });
      await until('all echoed', () => roomMessages(a.c, room).length >= N, 10_000);
      const live = roomMessages(a.c, room);
      assertContiguous(live.map((m) => m.seq as number), 'live');
      const seqsOf = (m: Msg): number[] => (m.messages as Msg[]).map((x) => x.seq as number);
      const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

      // Asked by a client outside the room: history is not limited to members.
      const dflt = await ok(b.c, { type: 'history', roomid: room }, 'history');
      expectFields(dflt, { roomid: room });
      assert.deepEqual(seqsOf(dflt), range(N - 49, N), 'default: the newest 50, oldest first');
      assert.deepEqual(dflt.messages, live.slice(N - 50), 'history items are the messages as broadcast');
      assert.deepEqual(seqsOf(await ok(b.c, { type: 'history', roomid: room, limit: 1000 }, 'history')), range(N - 199, N), 'at most 200');
      assert.deepEqual(seqsOf(await ok(b.c, { type: 'history', roomid: room, before: 100, limit: 10 }, 'history')), range(90, 99), 'before');
      assert.deepEqual(seqsOf(await ok(b.c, { type: 'history', roomid: room, before: 5 }, 'history')), range(1, 4));
      assert.deepEqual(seqsOf(await ok(b.c, { type: 'history', roomid: room, before: 1 }, 'history')), []);
      await refused(b.c, { type: 'history', roomid: uniq('Rnone') }, 'NO_SUCH_ROOM', ['history']);
      await refused(b.c, { type: 'history', roomid: room, limit: 0 }, 'INVALID_FIELD', ['history']);
      await refused(b.c, { type: 'history', roomid: room, before: 'x' }, 'INVALID_FIELD', ['history']);

      const tail = await resume(b.c, room, N - 10);
      assert.deepEqual(tail.lines, live.slice(N - 10), 'resume: every message after since, in order, as broadcast');
      assert.equal(tail.last, N);
      const none = await resume(b.c, room, N);
      assert.deepEqual(none, { lines: [], last: N }, 'nothing after the last: just resumed');
      const all = await resume(b.c, room, 0);
      assert.deepEqual(all.lines, live, 'resume since 0: all, past the history cap');
      await refused(b.c, { type: 'resume', roomid: room, since: -1 }, 'INVALID_FIELD', ['resumed']);
      await refused(b.c, { type: 'resume', roomid: room }, 'INVALID_FIELD', ['resumed']);
    });

    test('DMs: live to recipient and sender; NOT_LOGGED_IN, NO_SUCH_USER; dmhistory oldest first', { timeout: 20_000 }, async (t) => {
      const sc = scope(t, port);
      const al = await sc.account('dm');
      const bo = await sc.account('dm');
      const g = await sc.guest();
      await refused(g.c, { type: 'dm', to: al.username, content: 'hi' }, 'NOT_LOGGED_IN', ['dm']);
      await refused(g.c, { type: 'dmhistory', with: al.username }, 'NOT_LOGGED_IN', ['dmhistory']);
      await refused(al.c, { type: 'dm', to: uniq('nobody'), content: 'hi' }, 'NO_SUCH_USER', ['dm']);
      // A connected guest is not a registered user.
      await refused(al.c, { type: 'dm', to: g.id, content: 'hi' }, 'NO_SUCH_USER', ['dm']);

      const t0 = Date.now();
      const mine = await ok(al.c, { type: 'dm', to: bo.username, content: 'hello bo' }, 'dm');
      expectFields(mine, { from: al.username, to: bo.username, content: 'hello bo' });
      assert.ok(typeof mine.id === 'string' && (mine.id as string).length > 0);
      assert.ok(typeof mine.ts === 'number' && mine.ts >= t0 - 1000 && mine.ts <= Date.now() + 1000);
      assert.equal(mine.inbox, undefined, 'a live DM has no inbox number');
      const theirs = await bo.c.waitFor((m) => m.type === 'dm');
      assert.deepEqual(theirs, mine, 'recipient and sender get the same dm');
      const reply = await ok(bo.c, { type: 'dm', to: al.username, content: 'hi al' }, 'dm');
      assert.deepEqual(await al.c.waitFor((m) => m.type === 'dm' && m.id === reply.id), reply);
      assert.equal(g.c.received.filter((m) => m.type === 'dm').length, 0, 'nobody else gets them');

      const h = await ok(al.c, { type: 'dmhistory', with: bo.username }, 'dmhistory');
      expectFields(h, { with: bo.username });
      assert.deepEqual(h.messages, [mine, reply], 'both directions, oldest first');
      const hb = await ok(bo.c, { type: 'dmhistory', with: al.username }, 'dmhistory');
      assert.deepEqual(hb.messages, [mine, reply]);
      assert.deepEqual((await ok(al.c, { type: 'dmhistory', with: al.username }, 'dmhistory')).messages, []);
    });

    test('offline DMs: stored, delivered at the next login in order with inbox numbers, again until acked, then never again', { timeout: 30_000 }, async (t) => {
      const sc = scope(t, port);
      const al = await sc.account('ib');
      const bo = await sc.offlineAccount('ib');
      const sent: Msg[] = [];
      for (const content of ['one', 'two', 'three']) sent.push(await ok(al.c, { type: 'dm', to: bo, content }, 'dm'));

      const inboxOf = async (conn: Account, n: number): Promise<Msg[]> => {
        await until(`${n} inbox DMs for ${conn.username} (got ${JSON.stringify(dmsOf(conn.c))})`, () => dmsOf(conn.c).length >= n, 5000);
        const dms = conn.c.received.filter((m) => m.type === 'dm');
        const loggedin = conn.c.received.findIndex((m) => m.type === 'loggedin');
        assert.ok(conn.c.received.indexOf(dms[0]!) > loggedin, 'inbox DMs come after loggedin');
        return dms;
      };
      const stripped = (m: Msg): Msg => {
        const { inbox: _inbox, ...rest } = m;
        return rest as Msg;
      };

      // First login: all three, in order, each with an increasing inbox number.
      const bo1 = await sc.as(bo);
      const first = await inboxOf(bo1, 3);
      assert.deepEqual(first.map(stripped), sent, 'the stored DMs, as sent');
      const numbers = first.map((m) => m.inbox as number);
      assert.ok(numbers.every((n, i) => Number.isInteger(n) && (i === 0 || n > numbers[i - 1]!)), `inbox numbers increase: ${numbers}`);
      await settle();
      assert.equal(dmsOf(bo1.c).length, 3, 'nothing more');
      // The connection drops before any ack: all delivered again, identical.
      await bo1.c.close();
      const bo2 = await sc.as(bo, { token: bo1.token });
      assert.deepEqual(await inboxOf(bo2, 3), first, 'redelivered, same ids and numbers, same order');
      // Ack the first; requests of a session are handled in order, so the dmhistory answer
      // means the ack is done.
      bo2.c.send({ type: 'ack', inbox: numbers[0] });
      await ok(bo2.c, { type: 'dmhistory', with: al.username }, 'dmhistory');
      await bo2.c.close();
      // Sent once the server knows bo is gone, so it goes to the inbox, not to the closing connection.
      await waitOffline(al.c, bo);
      const late = await ok(al.c, { type: 'dm', to: bo, content: 'four' }, 'dm');
      const bo3 = await sc.as(bo, { token: bo1.token });
      const third = await inboxOf(bo3, 3);
      assert.deepEqual(third.map(stripped), [sent[1], sent[2], late], 'acked one not again; the new one last');
      assert.deepEqual(third.slice(0, 2), first.slice(1), 'same inbox numbers');
      assert.ok((third[2]!.inbox as number) > numbers[2]!);
      bo3.c.send({ type: 'ack', inbox: third[2]!.inbox });
      await ok(bo3.c, { type: 'dmhistory', with: al.username }, 'dmhistory');
      await bo3.c.close();
      const bo4 = await sc.as(bo, { token: bo1.token });
      await settle();
      assert.deepEqual(dmsOf(bo4.c), [], 'after the ack: never again');
      // A DM delivered live is not in the inbox.
      const liveDm = await ok(al.c, { type: 'dm', to: bo, content: 'five' }, 'dm');
      const got = await bo4.c.waitFor((m) => m.type === 'dm');
      assert.deepEqual(got, liveDm);
      await bo4.c.close();
      const bo5 = await sc.as(bo, { token: bo1.token });
      await settle();
      assert.deepEqual(dmsOf(bo5.c), [], 'a live DM is not delivered again at the next login');
      const g = await sc.guest();
      await refused(g.c, { type: 'ack', inbox: 1 }, 'NOT_LOGGED_IN');
    });

    test('dnd holds DMs for the next login; status and dnd in profile and presence', { timeout: 20_000 }, async (t) => {
      const sc = scope(t, port);
      const al = await sc.account('pr');
      const bo = await sc.account('pr');
      expectFields(await ok(bo.c, { type: 'dnd', on: true }, 'profile'), { username: bo.username, status: '', dnd: true });
      expectFields(await ok(bo.c, { type: 'status', text: 'at lunch' }, 'profile'), { username: bo.username, status: 'at lunch', dnd: true });
      const nobody = uniq('nobody');
      const p = await ok(al.c, { type: 'presence', users: [bo.username, al.username] }, 'presence');
      assert.deepEqual(p.users, [
        { username: bo.username, online: true, status: 'at lunch', dnd: true, state: 'dnd' },
        { username: al.username, online: true, status: '', dnd: false, state: 'online' },
      ]);
      const unknown = await refused(al.c, { type: 'presence', users: [bo.username, nobody] }, 'NO_SUCH_USER', ['presence']);
      assert.match(unknown.message as string, new RegExp(nobody));
      // In do-not-disturb: stored, not pushed.
      const dm = await ok(al.c, { type: 'dm', to: bo.username, content: 'are you there' }, 'dm');
      await settle();
      assert.deepEqual(dmsOf(bo.c), [], 'nothing pushed while dnd');
      expectFields(await ok(bo.c, { type: 'dnd', on: false }, 'profile'), { status: 'at lunch', dnd: false });
      await bo.c.close();
      const bo2 = await sc.as(bo.username, { token: bo.token });
      const held = await bo2.c.waitFor((m) => m.type === 'dm');
      expectFields(held, { id: dm.id, from: al.username, to: bo.username, content: 'are you there' });
      assert.ok(Number.isInteger(held.inbox), 'delivered from the inbox');
      await bo2.c.close();
      assert.deepEqual(await waitOffline(al.c, bo.username), { username: bo.username, online: false, status: 'at lunch', dnd: false, state: 'offline' }, 'status kept while offline');
      const g = await sc.guest();
      await refused(g.c, { type: 'dnd', on: true }, 'NOT_LOGGED_IN', ['profile']);
      await refused(g.c, { type: 'status', text: 'x' }, 'NOT_LOGGED_IN', ['profile']);
      await refused(al.c, { type: 'status', text: 'x'.repeat(141) }, 'INVALID_FIELD', ['profile']);
      await refused(al.c, { type: 'dnd', on: 'yes' }, 'INVALID_FIELD', ['profile']);
      // presence needs no login.
      assert.deepEqual((await ok(g.c, { type: 'presence', users: [al.username] }, 'presence')).users, [{ username: al.username, online: true, status: '', dnd: false, state: 'online' }]);
    });

    test('block: a blocked user\'s DMs and room messages do not reach the blocker; unblock restores', { timeout: 20_000 }, async (t) => {
      const sc = scope(t, port);
      const al = await sc.account('bl');
      const bo = await sc.account('bl');
      const ca = await sc.account('bl');
      const room = uniq('Rb');
      await createRoom(al, room);
      for (const x of [al, bo, ca]) await join(x, room);
      expectFields(await ok(bo.c, { type: 'block', user: al.username }, 'blocklist'), { users: [al.username] });
      expectFields(await ok(bo.c, { type: 'block', user: ca.username }, 'blocklist'), { users: [al.username, ca.username].sort() });
      expectFields(await ok(bo.c, { type: 'unblock', user: ca.username }, 'blocklist'), { users: [al.username] });

      await say(al, 'from al');
      await ca.c.waitFor((m) => m.type === 'message' && m.content === 'from al');
      await say(ca, 'from ca');
      await bo.c.waitFor((m) => m.type === 'message' && m.content === 'from ca');
      assert.deepEqual(roomMessages(bo.c, room).map((m) => m.content), ['from ca'], 'the blocked sender\'s room message is not delivered to the blocker');
      await ok(al.c, { type: 'dm', to: bo.username, content: 'dm while blocked' }, 'dm');
      await settle();
      assert.deepEqual(dmsOf(bo.c), [], 'nor its DM');
      assert.deepEqual(roomMessages(bo.c, room).map((m) => m.content), ['from ca']);
      // Nor later, from the inbox.
      await bo.c.close();
      const bo2 = await sc.as(bo.username, { token: bo.token });
      await settle();
      assert.deepEqual(dmsOf(bo2.c), [], 'a blocked DM is not in the inbox');
      await join(bo2, room);
      expectFields(await ok(bo2.c, { type: 'unblock', user: al.username }, 'blocklist'), { users: [] });
      await say(al, 'after unblock');
      await bo2.c.waitFor((m) => m.type === 'message' && m.content === 'after unblock');
      const dm = await ok(al.c, { type: 'dm', to: bo.username, content: 'dm after unblock' }, 'dm');
      assert.deepEqual(await bo2.c.waitFor((m) => m.type === 'dm'), dm);
      const g = await sc.guest();
      await refused(g.c, { type: 'block', user: al.username }, 'NOT_LOGGED_IN', ['blocklist']);
      await refused(g.c, { type: 'unblock', user: al.username }, 'NOT_LOGGED_IN', ['blocklist']);
      // Nor by asking for the conversation: the blocker never received that DM.
      const dh = await ok(bo2.c, { type: 'dmhistory', with: al.username }, 'dmhistory');
      assert.deepEqual(
        (dh.messages as Msg[]).map((m) => m.content),
        ['dm after unblock'],
        'dmhistory of the blocker shows no DM sent while the sender was blocked',
      );
    });

    test('recall: by the sender (logged in) or the room owner; recalled to the room; history blanks it; NOT_ALLOWED, NO_SUCH_MESSAGE; DMs by their sender only', { timeout: 20_000 }, async (t) => {
      const sc = scope(t, port);
      const ow = await sc.account('rc');
      const bo = await sc.account('rc');
      const g = await sc.guest();
      const room = uniq('Rr');
      await createRoom(ow, room);
      for (const x of [ow, bo, g]) await join(x, room);
      const m1 = await say(bo, 'by bo');
      const m2 = await say(g, 'by guest');
      const m3 = await say(ow, 'by owner');
      for (const x of [ow, bo, g]) await until(`${x.id} has the 3 messages`, () => roomMessages(x.c, room).length >= 3);

      const expectRecalled = async (m: Msg, by: string): Promise<void> => {
        for (const x of [ow, bo, g]) {
          const r = await x.c.waitFor((y) => y.type === 'recalled' && y.id === m.id);
          assert.deepEqual(r, { type: 'recalled', id: m.id, roomid: room, seq: m.seq, by, epoch: m.epoch }, `${x.id} told`);
        }
      };
      bo.c.send({ type: 'recall', id: m1.id });
      await expectRecalled(m1, bo.username);
      await refused(g.c, { type: 'recall', id: m2.id }, 'NOT_ALLOWED', ['recalled']);
      await refused(bo.c, { type: 'recall', id: m3.id }, 'NOT_ALLOWED', ['recalled']);
      ow.c.send({ type: 'recall', id: m2.id });
      await expectRecalled(m2, ow.username);
      await refused(bo.c, { type: 'recall', id: 'no-such-id' }, 'NO_SUCH_MESSAGE', ['recalled']);

      const blank = (m: Msg): Msg => ({ ...m, content: '', recalled: true });
      const h = await ok(g.c, { type: 'history', roomid: room }, 'history');
      assert.deepEqual(h.messages, [blank(m1), blank(m2), m3], 'history: recalled, content ""');
      assert.deepEqual((await resume(g.c, room, 0)).lines, [blank(m1), blank(m2), m3], 'resume too');

      // DMs: only their sender.
      const dm = await ok(ow.c, { type: 'dm', to: bo.username, content: 'secret' }, 'dm');
      await bo.c.waitFor((m) => m.type === 'dm' && m.id === dm.id);
      await refused(bo.c, { type: 'recall', id: dm.id }, 'NOT_ALLOWED', ['recalled']);
      ow.c.send({ type: 'recall', id: dm.id });
      for (const x of [ow, bo]) expectFields(await x.c.waitFor((m) => m.type === 'recalled' && m.id === dm.id), { id: dm.id, by: ow.username });
      const dh = await ok(bo.c, { type: 'dmhistory', with: ow.username }, 'dmhistory');
      assert.deepEqual(dh.messages, [blank(dm)], 'dmhistory: recalled, content ""');
      // Recalled before its recipient came online: its content is never delivered.
      const ca = await sc.offlineAccount('rc');
      const oops = await ok(ow.c, { type: 'dm', to: ca, content: 'oops' }, 'dm');
      ow.c.send({ type: 'recall', id: oops.id });
      await ow.c.waitFor((m) => m.type === 'recalled' && m.id === oops.id);
      const ca1 = await sc.as(ca);
      await until('the recalled DM, blank', () => dmsOf(ca1.c).length >= 1);
      await settle();
      assert.equal(dmsOf(ca1.c).length, 1);
      expectFields(dmsOf(ca1.c)[0]!, { id: oops.id, content: '', recalled: true }, 'a recalled DM is delivered blank from the inbox: ');
    });

    test('rooms created by an account persist while their owner is away; guest rooms keep the seed-004 lifetime', { timeout: 20_000 }, async (t) => {
      const sc = scope(t, port);
      const al = await sc.account('pe');
      const g = await sc.guest();
      const kept = uniq('Rk');
      const guestRoom = uniq('Rg');
      await createRoom(al, kept);
      await createRoom(g, guestRoom);
      const w = await sc.guest();
      await al.c.close();
      // w, in MainHall with al, sees al leave: the departure has been handled.
      await w.c.waitFor((m) => m.type === 'roomchange' && m.identity === al.username && m.roomid === '');
      const rooms = async (): Promise<Map<string, number>> => {
        const m = await ok(w.c, { type: 'list' }, 'roomlist');
        return new Map((m.rooms as Array<{ roomid: string; count: number }>).map((r) => [r.roomid, r.count]));
      };
      const who = async (roomid: string): Promise<Msg> => ok(w.c, { type: 'who', roomid }, 'roomcontents', (m) => m.roomid === roomid);
      assert.equal((await rooms()).get(kept), 0, 'the account\'s room stays, empty, while its owner is away');
      expectFields(await who(kept), { owner: al.username, identities: [] });
      g.c.send({ type: 'quit' });
      await g.c.closed;
      let list = await rooms();
      for (let i = 0; i < 50 && list.has(guestRoom); i++) {
        await sleep(50);
        list = await rooms();
      }
      assert.ok(!list.has(guestRoom), 'an empty guest room goes with its owner');
      assert.ok(list.has(kept));
      // Only its owner deletes it, once back.
      const bo = await sc.account('pe');
      const refusedDelete = await ok(bo.c, { type: 'delete', roomid: kept }, 'roomlist');
      assert.ok((refusedDelete.rooms as Array<{ roomid: string }>).some((r) => r.roomid === kept), 'not the owner: refused');
      const al2 = await sc.as(al.username, { token: al.token });
      await join(al2, kept);
      const deleted = await ok(al2.c, { type: 'delete', roomid: kept }, 'roomlist', (m) => !(m.rooms as Array<{ roomid: string }>).some((r) => r.roomid === kept));
      assert.ok(deleted);
      assert.ok(!(await rooms()).has(kept));
    });
  });
}

// ---- restart on the same data dir -------------------------------------------------------------

describe('restart with the same data dir', { timeout: 60_000 }, () => {
  test('keeps accounts, tokens, persistent rooms with their owner, history, offline inbox, status and blocks', { timeout: 45_000 }, async (t) => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sb-acct-'));
    let server = await startServer({ args: serverArgs('pool'), dataDir });
    t.after(async () => {
      await server.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    });
    const sc1 = scope(t, () => server.port);
    const al = await sc1.account('rs');
    const bo = await sc1.offlineAccount('rs');
    const mallory = await sc1.offlineAccount('rs');
    const room = uniq('Rp');
    await createRoom(al, room);
    await join(al, room);
    const said = [await say(al, 'before restart 1'), await say(al, 'before restart 2'), await say(al, 'before restart 3')];
    const dms = [await ok(al.c, { type: 'dm', to: bo, content: 'while you were out' }, 'dm'), await ok(al.c, { type: 'dm', to: bo, content: 'and again' }, 'dm')];
    await ok(al.c, { type: 'status', text: 'persisting' }, 'profile');
    await ok(al.c, { type: 'block', user: mallory }, 'blocklist');
    await al.c.close();
    const stopped = await server.stop();
    assert.equal(stopped.code, 0, `clean stop: ${JSON.stringify(stopped)}`);

    server = await startServer({ args: serverArgs('pool'), dataDir });
    const sc = scope(t, () => server.port);
    const g = await sc.guest();
    // The registered names are still reserved.
    expectFields(await ok(g.c, { type: 'identitychange', identity: al.username }, 'newidentity', (m) => m.former === g.id), { identity: g.id });
    await refused(g.c, { type: 'register', username: bo, password: PASSWORD }, 'USERNAME_TAKEN', ['registered']);
    // The room, with its owner away.
    const list = await ok(g.c, { type: 'list' }, 'roomlist');
    assert.deepEqual((list.rooms as Msg[]).find((r) => r.roomid === room), { roomid: room, count: 0 }, 'the account\'s room is back, empty');
    expectFields(await ok(g.c, { type: 'who', roomid: room }, 'roomcontents', (m) => m.roomid === room), { owner: al.username, identities: [] });
    // History and the room's sequence.
    assert.deepEqual((await ok(g.c, { type: 'history', roomid: room }, 'history')).messages, said);
    // The token from before the restart.
    const al2 = await sc.as(al.username, { token: al.token });
    await join(al2, room);
    expectFields(await say(al2, 'after restart'), { seq: 4 }, 'seq continues: ');
    // Blocking again changes nothing and answers with the list as stored.
    expectFields(await ok(al2.c, { type: 'block', user: mallory }, 'blocklist'), { users: [mallory] }, 'blocks kept: ');
    const p = await ok(g.c, { type: 'presence', users: [al.username] }, 'presence');
    assert.deepEqual(p.users, [{ username: al.username, online: true, status: 'persisting', dnd: false, state: 'online' }]);
    // The owner still owns it.
    const del = await ok(al2.c, { type: 'delete', roomid: room }, 'roomlist', (m) => !(m.rooms as Msg[]).some((r) => r.roomid === room));
    assert.ok(del);
    // The offline inbox, in order.
    const bo1 = await sc.as(bo);
    await until('2 inbox DMs', () => bo1.c.received.filter((m) => m.type === 'dm').length >= 2);
    const got = bo1.c.received.filter((m) => m.type === 'dm');
    assert.deepEqual(got.map((m) => ({ ...m, inbox: undefined })), dms.map((m) => ({ ...m, inbox: undefined })));
    assert.ok(got.every((m) => Number.isInteger(m.inbox)));
  });
});

// ---- crashes while a client streams ----------------------------------------------------------

for (const placement of ['pool', 'dedicated'] as const) {
  describe(`crashes (${placement})`, { timeout: 90_000 }, () => {
    let server: RunningServer;
    before(async () => {
      server = await startServer({ args: serverArgs(placement) });
    });
    after(async () => {
      await server?.stop();
    });

    test('kill -9 of the hub while a client streams: nothing echoed is lost; a client that reconnects and resumes gets exactly the gap', { timeout: 40_000 }, async (t) => {
      const sc = scope(t, () => server.port);
      const s = await sc.account('hk');
      const room = uniq('Rk');
      await createRoom(s, room);
      await join(s, room);
      const o = await sc.guest();
      const d = await sc.guest();
      await join(o, room);
      await join(d, room);
      if (placement === 'pool') {
        const [hs, ho] = [await holderOf(server, s.c), await holderOf(server, o.c)];
        t.diagnostic(`sender on worker ${hs}, observer on worker ${ho}`);
      }
      const stream = new Streamer(streaming(s), 's');
      stream.start(STREAM_EVERY_MS);
      await until('100 echoes', () => stream.echoes(room).length >= 100, 10_000);

      const recovering = killHub(server, t);
      // d's connection drops as the hub dies; it comes back as soon as it can.
      await d.c.close();
      const since = lastSeqSeen(d.c, room);
      await recovering;
      const d2 = await sc.guest(15_000);
      await join(d2, room);
      const joinedAt = d2.c.received.length;
      const echoedAtRecovery = stream.echoes(room).length;
      const window = await resume(d2.c, room, since, 15_000);
      await until('100 echoes after the hub restart', () => stream.echoes(room).length >= echoedAtRecovery + 100, 15_000);
      stream.stop();
      const end = await say(s, 'end');
      for (const x of [o, d2]) await x.c.waitFor((m) => m.type === 'message' && m.id === end.id, 10_000);

      const stored = await storedMessages(server.port, room);
      const echoed = stream.echoes(room);
      t.diagnostic(`sent ${stream.sent}, echoed ${echoed.length}, stored ${stored.length}; d dropped at seq ${since}, resumed to ${window.last}`);
      assert.equal(stored[stored.length - 1]!.id, end.id, 'the end marker is the last stored');
      assertHistoryKeeps(stored, [...echoed, end], 'hub kill');
      assert.ok(echoed.every((m) => m.identity === s.username), 'the sender kept its account name across the hub restart');
      // The observer that stayed: no duplicates, no reordering; what the dead hub never wrote
      // out (stored, not delivered) it gets by resume from its last contiguous seq.
      const oSeqs = roomMessages(o.c, room).map((m) => m.seq as number);
      assert.ok(oSeqs.every((s, i) => i === 0 || s > oSeqs[i - 1]!), 'the observer\'s live stream is in seq order without duplicates');
      const oGaps = missing(oSeqs, end.seq as number);
      t.diagnostic(`observer's live gaps: ${JSON.stringify(oGaps.slice(0, 20))}`);
      if (oGaps.length > 0) {
        const fill = await resume(o.c, room, oGaps[0]! - 1);
        assert.deepEqual(missing([...oSeqs, ...fill.lines.map((m) => m.seq as number)], end.seq as number), [], 'resume fills the observer\'s gaps');
      }
      // The client that reconnected.
      const before = roomMessages(d.c, room);
      const afterJoin = d2.c.received.slice(joinedAt).filter((m) => m.type === 'message' && m.roomid === room);
      assertResumeFills(before, since, window, afterJoin, stored, 'reconnected client');
    });

    test('kill -9 of a worker while clients stream: nothing echoed is lost; its client reconnects, resumes and gets exactly the gap; the other client misses nothing', { timeout: 40_000 }, async (t) => {
      const sc = scope(t, () => server.port);
      const a = await sc.account('wk');
      const room = uniq('Rw');
      await createRoom(a, room);
      await join(a, room);
      const ha = await holderOf(server, a.c);
      // b on another worker than a.
      let b = await sc.account('wk');
      for (let i = 0; i < 4 && (await holderOf(server, b.c)) === ha; i++) b = await sc.account('wk');
      const hb = await holderOf(server, b.c);
      assert.notEqual(hb, ha, 'the two streaming clients are on different workers');
      await join(b, room);
      const sa = new Streamer(streaming(a), 'a');
      const sb = new Streamer(streaming(b), 'b');
      sa.start(STREAM_EVERY_MS);
      sb.start(STREAM_EVERY_MS);
      await until('100 echoes each', () => sa.echoes(room).length >= 100 && sb.echoes(room).length >= 100, 10_000);

      process.kill(ha, 'SIGKILL');
      assert.ok(await within(a.c.closed, 5000), 'the killed worker\'s client is disconnected');
      sa.stop();
      const echoedA = sa.echoes(room);
      const since = lastSeqSeen(a.c, room);
      await server.waitForLog((l) => l.role === 'supervisor' && l.msg === 'worker died' && l.childPid === ha, 5000);
      const a2 = await sc.as(a.username, { token: a.token }, 15_000);
      await join(a2, room);
      const joinedAt = a2.c.received.length;
      const window = await resume(a2.c, room, since, 15_000);
      const echoedB = sb.echoes(room).length;
      await until('100 more echoes for b', () => sb.echoes(room).length >= echoedB + 100, 10_000);
      sb.stop();
      const end = await say(b, 'end');
      await a2.c.waitFor((m) => m.type === 'message' && m.id === end.id, 10_000);

      const stored = await storedMessages(server.port, room);
      t.diagnostic(`a sent ${sa.sent} (echoed ${echoedA.length}), b sent ${sb.sent}; stored ${stored.length}; a dropped at ${since}, resumed to ${window.last}`);
      assertHistoryKeeps(stored, [...echoedA, ...sb.echoes(room), end], 'worker kill');
      // b's worker and the hub lived: b saw every message, once, in order.
      assertContiguous(roomMessages(b.c, room).map((m) => m.seq as number), 'the surviving client\'s live stream');
      assert.equal(roomMessages(b.c, room).length, stored.length);
      const afterJoin = a2.c.received.slice(joinedAt).filter((m) => m.type === 'message' && m.roomid === room);
      assertResumeFills(roomMessages(a.c, room), since, window, afterJoin, stored, 'reconnected client');
    });

    test('after kill -9 of the hub a logged-in session keeps its account: logout still revokes its token, its blocks still hold', { timeout: 40_000 }, async (t) => {
      const sc = scope(t, () => server.port);
      const al = await sc.account('hr');
      const bo = await sc.account('hr');
      const room = uniq('Rh');
      await createRoom(al, room);
      await join(al, room);
      await join(bo, room);
      await ok(bo.c, { type: 'block', user: al.username }, 'blocklist');
      const tk = Date.now();
      await killHub(server, t);
      // Still logged in: account requests work without a new login.
      expectFields(await ok(bo.c, { type: 'status', text: 'still here' }, 'profile', () => true, 10_000), { username: bo.username });
      await say(al, 'blocked after restart');
      const g = await sc.guest();
      await join(g, room);
      await say(al, 'second');
      await g.c.waitFor((m) => m.type === 'message' && m.content === 'second');
      await settle();
      assert.deepEqual(roomMessages(bo.c, room).map((m) => m.content), [], 'the block still filters room messages');
      t.diagnostic(`checks after the restart took ${Date.now() - tk} ms`);
      await ok(al.c, { type: 'logout' }, 'loggedout');
      const c = await sc.guest();
      await refused(c.c, { type: 'login', token: al.token }, 'BAD_CREDENTIALS', ['loggedin']);
    });

    // Last on this server: from here on 127.0.0.1 may not log in to it.
    test('login throttling: 5 failures per account, then 20 per address, within 15 min: LOGIN_THROTTLED', { timeout: 40_000 }, async (t) => {
      // Its own server: the per-address count must not include other tests' failed logins.
      const own = await startServer({ args: serverArgs('pool') });
      t.after(() => own.stop());
      const sc = scope(t, () => own.port);
      const g = await sc.guest();
      const victim = uniq('th');
      const other = uniq('th');
      await register(g.c, victim);
      await register(g.c, other);
      for (let i = 1; i <= 5; i++) await refused(g.c, { type: 'login', username: victim, password: `wrong ${i}!` }, 'BAD_CREDENTIALS', ['loggedin']);
      // The sixth attempt is refused even with the right password.
      await refused(g.c, { type: 'login', username: victim, password: PASSWORD }, 'LOGIN_THROTTLED', ['loggedin']);
      // Another account from the same address is not affected yet (5 address failures so far).
      const o = await sc.as(other);
      await o.c.close();
      // 15 more failures, from other connections of the same address: unknown names and tokens.
      const h = await sc.guest();
      for (let i = 0; i < 10; i++) await refused(h.c, { type: 'login', username: uniq('ghost'), password: PASSWORD }, 'BAD_CREDENTIALS', ['loggedin']);
      const k = await sc.guest();
      for (let i = 0; i < 5; i++) await refused(k.c, { type: 'login', token: `bogus-token-${i}-${'x'.repeat(30)}` }, 'BAD_CREDENTIALS', ['loggedin']);
      // 20 failures from 127.0.0.1: everything from that address is refused now, tokens too.
      const z = await sc.guest();
      await refused(z.c, { type: 'login', username: other, password: PASSWORD }, 'LOGIN_THROTTLED', ['loggedin']);
      await refused(z.c, { type: 'login', token: o.token }, 'LOGIN_THROTTLED', ['loggedin']);
    });
  });
}

// ---- backup, restore, export -----------------------------------------------------------------

describe('data commands', { timeout: 90_000 }, () => {
  test('backup while a client streams; restore refused while the server runs; restored after stop to a working server with the data up to the backup; export', { timeout: 60_000 }, async (t) => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sb-bak-'));
    const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sb-bak-out-'));
    const file = path.join(outDir, 'backup.db');
    let server = await startServer({ args: serverArgs('pool'), dataDir });
    t.after(async () => {
      await server.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
      fs.rmSync(outDir, { recursive: true, force: true });
    });
    const sc1 = scope(t, () => server.port);
    const al = await sc1.account('bk');
    const bo = await sc1.offlineAccount('bk');
    const room = uniq('Rb');
    await createRoom(al, room);
    await join(al, room);
    const inboxDm = await ok(al.c, { type: 'dm', to: bo, content: 'in the backup' }, 'dm');
    const stream = new Streamer(streaming(al), 'k');
    stream.start(STREAM_EVERY_MS);
    await until('200 echoes', () => stream.echoes(room).length >= 200, 10_000);

    const echoedBefore = lastSeqSeen(al.c, room);
    const backup = await run(['backup', '--data-dir', dataDir, '--out', file]);
    const sentAtBackupEnd = stream.sent;
    assert.equal(backup.code, 0, `backup exit code; stderr: ${backup.stderr}`);
    assert.ok(fs.statSync(file).size > 0);
    await until('50 echoes of messages sent after the backup', () => stream.echoes(room).length >= sentAtBackupEnd + 50, 10_000);
    stream.stop();
    const last = await say(al, 'after the backup');
    const errors = al.c.received.filter((m) => m.type === 'error');
    assert.deepEqual(errors, [], 'the streaming client got no error while the backup ran');

    const refusedRestore = await run(['restore', '--data-dir', dataDir, '--from', file]);
    assert.notEqual(refusedRestore.code, 0, 'restore refuses while a server runs on the data dir');
    assert.match(refusedRestore.stderr, /running/);
    expectFields(await say(al, 'still serving'), { seq: (last.seq as number) + 1 }, 'the server is untouched: ');
    const original = await storedMessages(server.port, room);
    await al.c.close();
    assert.equal((await server.stop()).code, 0);

    const restored = await run(['restore', '--data-dir', dataDir, '--from', file]);
    assert.equal(restored.code, 0, `restore exit code; stderr: ${restored.stderr}`);
    server = await startServer({ args: serverArgs('pool'), dataDir });
    const sc = scope(t, () => server.port);
    const stored = await storedMessages(server.port, room);
    const K = stored.length;
    t.diagnostic(`echoed before the backup: ${echoedBefore}; restored ${K} of ${original.length}`);
    assert.ok(K >= echoedBefore, `the backup has everything echoed before it started (${K} < ${echoedBefore})`);
    assert.ok(K < original.length, 'the backup is a snapshot: later messages are not in it');
    const withoutEpoch = (ms: Msg[]): Msg[] => ms.map(({ epoch: _epoch, ...m }) => m);
    assert.deepEqual(withoutEpoch(stored), withoutEpoch(original.slice(0, K)), 'the restored history is a prefix of the original, as it was');
    const restoredEpoch = stored[0]!.epoch;
    assert.ok(stored.every((m) => m.epoch === restoredEpoch) && restoredEpoch !== original[0]!.epoch, 'the same seqs in a new epoch');
    // Accounts, tokens, the room and its owner, the inbox.
    const al2 = await sc.as(al.username, { token: al.token });
    expectFields(await ok(al2.c, { type: 'who', roomid: room }, 'roomcontents', (m) => m.roomid === room), { owner: al.username });
    await join(al2, room);
    expectFields(await say(al2, 'after restore'), { seq: K + 1 });
    const bo1 = await sc.as(bo);
    expectFields(await bo1.c.waitFor((m) => m.type === 'dm'), { id: inboxDm.id, content: 'in the backup' });

    // export, while the server runs.
    const json = await run(['export', '--data-dir', dataDir, '--room', room, '--format', 'json']);
    assert.equal(json.code, 0, json.stderr);
    const exported = JSON.parse(json.stdout) as Array<Record<string, unknown>>;
    assert.equal(exported.length, K + 1);
    assert.deepEqual(
      exported.slice(0, 3).map((m) => ({ id: m.id, seq: m.seq, identity: m.identity, content: m.content, roomid: m.roomid, epoch: m.epoch })),
      stored.slice(0, 3).map((m) => ({ id: m.id, seq: m.seq, identity: m.identity, content: m.content, roomid: m.roomid, epoch: m.epoch })),
    );
    const text = await run(['export', '--data-dir', dataDir, '--room', room]);
    assert.equal(text.code, 0, text.stderr);
    const lines = text.stdout.trimEnd().split('\n');
    assert.equal(lines.length, K + 1);
    assert.match(lines[0]!, new RegExp(`^\\[\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d\\] #1 ${al.username}: ${stored[0]!.content as string}$`));
    assert.match(lines[K]!, new RegExp(`#${K + 1} ${al.username}: after restore$`));
  });
});
