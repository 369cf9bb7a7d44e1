import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, test, type TestContext } from 'node:test';
import { TestClient, type Msg } from './client';
import { startServer, type RunningServer } from './server';

/**
 * Conformance of the core chat protocol (seed 004, shared/PROTOCOL-CORE.md) against the real
 * server: one suite, run by test/integration/protocol.test.ts against one server in both
 * placements and by test/integration/cluster-protocol.test.ts against a 3-node cluster with
 * its clients spread over the nodes. Every test has its own clients and rooms and closes its
 * clients; a test waits for the reply to each step before the next, since requests from
 * different clients (on different workers, or nodes) may otherwise be sequenced in either order.
 */

const MAIN = 'MainHall';
const GUEST = /^guest[1-9][0-9]*$/;
const MAX_LINE = 1024;
/** Long enough for the server to have sent anything it was going to send. */
const QUIET_MS = 250;

const RUN = Math.random().toString(36).slice(2, 6).padEnd(4, '0');
let seq = 0;
/** A name unique in this run: letters prefix, then alphanumerics (valid as identity and room id). */
const uniq = (prefix: string): string => `${prefix}${RUN}${(++seq).toString(36)}`;

type Target = number | { path: string };

interface User {
  c: TestClient;
  id: string;
}

/** What the suite runs against, once started. */
export interface SuiteTarget {
  /** Where the next client connects: one server's port, or the next node of a cluster in turn. */
  next(): number;
  /** A Unix socket the server (a cluster: one of its nodes) listens on, beside TCP. */
  unixPath: string;
  /** The one server, when the target is one (its tests of one process's mechanics need it). */
  single?: { server: RunningServer; placement: 'pool' | 'dedicated'; args: string[] };
}

/** A way to run the suite: one server in a placement, or a cluster. */
export interface SuiteVariant {
  name: string;
  /** Several nodes: the tests of one server's own mechanics are left out (each says why). */
  cluster: boolean;
  /** Why it cannot run on this machine (skipped with that reason; a failure under CI=true), or null. */
  missing(): string | null;
  /** Starts the server(s) with `args` added to every `serve` (a line limit, no rate limits). */
  start(args: string[]): Promise<SuiteTarget>;
  stop(): Promise<void>;
}

// ---- helpers ---------------------------------------------------------------------------------

const WELCOME_TIMEOUT_MS = 20_000;

/** Clients of one test, closed when it ends. */
function scope(t: TestContext, target: () => Target) {
  const open: TestClient[] = [];
  t.after(async () => {
    await Promise.all(open.map((c) => c.close()));
  });
  const raw = async (where: Target = target()): Promise<TestClient> => {
    const client = await TestClient.connect(where);
    open.push(client);
    return client;
  };
  const user = async (where: Target = target()): Promise<User> => {
    const client = await raw(where);
    // Generous: in dedicated placement a client beyond the spares waits for a process start,
    // which takes seconds on a loaded two-core machine.
    const hello = await client.next(WELCOME_TIMEOUT_MS);
    assert.equal(hello.type, 'newidentity', `welcome starts with newidentity: ${JSON.stringify(hello)}`);
    await client.waitFor(typed('roomcontents'), WELCOME_TIMEOUT_MS);
    return { c: client, id: hello.identity as string };
  };
  /** Several clients at once (in dedicated placement their worker processes start in parallel). */
  const users = (n: number): Promise<User[]> => Promise.all(Array.from({ length: n }, () => user()));
  return { raw, user, users };
}

/** Checks the named fields only: later features may add fields to core messages. */
function expectFields(m: Msg, expected: Record<string, unknown>): void {
  const got = Object.fromEntries(Object.keys(expected).map((k) => [k, m[k]]));
  assert.deepEqual(got, expected, `unexpected message ${JSON.stringify(m)}`);
}

async function nextIs(c: TestClient, expected: Record<string, unknown>): Promise<Msg> {
  const m = await c.next();
  expectFields(m, expected);
  return m;
}

/**
 * The next message that is not another client's presence (arrivals, departures and renames of
 * others, which a client in MainHall may hear at any time from other tests): the reply to the
 * request just sent. A private room has no such noise; there `nextIs` is exact.
 */
async function reply(u: User, expected?: Record<string, unknown>): Promise<Msg> {
  const m = await u.c.waitFor(
    (x) => !((x.type === 'roomchange' && x.identity !== u.id) || (x.type === 'newidentity' && x.former !== u.id)),
  );
  if (expected) expectFields(m, expected);
  return m;
}

const roomchangeOf =
  (identity: string, roomid: string) =>
  (m: Msg): boolean =>
    m.type === 'roomchange' && m.identity === identity && m.roomid === roomid;

const typed = (type: string) => (m: Msg) => m.type === type;

/** `withMainHall` false: the reply to a refused `createroom` of MainHall, which leaves it out. */
function roomsOf(m: Msg, withMainHall = true): Map<string, number> {
  assert.equal(m.type, 'roomlist');
  assert.ok(Array.isArray(m.rooms), `rooms is not an array: ${JSON.stringify(m)}`);
  const rooms = m.rooms as Array<{ roomid: unknown; count: unknown }>;
  for (const r of rooms) {
    assert.equal(typeof r.roomid, 'string', JSON.stringify(r));
    assert.ok(Number.isInteger(r.count) && (r.count as number) >= 0, JSON.stringify(r));
  }
  if (withMainHall) assert.equal(rooms[0]?.roomid, MAIN, 'MainHall is listed first');
  return new Map(rooms.map((r) => [r.roomid as string, r.count as number]));
}

async function list(u: User): Promise<Map<string, number>> {
  u.c.send({ type: 'list' });
  return roomsOf(await u.c.waitFor(typed('roomlist')));
}

async function who(u: User, roomid: string): Promise<{ identities: string[]; owner: string }> {
  u.c.send({ type: 'who', roomid });
  const m = await u.c.waitFor((x) => x.type === 'roomcontents' && x.roomid === roomid);
  assert.ok(Array.isArray(m.identities), JSON.stringify(m));
  assert.equal(typeof m.owner, 'string', JSON.stringify(m));
  return { identities: [...(m.identities as string[])].sort(), owner: m.owner as string };
}

async function createRoom(u: User, roomid: string): Promise<void> {
  u.c.send({ type: 'createroom', roomid });
  const rooms = roomsOf(await u.c.waitFor(typed('roomlist')));
  assert.equal(rooms.get(roomid), 0, `created room ${roomid} is listed empty`);
}

async function join(u: User, roomid: string): Promise<void> {
  u.c.send({ type: 'join', roomid });
  await u.c.waitFor(roomchangeOf(u.id, roomid));
  if (roomid === MAIN) await u.c.waitFor(typed('roomcontents'));
}

async function rename(u: User, identity: string): Promise<void> {
  u.c.send({ type: 'identitychange', identity });
  await u.c.waitFor((m) => m.type === 'newidentity' && m.former === u.id && m.identity === identity);
  u.id = identity;
}

/** Sends a bad line and checks the coded error comes back and the connection still answers. */
async function expectError(u: User, line: string | Buffer, code: string): Promise<void> {
  u.c.socket.write(line);
  const m = await reply(u);
  assert.equal(m.type, 'error', `expected an error for ${JSON.stringify(String(line))}, got ${JSON.stringify(m)}`);
  assert.equal(m.code, code, `code for ${JSON.stringify(String(line))}`);
  assert.equal(typeof m.message, 'string');
  assert.ok((m.message as string).length > 0);
}

async function expectClosed(c: TestClient, ms = 5000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('connection was not closed by the server')), ms)));
  try {
    await Promise.race([c.closed, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls a condition on server state that no message announces to an observer. */
async function eventually(check: () => Promise<boolean>, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(25);
  }
}

/** Waits until `u` is the only client connected (every client is counted in some room). */
async function waitAlone(u: User): Promise<void> {
  await eventually(async () => [...(await list(u)).values()].reduce((a, b) => a + b, 0) === 1, 'the server holds no other client');
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Writes and waits a little, so the next write leaves as its own TCP segment. */
function writeApart(c: TestClient, bytes: string | Buffer): Promise<void> {
  return new Promise((resolve) => c.socket.write(bytes, () => setTimeout(resolve, 30)));
}

/**
 * The pid of the server process holding the server side of a client's TCP connection (Linux
 * /proc), or undefined where that cannot be read.
 */
function serverPidOf(c: TestClient, serverPort: number, exclude: number): number | undefined {
  const hex = (n: number) => n.toString(16).toUpperCase().padStart(4, '0');
  let table: string;
  try {
    table = fs.readFileSync('/proc/net/tcp', 'utf8');
  } catch {
    return undefined;
  }
  const local = `0100007F:${hex(serverPort)}`;
  const remote = `0100007F:${hex(c.localPort)}`;
  const row = table
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .find((f) => f[1] === local && f[2] === remote);
  if (!row) return undefined;
  const needle = `socket:[${row[9]}]`;
  for (const pid of fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    if (Number(pid) === exclude || Number(pid) === process.pid) continue;
    let fds: string[];
    try {
      fds = fs.readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        if (fs.readlinkSync(`/proc/${pid}/fd/${fd}`) === needle) return Number(pid);
      } catch {
        /* closed meanwhile */
      }
    }
  }
  return undefined;
}

// ---- the suite, once per variant -------------------------------------------------------------

/** Defines the core protocol suite against `variant` (one `describe`). */
export function defineCoreProtocolSuite(variant: SuiteVariant): void {
  const missing = variant.missing();
  // Skipped visibly where the machine lacks what the variant needs; never under CI.
  const skip = missing !== null && process.env.CI !== 'true' ? missing : false;
  describe(variant.name, { skip }, () => {
    let target: SuiteTarget;
    const tcp = (): Target => target.next();

    before(async () => {
      if (missing !== null) throw new Error(`${missing} (a failure under CI=true: a test must not skip silently)`);
      // Some tests send requests back to back faster than the default rate limit allows; the
      // limits have their own suite (limits.test.ts).
      const unlimited = ['--rate-limit', '1000', '--rate-burst', '1000', '--account-rate-limit', '1000'];
      target = await variant.start(['--max-line-bytes', String(MAX_LINE), ...unlimited]);
    });
    after(async () => {
      await variant.stop();
    });

    // -- connect --

    test('welcome: newidentity, roomchange, roomlist, roomcontents, in order, every field', async (t) => {
      const s = scope(t, tcp);
      const a = await s.user();
      const c = await s.raw();
      const hello = await nextIs(c, { type: 'newidentity', former: '' });
      const id = hello.identity as string;
      assert.match(id, GUEST);
      await nextIs(c, { type: 'roomchange', identity: id, former: '', roomid: MAIN });
      const rooms = roomsOf(await c.next());
      assert.ok((rooms.get(MAIN) ?? 0) >= 2, 'MainHall counts both clients');
      const contents = await nextIs(c, { type: 'roomcontents', roomid: MAIN, owner: '' });
      assert.ok((contents.identities as string[]).includes(id));
      assert.ok((contents.identities as string[]).includes(a.id));
      // Everyone already in MainHall is told of the newcomer.
      expectFields(await a.c.waitFor(roomchangeOf(id, MAIN)), { former: '' });
    });

    test('requests sent before the welcome arrives are answered after it', async (t) => {
      const s = scope(t, tcp);
      const c = await s.raw();
      c.send('not json\n{"type":"list"}\n');
      const hello = await nextIs(c, { type: 'newidentity', former: '' });
      await nextIs(c, { type: 'roomchange', identity: hello.identity, former: '', roomid: MAIN });
      roomsOf(await c.next());
      await nextIs(c, { type: 'roomcontents', roomid: MAIN });
      const me: User = { c, id: hello.identity as string };
      await reply(me, { type: 'error', code: 'INVALID_JSON' });
      roomsOf(await reply(me));
    });

    test('guest names: the smallest free integer, reused after a guest leaves or renames', async (t) => {
      const s = scope(t, tcp);
      const probe = await s.user();
      await waitAlone(probe);
      await rename(probe, uniq('Probe')); // now no guest name is in use
      const first = await s.users(3);
      assert.deepEqual(first.map((u) => u.id).sort(), ['guest1', 'guest2', 'guest3']);
      const named = (id: string): User => first.find((u) => u.id === id)!;
      await rename(named('guest2'), uniq('Nick'));
      await named('guest3').c.close();
      await probe.c.waitFor(roomchangeOf('guest3', ''));
      // A guest name taken by choice is in use too.
      await rename(probe, 'guest5');
      const second = await s.users(4);
      assert.deepEqual(second.map((u) => u.id).sort(), ['guest2', 'guest3', 'guest4', 'guest6']);
    });

    // -- identitychange --

    test("identitychange: newidentity broadcast to the changer's room only", async (t) => {
      const s = scope(t, tcp);
      const [a, b, outside] = await s.users(3);
      const room = uniq('Room');
      await createRoom(a!, room);
      await join(a!, room);
      await join(b!, room);
      await a!.c.waitFor(roomchangeOf(b!.id, room));
      await outside!.c.waitFor(roomchangeOf(b!.id, room));
      const former = a!.id;
      const wanted = uniq('Nick');
      a!.c.send({ type: 'identitychange', identity: wanted });
      await nextIs(a!.c, { type: 'newidentity', former, identity: wanted });
      await nextIs(b!.c, { type: 'newidentity', former, identity: wanted });
      assert.deepEqual((await outside!.c.drain(QUIET_MS)).filter(typed('newidentity')), [], 'another room hears nothing');
      a!.id = wanted;
      assert.deepEqual(await who(b!, room), { identities: [a!.id, b!.id].sort(), owner: a!.id }, 'the owner is shown by its new name');
      // The old name is free again.
      await rename(outside!, former);
    });

    test('identitychange refused (invalid, too short/long, taken): newidentity former == identity, to the requester only', async (t) => {
      const s = scope(t, tcp);
      const [a, b] = await s.users(2);
      const room = uniq('Room');
      await createRoom(a!, room);
      await join(a!, room);
      await join(b!, room);
      await a!.c.waitFor(roomchangeOf(b!.id, room));
      const refused = ['ab', 'A' + 'b'.repeat(16), '1abc', 'ab_c', 'abc def', '', 'héllo', b!.id, a!.id];
      for (const identity of refused) {
        a!.c.send({ type: 'identitychange', identity });
        await nextIs(a!.c, { type: 'newidentity', former: a!.id, identity: a!.id });
      }
      assert.deepEqual(await b!.c.drain(QUIET_MS), [], 'a refusal is not broadcast');
      // The bounds themselves are accepted: 3 and 16 characters.
      await rename(a!, `Q${RUN.slice(0, 2)}`);
      await rename(a!, `L${RUN}${(++seq).toString(36)}`.padEnd(16, 'x'));
      assert.equal(a!.id.length, 16);
    });

    // -- join --

    test('join: roomchange to the mover, its former room and its new room, nobody else', async (t) => {
      const s = scope(t, tcp);
      const [owner, mover, stayer, host] = await s.users(4);
      const [r1, r2] = [uniq('Room'), uniq('Room')];
      await createRoom(owner!, r1);
      await createRoom(owner!, r2);
      await join(mover!, r1);
      await join(stayer!, r1);
      await join(host!, r2);
      await owner!.c.waitFor(roomchangeOf(host!.id, r2));
      await mover!.c.waitFor(roomchangeOf(stayer!.id, r1));
      mover!.c.send({ type: 'join', roomid: r2 });
      const expected = { type: 'roomchange', identity: mover!.id, former: r1, roomid: r2 };
      await nextIs(mover!.c, expected);
      await nextIs(stayer!.c, expected);
      await nextIs(host!.c, expected);
      const heard = (await owner!.c.drain(QUIET_MS)).filter((m) => m.identity === mover!.id);
      assert.deepEqual(heard, [], 'MainHall hears nothing of a move between two other rooms');
      assert.deepEqual((await who(owner!, r2)).identities, [host!.id, mover!.id].sort());
      assert.deepEqual((await who(owner!, r1)).identities, [stayer!.id]);
    });

    test('join refused (unknown, invalid, current room): roomchange former == roomid, to the requester only', async (t) => {
      const s = scope(t, tcp);
      const [a, b] = await s.users(2);
      const room = uniq('Room');
      await createRoom(a!, room);
      await join(a!, room);
      await join(b!, room);
      await a!.c.waitFor(roomchangeOf(b!.id, room));
      for (const roomid of [uniq('Nowhere'), 'x!', '', 'ab', room]) {
        a!.c.send({ type: 'join', roomid });
        await nextIs(a!.c, { type: 'roomchange', identity: a!.id, former: room, roomid: room });
      }
      assert.deepEqual(await b!.c.drain(QUIET_MS), [], 'a refusal is not broadcast');
      assert.deepEqual((await who(b!, room)).identities, [a!.id, b!.id].sort());
    });

    test('join MainHall: roomchange, then roomlist, then roomcontents', async (t) => {
      const s = scope(t, tcp);
      const a = await s.user();
      const room = uniq('Room');
      await createRoom(a, room);
      await join(a, room);
      a.c.send({ type: 'join', roomid: MAIN });
      await nextIs(a.c, { type: 'roomchange', identity: a.id, former: room, roomid: MAIN });
      const rooms = roomsOf(await a.c.next());
      assert.equal(rooms.get(room), 0, 'an owned room stays when its last member leaves');
      const contents = await nextIs(a.c, { type: 'roomcontents', roomid: MAIN, owner: '' });
      assert.ok((contents.identities as string[]).includes(a.id));
    });

    // -- who, list --

    test('who: roomcontents with the members and the owner; MainHall has owner ""', async (t) => {
      const s = scope(t, tcp);
      const [owner, a, b] = await s.users(3);
      const room = uniq('Room');
      await createRoom(owner!, room);
      await join(a!, room);
      await join(b!, room);
      owner!.c.send({ type: 'who', roomid: room });
      const m = await reply(owner!, { type: 'roomcontents', roomid: room, owner: owner!.id });
      assert.deepEqual([...(m.identities as string[])].sort(), [a!.id, b!.id].sort());
      const hall = await who(owner!, MAIN);
      assert.equal(hall.owner, '');
      assert.ok(hall.identities.includes(owner!.id));
      const unknown = uniq('Nowhere');
      owner!.c.send({ type: 'who', roomid: unknown });
      await reply(owner!, { type: 'roomcontents', roomid: unknown, identities: [], owner: '' });
    });

    test('list: roomlist with member counts, MainHall first', async (t) => {
      const s = scope(t, tcp);
      const [owner, a, b] = await s.users(3);
      const room = uniq('Room');
      await createRoom(owner!, room);
      await join(a!, room);
      await join(b!, room);
      owner!.c.send({ type: 'list' });
      const rooms = roomsOf(await reply(owner!));
      assert.equal(rooms.get(room), 2);
      assert.ok((rooms.get(MAIN) ?? 0) >= 1);
      await join(b!, MAIN);
      assert.equal((await list(owner!)).get(room), 1);
    });

    // -- createroom --

    test('createroom: the creator owns the room, does not move, and gets a roomlist with it', async (t) => {
      const s = scope(t, tcp);
      const a = await s.user();
      const room = uniq('Room');
      a.c.send({ type: 'createroom', roomid: room });
      assert.equal(roomsOf(await reply(a)).get(room), 0);
      const moved = (await a.c.drain(QUIET_MS)).filter((m) => m.type === 'roomchange' && m.identity === a.id);
      assert.deepEqual(moved, [], 'the creator stays where it is');
      assert.deepEqual(await who(a, room), { identities: [], owner: a.id });
      assert.ok((await who(a, MAIN)).identities.includes(a.id));
      // The bounds of the room id pattern are accepted: 3 and 32 characters.
      await createRoom(a, `Z${RUN.slice(0, 2)}`);
      await createRoom(a, `R${RUN}${(++seq).toString(36)}`.padEnd(32, 'y'));
    });

    test('createroom refused (invalid, existing, MainHall): roomlist without a change, without the room asked for', async (t) => {
      const s = scope(t, tcp);
      const [owner, a] = await s.users(2);
      const room = uniq('Room');
      await createRoom(owner!, room);
      const invalid = ['ab', '9abc', 'Room_x', 'R' + 'o'.repeat(32), '', 'Röom'];
      for (const roomid of [...invalid, room, MAIN]) {
        a!.c.send({ type: 'createroom', roomid });
        const rooms = roomsOf(await reply(a!), roomid !== MAIN);
        for (const bad of invalid) assert.ok(!rooms.has(bad), `${bad} was not created`);
        // Seed clients judge createroom by the room's presence in the reply: a refusal lists
        // every room but the one asked for, even when it exists.
        assert.equal(rooms.has(roomid), false, `refused ${roomid} is not listed`);
        for (const other of [room, MAIN]) if (other !== roomid) assert.ok(rooms.has(other), `${other} still listed`);
      }
      assert.equal((await who(a!, room)).owner, owner!.id, 'the existing room keeps its owner');
      assert.equal((await who(a!, MAIN)).owner, '');
    });

    // -- delete --

    test('delete by the owner: members go to MainHall with roomchange, roomlist, roomcontents; the owner gets roomlist', async (t) => {
      const s = scope(t, tcp);
      const [owner, b, c] = await s.users(3);
      const room = uniq('Room');
      await createRoom(owner!, room);
      await join(b!, room);
      await join(c!, room);
      await owner!.c.waitFor(roomchangeOf(c!.id, room));
      owner!.c.send({ type: 'delete', roomid: room });
      for (const member of [b!, c!]) {
        expectFields(await member.c.waitFor(roomchangeOf(member.id, MAIN)), { former: room });
        roomsOf(await member.c.next());
        const contents = await nextIs(member.c, { type: 'roomcontents', roomid: MAIN, owner: '' });
        assert.ok((contents.identities as string[]).includes(member.id));
      }
      // MainHall sees both arrive; the requester then gets its roomlist, without the room.
      await owner!.c.waitFor(roomchangeOf(b!.id, MAIN));
      await owner!.c.waitFor(roomchangeOf(c!.id, MAIN));
      assert.ok(!roomsOf(await owner!.c.waitFor(typed('roomlist'))).has(room));
      assert.ok(!(await list(b!)).has(room));
      assert.ok((await who(b!, MAIN)).identities.includes(c!.id));
    });

    test('delete: the roomlist sent to moved members no longer lists the deleted room', async (t) => {
      const s = scope(t, tcp);
      const [owner, b] = await s.users(2);
      const room = uniq('Room');
      await createRoom(owner!, room);
      await join(b!, room);
      owner!.c.send({ type: 'delete', roomid: room });
      await b!.c.waitFor(roomchangeOf(b!.id, MAIN));
      const rooms = roomsOf(await b!.c.next());
      assert.ok(!rooms.has(room), `deleted room ${room} still listed to its moved member: ${JSON.stringify([...rooms])}`);
    });

    test('delete by an owner inside the room: it moves to MainHall too, then gets its roomlist', async (t) => {
      const s = scope(t, tcp);
      const [owner, b] = await s.users(2);
      const room = uniq('Room');
      await createRoom(owner!, room);
      await join(owner!, room);
      await join(b!, room);
      await owner!.c.waitFor(roomchangeOf(b!.id, room));
      owner!.c.send({ type: 'delete', roomid: room });
      await nextIs(owner!.c, { type: 'roomchange', identity: owner!.id, former: room, roomid: MAIN });
      roomsOf(await owner!.c.next());
      await nextIs(owner!.c, { type: 'roomcontents', roomid: MAIN, owner: '' });
      assert.ok(!roomsOf(await owner!.c.waitFor(typed('roomlist'))).has(room));
      expectFields(await b!.c.waitFor(roomchangeOf(b!.id, MAIN)), { former: room });
    });

    test('delete refused (not the owner, unknown room, MainHall): roomlist, nothing changes', async (t) => {
      const s = scope(t, tcp);
      const [owner, member] = await s.users(2);
      const room = uniq('Room');
      await createRoom(owner!, room);
      await join(member!, room);
      for (const roomid of [room, uniq('Nowhere'), MAIN]) {
        member!.c.send({ type: 'delete', roomid });
        assert.equal(roomsOf(await nextIs(member!.c, { type: 'roomlist' })).get(room), 1);
      }
      owner!.c.send({ type: 'delete', roomid: MAIN });
      assert.ok(roomsOf(await owner!.c.waitFor(typed('roomlist'))).has(MAIN));
      assert.deepEqual(await member!.c.drain(QUIET_MS), [], 'nobody was moved');
      assert.deepEqual(await who(member!, room), { identities: [member!.id], owner: owner!.id });
    });

    // -- message --

    test("message: to everyone in the sender's room, the sender included, and nobody else", async (t) => {
      const s = scope(t, tcp);
      const [a, b, outside] = await s.users(3);
      const room = uniq('Room');
      await createRoom(a!, room);
      await join(a!, room);
      await join(b!, room);
      await a!.c.waitFor(roomchangeOf(b!.id, room));
      const contents = ['hello', 'ünïcödé ✓ 日本語 🎉', 'quote " backslash \\ newline \n tab \t', ''];
      for (const content of contents) {
        a!.c.send({ type: 'message', content });
        const expected = { type: 'message', identity: a!.id, content };
        await nextIs(a!.c, expected);
        await nextIs(b!.c, expected);
      }
      b!.c.send({ type: 'message', content: 'back' });
      await nextIs(a!.c, { type: 'message', identity: b!.id, content: 'back' });
      await nextIs(b!.c, { type: 'message', identity: b!.id, content: 'back' });
      // One sender's messages arrive in the order sent.
      for (let i = 0; i < 20; i++) a!.c.send({ type: 'message', content: `n${i}` });
      for (let i = 0; i < 20; i++) await nextIs(b!.c, { type: 'message', identity: a!.id, content: `n${i}` });
      assert.deepEqual((await outside!.c.drain(QUIET_MS)).filter(typed('message')), [], 'another room hears nothing');
    });

    // -- quit, disconnect, room lifetime --

    test('quit: roomchange with roomid "" to the room and the quitter, then the server closes', async (t) => {
      const s = scope(t, tcp);
      const [a, b] = await s.users(2);
      const room = uniq('Room');
      await createRoom(b!, room);
      await join(a!, room);
      await join(b!, room);
      await a!.c.waitFor(roomchangeOf(b!.id, room));
      a!.c.send({ type: 'quit' });
      const expected = { type: 'roomchange', identity: a!.id, former: room, roomid: '' };
      await nextIs(a!.c, expected);
      await nextIs(b!.c, expected);
      await expectClosed(a!.c);
      assert.deepEqual((await who(b!, room)).identities, [b!.id]);
    });

    test('dropped connection: the room gets roomchange with roomid ""', async (t) => {
      const s = scope(t, tcp);
      const [a, b] = await s.users(2);
      const room = uniq('Room');
      await createRoom(b!, room);
      await join(a!, room);
      await join(b!, room);
      await a!.c.waitFor(roomchangeOf(b!.id, room));
      await a!.c.close();
      await nextIs(b!.c, { type: 'roomchange', identity: a!.id, former: room, roomid: '' });
      assert.deepEqual((await who(b!, room)).identities, [b!.id]);
    });

    test('quit of an owner: its rooms lose their owner; an empty ownerless room is deleted', async (t) => {
      const s = scope(t, tcp);
      const [owner, b] = await s.users(2);
      const [used, empty] = [uniq('Room'), uniq('Room')];
      await createRoom(owner!, used);
      await createRoom(owner!, empty);
      await join(b!, used);
      owner!.c.send({ type: 'quit' });
      await owner!.c.waitFor(roomchangeOf(owner!.id, ''));
      await expectClosed(owner!.c);
      assert.deepEqual(await who(b!, used), { identities: [b!.id], owner: '' });
      const rooms = await list(b!);
      assert.equal(rooms.get(used), 1, 'a room with members stays');
      assert.ok(!rooms.has(empty), 'an empty room whose owner quit is deleted');
      // Its last member leaving by joining elsewhere deletes the ownerless room.
      await join(b!, MAIN);
      assert.ok(!(await list(b!)).has(used));
    });

    test('an ownerless room is deleted when its last member drops its connection', async (t) => {
      const s = scope(t, tcp);
      const [owner, b, observer] = await s.users(3);
      const room = uniq('Room');
      await createRoom(owner!, room);
      await join(b!, room);
      await owner!.c.close();
      // Nothing announces these to a client outside the room: poll its view.
      await eventually(async () => (await who(observer!, room)).owner === '', 'the room has lost its owner');
      await b!.c.close();
      await eventually(async () => !(await list(observer!)).has(room), 'the room is deleted');
    });

    test('an owned room stays when it empties; a dropped owner leaves it ownerless', async (t) => {
      const s = scope(t, tcp);
      const [owner, b] = await s.users(2);
      const room = uniq('Room');
      await createRoom(owner!, room);
      await join(b!, room);
      await join(b!, MAIN);
      assert.equal((await list(b!)).get(room), 0);
      await join(b!, room);
      await owner!.c.close();
      await eventually(async () => (await who(b!, room)).owner === '', 'the room has lost its owner');
      assert.equal((await list(b!)).get(room), 1);
    });

    // -- several workers --

    test('clients on different workers exchange messages, renames and moves', async (t) => {
      const s = scope(t, tcp);
      const first = await s.user();
      await waitAlone(first);
      const all = [first, ...(await s.users(3))];
      // A cluster spreads its clients over the nodes by construction; which worker process of
      // which node holds them is one server's concern.
      const single = target.single;
      const pids = single ? all.map((u) => serverPidOf(u.c, single.server.port, single.server.pid)) : [];
      const x = all[0]!;
      let y = all[1]!;
      if (!single) {
        t.diagnostic('clients connected to the nodes in turn');
      } else if (pids.every((p) => p !== undefined)) {
        t.diagnostic(`server processes holding the clients: ${pids.join(', ')}`);
        const distinct = new Set(pids).size;
        if (single.placement === 'dedicated') assert.equal(distinct, 4, 'one worker process per client');
        else assert.ok(distinct >= 2, `clients spread over the pool: ${pids.join(',')}`);
        y = all[pids.findIndex((p) => p !== pids[0])]!;
      } else {
        t.diagnostic('cannot read /proc: which worker holds which client is not checked');
      }
      const room = uniq('Room');
      await createRoom(x, room);
      await join(x, room);
      await join(y, room);
      expectFields(await x.c.waitFor(roomchangeOf(y.id, room)), { former: MAIN });
      x.c.send({ type: 'message', content: 'from x' });
      await nextIs(y.c, { type: 'message', identity: x.id, content: 'from x' });
      const former = y.id;
      await rename(y, uniq('Nick'));
      await nextIs(x.c, { type: 'message', identity: x.id, content: 'from x' });
      await nextIs(x.c, { type: 'newidentity', former, identity: y.id });
      y.c.send({ type: 'message', content: 'from y' });
      await nextIs(x.c, { type: 'message', identity: y.id, content: 'from y' });
      y.c.send({ type: 'quit' });
      await nextIs(x.c, { type: 'roomchange', identity: y.id, former: room, roomid: '' });
    });

    // -- malformed input --

    test('malformed input: a coded error to the sender, and the connection keeps working', async (t) => {
      const s = scope(t, tcp);
      const a = await s.user();
      const cases: Array<[string, string]> = [
        ['hello there', 'INVALID_JSON'],
        ['{"type":"list"', 'INVALID_JSON'],
        ['   ', 'INVALID_JSON'],
        ['[{"type":"list"}]', 'INVALID_MESSAGE'],
        ['42', 'INVALID_MESSAGE'],
        ['"list"', 'INVALID_MESSAGE'],
        ['null', 'INVALID_MESSAGE'],
        ['{"roomid":"MainHall"}', 'INVALID_MESSAGE'],
        ['{"type":7}', 'INVALID_MESSAGE'],
        ['{"__proto__":{"type":"list"}}', 'INVALID_MESSAGE'],
        ['{"type":"dance"}', 'UNKNOWN_TYPE'],
        ['{"type":"LIST"}', 'UNKNOWN_TYPE'],
        ['{"type":"constructor"}', 'UNKNOWN_TYPE'],
        ['{"type":"__proto__"}', 'UNKNOWN_TYPE'],
        ['{"type":"toString","roomid":"x"}', 'UNKNOWN_TYPE'],
        ['{"type":"hasOwnProperty"}', 'UNKNOWN_TYPE'],
        ['{"type":"join"}', 'INVALID_FIELD'],
        ['{"type":"join","roomid":5}', 'INVALID_FIELD'],
        ['{"type":"who","roomid":null}', 'INVALID_FIELD'],
        ['{"type":"createroom","roomid":{}}', 'INVALID_FIELD'],
        ['{"type":"delete"}', 'INVALID_FIELD'],
        ['{"type":"message"}', 'INVALID_FIELD'],
        ['{"type":"message","content":null}', 'INVALID_FIELD'],
        ['{"type":"identitychange","identity":["abc"]}', 'INVALID_FIELD'],
      ];
      for (const [line, code] of cases) {
        await expectError(a, line + '\n', code);
        a.c.send({ type: 'list' });
        roomsOf(await reply(a));
      }
      assert.ok((await who(a, MAIN)).identities.includes(a.id), 'still in MainHall');
    });

    test('errors go to the sender only and change nothing', async (t) => {
      const s = scope(t, tcp);
      const [a, b] = await s.users(2);
      const room = uniq('Room');
      await createRoom(a!, room);
      await join(a!, room);
      await join(b!, room);
      await a!.c.waitFor(roomchangeOf(b!.id, room));
      await expectError(a!, 'nonsense\n', 'INVALID_JSON');
      await expectError(a!, '{"type":"join","roomid":false}\n', 'INVALID_FIELD');
      await expectError(a!, '{"type":"quit!"}\n', 'UNKNOWN_TYPE');
      assert.deepEqual(await b!.c.drain(QUIET_MS), []);
      assert.deepEqual((await who(a!, room)).identities, [a!.id, b!.id].sort());
    });

    test('replies come in the order of the requests, those the worker makes itself included', async (t) => {
      const s = scope(t, tcp);
      const a = await s.user();
      const [room, later] = [uniq('Room'), uniq('Room')];
      await createRoom(a, room);
      await join(a, room);
      // The room message goes through the sequencer (a cluster: its log), createroom and who to
      // the hub; the refusals and pong are the worker's own, and wait their turn behind them.
      a.c.send(
        [
          '{"type":"message","content":"first"}',
          'nonsense',
          `{"type":"createroom","roomid":"${later}"}`,
          '{"type":"join","roomid":false}',
          `{"type":"who","roomid":"${room}"}`,
          '{"type":"ping"}',
        ].join('\n') + '\n',
      );
      const replies: string[] = [];
      for (let i = 0; i < 6; i++) {
        const m = await a.c.next(10_000);
        replies.push(m.type === 'error' ? `error ${String(m.code)}` : m.type);
      }
      assert.deepEqual(replies, ['message', 'error INVALID_JSON', 'roomlist', 'error INVALID_FIELD', 'roomcontents', 'pong']);
    });

    test('extra fields are tolerated; empty lines are ignored', async (t) => {
      const s = scope(t, tcp);
      const a = await s.user();
      const room = uniq('Room');
      a.c.send(`{"type":"createroom","roomid":"${room}","id":7,"extra":{"x":[1]}}\n`);
      assert.equal(roomsOf(await reply(a)).get(room), 0);
      a.c.send(`{"type":"join","roomid":"${room}","ts":1}\n`);
      await reply(a, { type: 'roomchange', identity: a.id, former: MAIN, roomid: room });
      a.c.send('\n\n{"type":"message","content":"x","seq":1}\n\n');
      await nextIs(a.c, { type: 'message', identity: a.id, content: 'x' });
      assert.deepEqual(await a.c.drain(QUIET_MS), [], 'empty lines get no answer');
    });

    // -- framing --

    test('a line over the limit: LINE_TOO_LONG, then the server closes; other clients are unaffected', async (t) => {
      const s = scope(t, tcp);
      const [a, b] = await s.users(2);
      const room = uniq('Room');
      await createRoom(b!, room);
      await join(a!, room);
      await join(b!, room);
      await a!.c.waitFor(roomchangeOf(b!.id, room));
      await expectError(a!, 'x'.repeat(5000), 'LINE_TOO_LONG');
      await expectClosed(a!.c);
      await nextIs(b!.c, { type: 'roomchange', identity: a!.id, former: room, roomid: '' });
      b!.c.send({ type: 'message', content: 'still here' });
      await nextIs(b!.c, { type: 'message', identity: b!.id, content: 'still here' });
      await s.user();
    });

    test('the limit counts bytes: a line of exactly the limit is accepted, one byte more is not', async (t) => {
      const s = scope(t, tcp);
      const [a, b, c] = await s.users(3);
      const room = uniq('Room');
      await createRoom(a!, room);
      await join(a!, room);
      const line = (content: string) => JSON.stringify({ type: 'message', content });
      const fits = 'x'.repeat(MAX_LINE - line('').length);
      assert.equal(Buffer.byteLength(line(fits)), MAX_LINE);
      a!.c.send(line(fits) + '\n');
      await nextIs(a!.c, { type: 'message', identity: a!.id, content: fits });
      await expectError(b!, line(fits + 'x') + '\n', 'LINE_TOO_LONG');
      await expectClosed(b!.c);
      // Fewer characters than the limit, but more bytes (é is two bytes in UTF-8).
      const wide = 'é'.repeat(MAX_LINE / 2);
      assert.ok(line(wide).length < MAX_LINE && Buffer.byteLength(line(wide)) > MAX_LINE);
      await expectError(c!, line(wide) + '\n', 'LINE_TOO_LONG');
      await expectClosed(c!.c);
    });

    test('CRLF line endings are accepted', async (t) => {
      const s = scope(t, tcp);
      const a = await s.user();
      const room = uniq('Room');
      a.c.send(`{"type":"createroom","roomid":"${room}"}\r\n`);
      assert.equal(roomsOf(await reply(a)).get(room), 0);
      a.c.send(`{"type":"join","roomid":"${room}"}\r\n`);
      await reply(a, { type: 'roomchange', identity: a.id, former: MAIN, roomid: room });
      a.c.send('{"type":"message","content":"crlf"}\r\n');
      await nextIs(a.c, { type: 'message', identity: a.id, content: 'crlf' });
      // A lone CR ends no line (inside JSON it is whitespace).
      a.c.send('{"type":"who",\r"roomid":"MainHall"}\n');
      await nextIs(a.c, { type: 'roomcontents', roomid: MAIN });
    });

    test('a message split across several TCP writes, even inside a UTF-8 character', async (t) => {
      const s = scope(t, tcp);
      const a = await s.user();
      const room = uniq('Room');
      await writeApart(a.c, '{"type":"creat');
      await writeApart(a.c, `eroom","roomid":"${room}`);
      await writeApart(a.c, '"}');
      a.c.socket.write('\n');
      assert.equal(roomsOf(await reply(a)).get(room), 0);
      await join(a, room);
      const content = '日本語 ✓ é';
      const bytes = Buffer.from(JSON.stringify({ type: 'message', content }) + '\n');
      const cut = bytes.indexOf(Buffer.from('本')) + 1; // inside the three bytes of 本
      await writeApart(a.c, bytes.subarray(0, cut));
      await writeApart(a.c, bytes.subarray(cut, cut + 1));
      a.c.socket.write(bytes.subarray(cut + 1));
      await nextIs(a.c, { type: 'message', identity: a.id, content });
    });

    test('several messages in one write are answered in order', async (t) => {
      const s = scope(t, tcp);
      const a = await s.user();
      const room = uniq('Room');
      const batch = [
        { type: 'list' },
        { type: 'who', roomid: MAIN },
        { type: 'createroom', roomid: room },
        { type: 'join', roomid: room },
        { type: 'message', content: 'last' },
      ];
      a.c.send(batch.map((m) => JSON.stringify(m) + '\n').join(''));
      assert.ok(!roomsOf(await reply(a)).has(room));
      await reply(a, { type: 'roomcontents', roomid: MAIN });
      assert.equal(roomsOf(await reply(a)).get(room), 0);
      await reply(a, { type: 'roomchange', identity: a.id, former: MAIN, roomid: room });
      await nextIs(a.c, { type: 'message', identity: a.id, content: 'last' });
    });

    // -- listeners --

    test('the Unix-socket listener speaks the same protocol, with the TCP clients', async (t) => {
      const s = scope(t, tcp);
      const viaTcp = await s.user();
      const raw = await s.raw({ path: target.unixPath });
      const hello = await nextIs(raw, { type: 'newidentity', former: '' });
      const viaUnix: User = { c: raw, id: hello.identity as string };
      assert.match(viaUnix.id, GUEST);
      await nextIs(raw, { type: 'roomchange', identity: viaUnix.id, former: '', roomid: MAIN });
      roomsOf(await raw.next());
      await nextIs(raw, { type: 'roomcontents', roomid: MAIN, owner: '' });
      const room = uniq('Room');
      await createRoom(viaUnix, room);
      await join(viaUnix, room);
      await join(viaTcp, room);
      await viaUnix.c.waitFor(roomchangeOf(viaTcp.id, room));
      viaUnix.c.send({ type: 'message', content: 'over unix' });
      await nextIs(viaTcp.c, { type: 'message', identity: viaUnix.id, content: 'over unix' });
      viaTcp.c.send({ type: 'message', content: 'over tcp' });
      await nextIs(viaUnix.c, { type: 'message', identity: viaUnix.id, content: 'over unix' });
      await nextIs(viaUnix.c, { type: 'message', identity: viaTcp.id, content: 'over tcp' });
      await expectError(viaUnix, '{"type":"nope"}\n', 'UNKNOWN_TYPE');
    });

    // -- admission and shutdown (a server of their own) --

    // One server's only: --max-clients is counted by each node's own supervisor (a cluster's
    // limit is per node, as is this test's server of its own), and a cluster node's stop is a
    // node leaving the cluster, tested with the cluster's failures (cluster-faults.test.ts).
    const perNode = variant.cluster ? 'one server\'s admission and stop (a cluster node\'s are per node; its leaving is in cluster-faults.test.ts)' : false;
    describe('limits', { skip: perNode }, () => {
      let small: RunningServer;
      before(async () => {
        small = await startServer({ args: [...target.single!.args, '--max-clients', '2'] });
      });
      after(async () => {
        await small?.stop();
      });

      /** Connects until admitted: the supervisor learns of freed places from the workers. */
      async function admitted(s: ReturnType<typeof scope>): Promise<User> {
        let u: User | undefined;
        await eventually(async () => {
          const c = await s.raw();
          const first = await c.next().catch(() => undefined);
          if (first?.type !== 'newidentity') return false;
          await c.waitFor(typed('roomcontents'));
          u = { c, id: first.identity as string };
          return true;
        }, 'a client is admitted');
        return u!;
      }

      test('over --max-clients: closed without a line (the client said nothing yet); a freed place is reused', async (t) => {
        const s = scope(t, () => small.port);
        const [a] = [await admitted(s), await admitted(s)];
        const refused = await s.raw();
        await expectClosed(refused);
        assert.deepEqual([refused.received, refused.rawLines], [[], []], 'no line before the close');
        await small.waitForLog((l) => l.code === 'TOO_MANY_USERS' || l.msg === 'refused a client: too many users');
        await a!.c.close();
        await admitted(s);
      });

      test('server stop: connected clients get error SHUTTING_DOWN, then the server closes', async (t) => {
        const s = scope(t, () => small.port);
        const a = await admitted(s);
        await small.stop();
        await expectError(a, Buffer.alloc(0), 'SHUTTING_DOWN');
        await expectClosed(a.c);
      });
    });
  });
}
