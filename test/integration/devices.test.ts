import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test, type TestContext } from 'node:test';
import type { ConnectOptions, TestClient, Msg } from '../helpers/client';
import { hashPassword } from '../../src/auth/password';
import { createStore } from '../../src/store/factory';
import { PASSWORD, expectFields, login, ok, refused, register, welcomed, type Account, type Conn } from '../helpers/requests';
import { startServer, type RunningServer } from '../helpers/server';
import { sleep, until, within } from '../helpers/wait';
import { runTag, uniqueNames } from '../helpers/unique-names';

/**
 * Several devices per account, contacts, search and live presence (docs/PROTOCOL.md, "Devices,
 * contacts and presence") against the real server (pool of 2 workers, so an account's devices
 * are on different worker processes): DMs reach every device and the sender's other devices,
 * an ack from one device clears the inbox for all, the name shows once in a room, the sixth
 * device replaces the oldest, contacts and search with their limits, presence pushes on login,
 * logout, away, dnd and status to a contact, and none to a blocked one.
 */

const RUN = runTag(3);
const uniq = uniqueNames(RUN);
/** Long enough for the server to have sent anything it was going to send. */
const QUIET_MS = 400;

let server: RunningServer;
before(async () => {
  server = await startServer({ args: ['--workers', '2', '--max-contacts', '3', '--search-rate-limit', '1', '--account-rate-limit', '5000'] });
});
after(async () => {
  await server?.stop();
});

function scope(t: TestContext, on: RunningServer = server) {
  const open: TestClient[] = [];
  t.after(async () => {
    await Promise.all(open.map((c) => within(c.close(), 2000)));
  });
  const guest = async (opts: ConnectOptions = {}): Promise<Conn> => {
    const conn = await welcomed(on.port, 5000, opts);
    open.push(conn.c);
    return conn;
  };
  const device = async (username: string): Promise<Account> => {
    const conn = await guest();
    const token = await login(conn, username);
    // Every login brings the contact list right after `loggedin`.
    await conn.c.waitFor((m) => m.type === 'contacts');
    return { ...conn, username, token };
  };
  const newAccount = async (prefix: string): Promise<string> => {
    const conn = await guest();
    const username = uniq(prefix);
    await register(conn.c, username);
    await conn.c.close();
    return username;
  };
  return { guest, device, newAccount };
}

/** Waits until `c` has received, at or after index `from`, a message matching `pred`. */
function seen(c: TestClient, from: number, pred: (m: Msg) => boolean, what: string, timeoutMs = 5000): Promise<Msg> {
  return until(what, () => c.received.slice(from).find(pred), timeoutMs);
}

/**
 * The members of `room` as a seed-004 client keeps them: the first `roomcontents` of it at or
 * after index `from`, then each later `roomchange` and `newidentity` applied, a name added as
 * often as it is said to arrive (so a doubled arrival shows twice).
 */
function seedMembers(c: TestClient, room: string, from: number): string[] {
  const lines = c.received.slice(from);
  const start = lines.findIndex((m) => m.type === 'roomcontents' && m.roomid === room);
  assert.ok(start >= 0, 'the roomcontents to start from');
  const list = [...(lines[start]!.identities as string[])];
  for (const m of lines.slice(start + 1)) {
    if (m.type === 'roomchange' && m.former !== m.roomid) {
      if (m.former === room && list.includes(m.identity as string)) list.splice(list.indexOf(m.identity as string), 1);
      if (m.roomid === room) list.push(m.identity as string);
    } else if (m.type === 'newidentity' && list.includes(m.former as string)) {
      list.splice(list.indexOf(m.former as string), 1, m.identity as string);
    }
  }
  return list.sort();
}

const presenceOf = (username: string) => (m: Msg) => m.type === 'presencechange' && m.username === username;

describe('devices', { timeout: 120_000 }, () => {
  test('a DM reaches every device of the recipient and the sender\'s other devices', { timeout: 30_000 }, async (t) => {
    const sc = scope(t);
    const alice = await sc.newAccount('al');
    const bob = await sc.newAccount('bo');
    const b1 = await sc.device(bob);
    const b2 = await sc.device(bob);
    const a1 = await sc.device(alice);
    const a2 = await sc.device(alice);
    const mark = [b1, b2, a2].map((d) => d.c.received.length);
    const echo = await ok(a1.c, { type: 'dm', to: bob, content: 'to both' }, 'dm', (m) => m.content === 'to both');
    for (const [i, d] of [b1, b2, a2].entries()) {
      const got = await seen(d.c, mark[i]!, (m) => m.type === 'dm' && m.content === 'to both', `device ${i} gets the DM`);
      expectFields(got, { from: alice, to: bob, id: echo.id });
    }
    await sleep(QUIET_MS);
    for (const d of [b1, b2, a1, a2]) assert.equal(d.c.received.filter((m) => m.type === 'dm' && m.content === 'to both').length, 1, 'each device gets it once');
    // A DM to an offline account still shows on the sender's other device (conversations stay in step).
    const carol = await sc.newAccount('ca');
    const before2 = a2.c.received.length;
    await ok(a1.c, { type: 'dm', to: carol, content: 'offline one' }, 'dm', (m) => m.content === 'offline one');
    await seen(a2.c, before2, (m) => m.type === 'dm' && m.content === 'offline one', 'the other device sees the sent DM');
    // dmhistory syncs a device that was away.
    const late = await sc.device(bob);
    const h = await ok(late.c, { type: 'dmhistory', with: alice }, 'dmhistory');
    assert.deepEqual((h.messages as Msg[]).map((m) => m.content), ['to both']);
  });

  test('an ack from one device clears the inbox for all', { timeout: 30_000 }, async (t) => {
    const sc = scope(t);
    const sender = await sc.device(await sc.newAccount('sd'));
    const reader = await sc.newAccount('rd');
    for (const content of ['one', 'two', 'three']) await ok(sender.c, { type: 'dm', to: reader, content }, 'dm', (m) => m.content === content);
    const r1 = await sc.device(reader);
    const r2 = await sc.device(reader);
    // Both devices are sent the inbox.
    for (const d of [r1, r2]) await until('the inbox', () => d.c.received.filter((m) => m.type === 'dm' && typeof m.inbox === 'number').length === 3 || undefined);
    const last = r1.c.received.filter((m) => m.type === 'dm' && typeof m.inbox === 'number').at(-1)!;
    r1.c.send({ type: 'ack', inbox: last.inbox });
    const profile = await ok(r1.c, { type: 'status', text: 'read' }, 'profile');
    expectFields(profile, { inbox: 0 });
    const p2 = await ok(r2.c, { type: 'status', text: 'read too' }, 'profile');
    expectFields(p2, { inbox: 0 }, 'the other device sees the inbox empty: ');
    // A device logging in later gets no inbox.
    const r3 = await sc.device(reader);
    await sleep(QUIET_MS);
    assert.deepEqual(r3.c.received.filter((m) => m.type === 'dm'), []);
  });

  test('the account\'s name shows once in roomcontents; room messages reach each device once', { timeout: 30_000 }, async (t) => {
    const sc = scope(t);
    const name = await sc.newAccount('rc');
    const d1 = await sc.device(name);
    const d2 = await sc.device(name);
    const room = uniq('r');
    await ok(d1.c, { type: 'createroom', roomid: room }, 'roomlist');
    for (const d of [d1, d2]) await ok(d.c, { type: 'join', roomid: room }, 'roomchange', (m) => m.roomid === room);
    const other = await sc.guest();
    await ok(other.c, { type: 'join', roomid: room }, 'roomchange', (m) => m.roomid === room && m.identity === other.id);
    const who = await ok(other.c, { type: 'who', roomid: room }, 'roomcontents', (m) => m.roomid === room);
    assert.deepEqual([...(who.identities as string[])].sort(), [name, other.id].sort());
    other.c.send({ type: 'message', content: 'hello devices' });
    await sleep(QUIET_MS);
    for (const d of [d1, d2]) assert.equal(d.c.received.filter((m) => m.type === 'message' && m.content === 'hello devices').length, 1);
    // One device leaving the room leaves the name there for the other.
    await ok(d1.c, { type: 'join', roomid: 'MainHall' }, 'roomcontents');
    const again = await ok(other.c, { type: 'who', roomid: room }, 'roomcontents', (m) => m.roomid === room);
    assert.ok((again.identities as string[]).includes(name));
  });

  test('a room sees an account\'s roomchange only when its name enters or leaves; a seed-004 member list stays right', { timeout: 40_000 }, async (t) => {
    const sc = scope(t);
    const name = await sc.newAccount('mv');
    const d1 = await sc.device(name);
    const d2 = await sc.device(name);
    const room = uniq('r');
    // Two observers in the room: an extended client and a core one (no hello, as seed 004).
    const raw = await sc.guest();
    const core = await sc.guest({ core: true });
    await ok(raw.c, { type: 'createroom', roomid: room }, 'roomlist');
    for (const o of [raw, core]) await ok(o.c, { type: 'join', roomid: room }, 'roomchange', (m) => m.identity === o.id && m.roomid === room);
    const base = [raw, core].map((o) => o.c.received.length);
    for (const o of [raw, core]) await ok(o.c, { type: 'who', roomid: room }, 'roomcontents', (m) => m.roomid === room);
    /**
     * After `step`: each observer's `who` (answered after every line the step caused it, the
     * server applying requests one at a time) matches the list kept from the lines, and it
     * was told `moves` roomchange lines of the account in all.
     */
    const check = async (step: string, moves: number): Promise<void> => {
      for (const [i, o] of [raw, core].entries()) {
        const who = await ok(o.c, { type: 'who', roomid: room }, 'roomcontents', (m) => m.roomid === room);
        assert.deepEqual(seedMembers(o.c, room, base[i]!), [...(who.identities as string[])].sort(), `${step}: the member list of ${i === 0 ? 'the extended' : 'the core'} observer`);
        const told = o.c.received.slice(base[i]!).filter((m) => m.type === 'roomchange' && m.identity === name);
        assert.equal(told.length, moves, `${step}: roomchange lines of ${name}: ${JSON.stringify(told)}`);
      }
    };
    await ok(d1.c, { type: 'join', roomid: room }, 'roomchange', (m) => m.roomid === room);
    await check('the first device joins', 1);
    const own = await ok(d2.c, { type: 'join', roomid: room }, 'roomchange', (m) => m.roomid === room);
    expectFields(own, { identity: name, former: 'MainHall' }, 'the second device is told its own move: ');
    await check('the second device joins', 1);
    // A guest in the room logs in as the account: the guest's name leaves, the account's stays.
    const g = await sc.guest();
    await ok(g.c, { type: 'join', roomid: room }, 'roomchange', (m) => m.identity === g.id && m.roomid === room);
    await login(g, name);
    await check('a third device logs in there', 1);
    await ok(d1.c, { type: 'join', roomid: 'MainHall' }, 'roomcontents');
    await check('one device leaves', 1);
    await ok(g.c, { type: 'logout' }, 'loggedout');
    await check('one device logs out there', 1);
    assert.equal(d1.c.received.filter((m) => m.type === 'roomchange' && m.identity === name && m.roomid === room).length, 1, 'a device is not told its sibling\'s moves');
    await d2.c.close();
    await until('the last device is gone', () => core.c.received.slice(base[1]).find((m) => m.type === 'roomchange' && m.identity === name && m.roomid === ''));
    await check('the last device leaves', 2);
  });

  test('the sixth device replaces the oldest, told SESSION_REPLACED; logout ends only that device', { timeout: 40_000 }, async (t) => {
    const sc = scope(t);
    const name = await sc.newAccount('six');
    const devices: Account[] = [];
    for (let i = 0; i < 5; i++) devices.push(await sc.device(name));
    await sleep(QUIET_MS);
    for (const d of devices) assert.ok(d.c.isOpen, 'five devices stay');
    const sixth = await sc.device(name);
    const err = await devices[0]!.c.waitFor((m) => m.type === 'error');
    expectFields(err, { code: 'SESSION_REPLACED' });
    assert.match(err.message as string, /newer device/);
    assert.ok(await within(devices[0]!.c.closed, 5000), 'the oldest is closed');
    for (const d of [...devices.slice(1), sixth]) assert.ok(d.c.isOpen);
    // Logout: that device is a guest again; the others stay logged in.
    const out = await ok(sixth.c, { type: 'logout' }, 'loggedout');
    assert.notEqual(out.identity, name);
    const p = await ok(devices[1]!.c, { type: 'presence', users: [name] }, 'presence');
    expectFields((p.users as Msg[])[0]!, { online: true });
    const who = await ok(devices[1]!.c, { type: 'who', roomid: 'MainHall' }, 'roomcontents');
    assert.equal((who.identities as string[]).filter((n) => n === name).length, 1);
  });

  test('contacts add, list, remove and their refusals; the list comes at login', { timeout: 30_000 }, async (t) => {
    const sc = scope(t);
    const me = await sc.newAccount('me');
    const [x, y, z, w] = [await sc.newAccount('cx'), await sc.newAccount('cy'), await sc.newAccount('cz'), await sc.newAccount('cw')];
    const d = await sc.device(me);
    const first = d.c.received.find((m) => m.type === 'contacts')!;
    assert.deepEqual(first.contacts, [], 'an empty list at login');
    const added = await ok(d.c, { type: 'contacts', action: 'add', username: x.toUpperCase() }, 'contacts');
    assert.deepEqual(added.contacts, [{ username: x, online: false, state: 'offline', status: '', dnd: false }]);
    await ok(d.c, { type: 'contacts', action: 'add', username: y }, 'contacts');
    await ok(d.c, { type: 'contacts', action: 'add', username: y }, 'contacts');
    const three = await ok(d.c, { type: 'contacts', action: 'add', username: z }, 'contacts');
    assert.deepEqual((three.contacts as Msg[]).map((c) => c.username), [x, y, z].sort());
    await refused(d.c, { type: 'contacts', action: 'add', username: w }, 'TOO_MANY_CONTACTS', ['contacts']);
    await refused(d.c, { type: 'contacts', action: 'add', username: uniq('nobody') }, 'NO_SUCH_USER', ['contacts']);
    await refused(d.c, { type: 'contacts', action: 'add', username: me }, 'NOT_ALLOWED', ['contacts']);
    await refused(d.c, { type: 'contacts', action: 'add' }, 'INVALID_FIELD', ['contacts']);
    await refused(d.c, { type: 'contacts', action: 'drop', username: x }, 'INVALID_FIELD', ['contacts']);
    const removed = await ok(d.c, { type: 'contacts', action: 'remove', username: y }, 'contacts');
    assert.deepEqual((removed.contacts as Msg[]).map((c) => c.username), [x, z].sort());
    await refused(d.c, { type: 'contacts', action: 'remove', username: y }, 'NO_SUCH_USER', ['contacts']);
    const listed = await ok(d.c, { type: 'contacts', action: 'list' }, 'contacts');
    assert.deepEqual(listed.contacts, removed.contacts);
    // A guest has no contacts.
    const g = await sc.guest();
    await refused(g.c, { type: 'contacts', action: 'list' }, 'NOT_LOGGED_IN', ['contacts']);
    // Another device of the account sees the list at its login, with x online now.
    await sc.device(x);
    const d2 = await sc.guest();
    d2.c.send({ type: 'login', username: me, password: 'correct horse' });
    const atLogin = await d2.c.waitFor((m) => m.type === 'contacts');
    expectFields((atLogin.contacts as Msg[]).find((c) => c.username === x)!, { online: true, state: 'online' });
  });

  test('presence pushes: login, away, dnd, status, logout of the last device; none to a blocked contact', { timeout: 40_000 }, async (t) => {
    const sc = scope(t);
    const star = await sc.newAccount('st');
    const fan = await sc.device(await sc.newAccount('fa'));
    const foe = await sc.device(await sc.newAccount('fo'));
    await ok(fan.c, { type: 'contacts', action: 'add', username: star }, 'contacts');
    await ok(foe.c, { type: 'contacts', action: 'add', username: star }, 'contacts');
    // A second device of the fan gets the pushes too.
    const fan2 = await sc.device(fan.username);
    const s1 = await sc.device(star);
    await ok(s1.c, { type: 'block', user: foe.username }, 'blocklist');
    let mark = fan.c.received.length;
    let mark2 = fan2.c.received.length;
    const foeMark = foe.c.received.length;
    const step = async (what: string, expected: Record<string, unknown>, act: () => Promise<unknown>): Promise<void> => {
      await act();
      const m = await seen(fan.c, mark, (x) => presenceOf(star)(x) && Object.entries(expected).every(([k, v]) => x[k] === v), what);
      expectFields(m, { username: star, ...expected });
      await seen(fan2.c, mark2, (x) => presenceOf(star)(x) && Object.entries(expected).every(([k, v]) => x[k] === v), `${what} (second device)`);
      mark = fan.c.received.indexOf(m) + 1;
      mark2 = fan2.c.received.length;
    };
    // s1 logged in before the block: its login push may have reached foe; from here on nothing does.
    await sleep(QUIET_MS);
    const foeFrom = foe.c.received.length;
    await step('away', { online: true, state: 'away' }, async () => s1.c.send({ type: 'away', on: true }));
    await step('back', { online: true, state: 'online' }, async () => s1.c.send({ type: 'away', on: false }));
    await step('dnd', { state: 'dnd', dnd: true }, () => ok(s1.c, { type: 'dnd', on: true }, 'profile'));
    await step('dnd off', { state: 'online', dnd: false }, () => ok(s1.c, { type: 'dnd', on: false }, 'profile'));
    await step('status', { status: 'on stage' }, () => ok(s1.c, { type: 'status', text: 'on stage' }, 'profile'));
    // A second device of the star: still online, then the first leaves: still online.
    const s2 = await sc.device(star);
    await s1.c.close();
    await sleep(QUIET_MS);
    assert.equal(fan.c.received.slice(mark).filter((x) => presenceOf(star)(x) && x.online === false).length, 0, 'not offline while a device is on');
    await step('offline with the last device', { online: false, state: 'offline' }, () => ok(s2.c, { type: 'logout' }, 'loggedout'));
    await step('online again', { online: true, state: 'online' }, () => sc.device(star));
    await sleep(QUIET_MS);
    assert.deepEqual(foe.c.received.slice(foeFrom).filter(presenceOf(star)), [], 'a blocked account gets no pushes');
    assert.ok(foeMark <= foeFrom);
    // The blocked account's contact list shows the star offline, with no status.
    const list = await ok(foe.c, { type: 'contacts', action: 'list' }, 'contacts');
    assert.deepEqual(list.contacts, [{ username: star, online: false, state: 'offline', status: '', dnd: false }]);
    // Blocks go both ways: the fan blocks the star and hears no more.
    await ok(fan.c, { type: 'block', user: star }, 'blocklist');
    await sleep(QUIET_MS);
    const fanFrom = fan.c.received.length;
    const s3 = await sc.device(star);
    await ok(s3.c, { type: 'status', text: 'unseen' }, 'profile');
    await sleep(QUIET_MS);
    assert.deepEqual(fan.c.received.slice(fanFrom).filter(presenceOf(star)), [], 'an account that blocked the user gets no pushes');
  });

  test('presence replies hide a block either way: offline with no status until unblocked; the pair is pushed that view', { timeout: 40_000 }, async (t) => {
    const sc = scope(t);
    const a = await sc.device(await sc.newAccount('pa'));
    const b = await sc.device(await sc.newAccount('pb'));
    for (const [who, other] of [[a, b], [b, a]] as const) await ok(who.c, { type: 'contacts', action: 'add', username: other.username }, 'contacts');
    await ok(a.c, { type: 'status', text: 'a line' }, 'profile');
    await ok(a.c, { type: 'dnd', on: true }, 'profile');
    await ok(b.c, { type: 'status', text: 'b line' }, 'profile');
    b.c.send({ type: 'away', on: true });
    const ask = async (c: TestClient, name: string): Promise<Msg> => ((await ok(c, { type: 'presence', users: [name] }, 'presence')).users as Msg[])[0]!;
    const truthA = { username: a.username, online: true, state: 'dnd', status: 'a line', dnd: true };
    const truthB = { username: b.username, online: true, state: 'away', status: 'b line', dnd: false };
    const offline = (username: string) => ({ username, online: false, state: 'offline', status: '', dnd: false });
    const pushed = (c: TestClient, from: number, expected: Record<string, unknown>, what: string) =>
      seen(c, from, (m) => presenceOf(expected.username as string)(m) && Object.entries(expected).every(([k, v]) => m[k] === v), what);
    await pushed(a.c, 0, truthB, 'b away');
    assert.deepEqual(await ask(b.c, a.username), truthA, 'before the block: the truth');
    assert.deepEqual(await ask(a.c, b.username), truthB);

    let aMark = a.c.received.length;
    let bMark = b.c.received.length;
    await ok(a.c, { type: 'block', user: b.username }, 'blocklist');
    assert.deepEqual(await ask(b.c, a.username), offline(a.username), 'the blocked user sees the blocker as an offline user');
    assert.deepEqual(await ask(a.c, b.username), offline(b.username), 'the blocker sees the blocked user likewise');
    const both = await ok(b.c, { type: 'presence', users: [a.username, b.username] }, 'presence');
    assert.deepEqual(both.users, [offline(a.username), truthB], 'only the pair is hidden');
    // Contacts of each other: their live view turns to the same.
    await pushed(b.c, bMark, offline(a.username), 'the blocker offline, pushed to the blocked');
    await pushed(a.c, aMark, offline(b.username), 'the blocked offline, pushed to the blocker');
    // Anyone else still sees the truth.
    const g = await sc.guest();
    assert.deepEqual(await ask(g.c, a.username), truthA);
    // A guest's identity blocked by the account: the guest sees it offline too.
    await ok(a.c, { type: 'block', user: g.id }, 'blocklist');
    assert.deepEqual(await ask(g.c, a.username), offline(a.username), 'a blocked guest sees the blocker offline');

    aMark = a.c.received.length;
    bMark = b.c.received.length;
    await ok(a.c, { type: 'unblock', user: b.username }, 'blocklist');
    assert.deepEqual(await ask(b.c, a.username), truthA, 'after the unblock: the truth again');
    assert.deepEqual(await ask(a.c, b.username), truthB);
    await pushed(b.c, bMark, truthA, 'the truth pushed to the formerly blocked');
    await pushed(a.c, aMark, truthB, 'the truth pushed to the former blocker');
  });
});

describe('search', { timeout: 90_000 }, () => {
  test('search by prefix, in any case, at most 20, rate-limited per account', { timeout: 60_000 }, async (t) => {
    // 22 accounts written to the store before the server starts (registering them one by one
    // costs a password hash each, seconds on a loaded machine).
    const stem = `Srch${RUN}`;
    const names = Array.from({ length: 22 }, (_, i) => `${stem}${i.toString(36).padStart(2, '0')}`);
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sb-search-'));
    t.after(() => fs.rmSync(dataDir, { recursive: true, force: true }));
    const store = createStore('sqlite', dataDir);
    await store.migrate();
    const passwordHash = await hashPassword(PASSWORD);
    for (const username of names) assert.ok(await store.createAccount({ username, passwordHash, createdAt: Date.now(), status: '', dnd: false }));
    await store.close();
    const own = await startServer({ dataDir, args: ['--workers', '1', '--search-rate-limit', '1'] });
    t.after(() => own.stop());
    const sc = scope(t, own);
    const d = await sc.device(names[0]!);
    const r = await ok(d.c, { type: 'search', prefix: stem.toLowerCase() }, 'search');
    expectFields(r, { prefix: stem.toLowerCase() });
    assert.deepEqual(r.users, names.slice(0, 20));
    const one = await ok(d.c, { type: 'search', prefix: `${stem}0A`.toUpperCase() }, 'search');
    assert.deepEqual(one.users, [names[10]]);
    const none = await ok(d.c, { type: 'search', prefix: 'a b' }, 'search');
    assert.deepEqual(none.users, []);
    await refused(d.c, { type: 'search', prefix: '' }, 'INVALID_FIELD', ['search']);
    // --search-rate-limit 1: a burst of 5, then refused.
    const from = d.c.received.length;
    for (let i = 0; i < 10; i++) d.c.send({ type: 'search', prefix: stem });
    await until('ten answers', () => d.c.received.length - from >= 10 || undefined);
    const answers = d.c.received.slice(from, from + 10);
    const limited = answers.find((m) => m.type === 'error' && m.code === 'RATE_LIMITED');
    assert.ok(answers.some((m) => m.type === 'search'), 'what the budget allows is served');
    assert.ok(limited, 'searches over the rate are refused with RATE_LIMITED');
    const g = await sc.guest();
    await refused(g.c, { type: 'search', prefix: stem }, 'NOT_LOGGED_IN', ['search']);
  });

});
