import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test, type TestContext } from 'node:test';
import { hubPid } from '../helpers/chaos';
import * as proc from '../helpers/procfs';
import type { Msg, TestClient } from '../helpers/client';
import { expectFields, login, ok, refused, register, say, welcomed, type Conn } from '../helpers/requests';
import { startServer, type RunningServer } from '../helpers/server';
import { StoreFaults } from '../helpers/store-faults';
import { sleep, within } from '../helpers/wait';

/*
 * Every path by which the hub meets a failing store, through the real server: a preload
 * (test/helpers/store-faults-preload.ts) makes chosen Store methods of the real SQLite store
 * reject in the hub process as a failing disk would. Each case proves: nothing is delivered
 * that was not stored, the requester gets STORE_FAILED, room seqs keep "+1, no gaps", the
 * next request works on the same connection, and the hub process never restarts.
 */

let server: RunningServer;
let faults: StoreFaults;
let dir: string;
let n = 0;
const uniq = (prefix: string): string => `${prefix}${process.pid % 10000}x${++n}`;

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sb-faults-'));
  faults = new StoreFaults(dir);
  server = await startServer({ env: faults.env() });
});

after(async () => {
  await server.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Clients of one test, closed when it ends; failures switched off at the end. */
function scope(t: TestContext) {
  const open: TestClient[] = [];
  t.after(async () => {
    faults.clear();
    await Promise.all(open.map((c) => within(c.close(), 2000)));
  });
  const guest = async (): Promise<Conn> => {
    const conn = await welcomed(server.port);
    open.push(conn.c);
    return conn;
  };
  const account = async (prefix = 'f'): Promise<Conn & { username: string }> => {
    const conn = await guest();
    const username = uniq(prefix);
    await register(conn.c, username);
    await login(conn, username);
    return { ...conn, username };
  };
  return { guest, account };
}

const hubStarts = (): number => server.logs.filter((l) => l.role === 'hub' && l.msg === 'hub listening').length;

/** The hub that served the test is the one that started with the server, and still answers. */
async function stillServing(conn: Conn): Promise<void> {
  assert.equal(hubStarts(), 1, 'the hub never restarted');
  assert.ok(!server.logs.some((l) => l.msg === 'hub died; restarting it'));
  assert.ok(proc.isAlive(hubPid(server)), 'the hub is alive');
  await ok(conn.c, { type: 'ping' }, 'pong');
}

async function createAndJoin(conns: Conn[], roomid: string): Promise<void> {
  const m = await ok(conns[0]!.c, { type: 'createroom', roomid }, 'roomlist');
  assert.ok((m.rooms as Array<{ roomid: string }>).some((r) => r.roomid === roomid));
  for (const conn of conns) await ok(conn.c, { type: 'join', roomid }, 'roomchange', (x) => x.identity === conn.id && x.roomid === roomid);
}

const contents = (c: TestClient, roomid: string): unknown[] => c.received.filter((m) => m.type === 'message' && m.roomid === roomid).map((m) => m.content);

describe('store failures', { timeout: 60_000 }, () => {
  test('a room batch that cannot be stored reaches nobody, its sender is told, and the next one takes the next seq', async (t) => {
    const sc = scope(t);
    const al = await sc.account('a');
    const bo = await sc.guest();
    const room = uniq('R');
    await createAndJoin([al, bo], room);
    const first = await say(al, 'one');

    faults.fail('appendRoomMessages');
    const earlier = new Set(al.c.received);
    al.c.send({ type: 'message', content: 'lost 1' });
    al.c.send({ type: 'message', content: 'lost 2' });
    // A request the hub answers behind both batches: once it is answered, both have been tried.
    al.c.send({ type: 'who', roomid: room });
    await al.c.waitFor((m) => !earlier.has(m) && m.type === 'roomcontents');
    const told = await al.c.waitFor((m) => !earlier.has(m) && m.type === 'error');
    expectFields(told, { type: 'error', code: 'STORE_FAILED' });

    faults.clear();
    const next = await say(al, 'two');
    await bo.c.waitFor((m) => m.type === 'message' && m.content === 'two');
    // 'lost 1' and 'lost 2' may have been one batch or two: either way their seqs were not used.
    expectFields(next, { seq: (first.seq as number) + 1, epoch: first.epoch });
    assert.deepEqual(contents(bo.c, room), ['one', 'two'], 'the other member got nothing unstored');
    assert.deepEqual(contents(al.c, room), ['one', 'two'], 'nor did the sender');
    const history = await ok(al.c, { type: 'history', roomid: room }, 'history');
    assert.deepEqual((history.messages as Msg[]).map((m) => [m.seq, m.content]), [[1, 'one'], [2, 'two']]);
    await stillServing(al);
  });

  test('a new room whose epoch cannot be stored takes no message until it can; then it starts at seq 1', async (t) => {
    const sc = scope(t);
    const gu = await sc.guest();
    const room = uniq('E');
    faults.fail('setRoomEpoch');
    await createAndJoin([gu], room);
    await refused(gu.c, { type: 'message', content: 'too early' }, 'STORE_FAILED', ['message']);
    await refused(gu.c, { type: 'history', roomid: room }, 'STORE_FAILED', ['history']);
    faults.clear();
    expectFields(await say(gu, 'now'), { seq: 1 });
    await stillServing(gu);
  });

  test('reads fail with STORE_FAILED and the connection stays: history, resume, dmhistory, presence, blocklist', async (t) => {
    const sc = scope(t);
    const al = await sc.account('r');
    const room = uniq('H');
    await createAndJoin([al], room);
    await say(al, 'kept');
    faults.fail('roomHistory', 'roomSince', 'directHistory', 'getAccount', 'blockedBy');
    await refused(al.c, { type: 'history', roomid: room }, 'STORE_FAILED', ['history']);
    await refused(al.c, { type: 'resume', roomid: room, since: 0 }, 'STORE_FAILED', ['resumed', 'message']);
    await refused(al.c, { type: 'dmhistory', with: al.username }, 'STORE_FAILED', ['dmhistory']);
    await refused(al.c, { type: 'presence', users: [al.username] }, 'STORE_FAILED', ['presence']);
    await refused(al.c, { type: 'blocklist' }, 'STORE_FAILED', ['blocklist']);
    faults.clear();
    expectFields(await ok(al.c, { type: 'blocklist' }, 'blocklist'), { users: [] });
    const history = await ok(al.c, { type: 'history', roomid: room }, 'history');
    assert.deepEqual((history.messages as Msg[]).map((m) => m.content), ['kept']);
    await stillServing(al);
  });

  test('register and login fail with STORE_FAILED and change nothing', async (t) => {
    const sc = scope(t);
    const gu = await sc.guest();
    const name = uniq('g');
    faults.fail('createAccount');
    await refused(gu.c, { type: 'register', username: name, password: 'correct horse' }, 'STORE_FAILED', ['registered']);
    faults.clear();
    await register(gu.c, name);
    faults.fail('getAccount');
    await refused(gu.c, { type: 'login', username: name, password: 'correct horse' }, 'STORE_FAILED', ['loggedin']);
    faults.fail('addToken');
    await refused(gu.c, { type: 'login', username: name, password: 'correct horse' }, 'STORE_FAILED', ['loggedin']);
    faults.fail('findToken');
    await refused(gu.c, { type: 'login', token: 'whatever-token-of-enough-length' }, 'STORE_FAILED', ['loggedin']);
    assert.ok(!gu.c.received.some((m) => m.type === 'newidentity' && m.identity === name), 'still a guest');
    faults.clear();
    await login(gu, name);
    await stillServing(gu);
  });

  test('a DM that cannot be stored reaches nobody; an inbox that cannot be read stays for the next login', async (t) => {
    const sc = scope(t);
    const al = await sc.account('d');
    const bo = await sc.account('d');
    faults.fail('appendDirectMessage');
    await refused(al.c, { type: 'dm', to: bo.username, content: 'lost' }, 'STORE_FAILED', ['dm']);
    faults.clear();
    await ok(al.c, { type: 'dm', to: bo.username, content: 'stored' }, 'dm');
    await bo.c.waitFor((m) => m.type === 'dm' && m.content === 'stored');
    assert.ok(!bo.c.received.some((m) => m.type === 'dm' && m.content === 'lost'));

    // bob goes offline; a DM waits in his inbox; his next login cannot read it.
    await bo.c.close();
    for (let tries = 0; ; tries++) {
      const p = await ok(al.c, { type: 'presence', users: [bo.username] }, 'presence');
      if ((p.users as Msg[])[0]!.online === false) break;
      assert.ok(tries < 100, 'bob goes offline');
      await sleep(50);
    }
    await ok(al.c, { type: 'dm', to: bo.username, content: 'waiting' }, 'dm');
    faults.fail('pendingInbox');
    const bo2 = await sc.guest();
    await login(bo2, bo.username);
    await bo2.c.waitFor((m) => m.type === 'error' && m.code === 'STORE_FAILED');
    faults.clear();
    await bo2.c.close();
    const bo3 = await sc.guest();
    await login(bo3, bo.username);
    const waiting = await bo3.c.waitFor((m) => m.type === 'dm' && m.content === 'waiting');
    faults.fail('ackInbox');
    await refused(bo3.c, { type: 'ack', inbox: waiting.inbox }, 'STORE_FAILED');
    await stillServing(bo3);
  });

  test('account settings, blocks, logout and recall fail with STORE_FAILED and change nothing', async (t) => {
    const sc = scope(t);
    const al = await sc.account('s');
    const room = uniq('S');
    await createAndJoin([al], room);
    const said = await say(al, 'to recall');
    // Blocking names an account that exists (NO_SUCH_USER otherwise); one is blocked already, so
    // that unblocking it reaches the store.
    const mallory = (await sc.account('ml')).username;
    const eve = (await sc.account('ev')).username;
    await ok(al.c, { type: 'block', user: eve }, 'blocklist');
    faults.fail('block', 'unblock', 'setDnd', 'setStatus', 'getRoomMessage', 'revokeToken');
    await refused(al.c, { type: 'block', user: mallory }, 'STORE_FAILED', ['blocklist']);
    await refused(al.c, { type: 'unblock', user: eve }, 'STORE_FAILED', ['blocklist']);
    await refused(al.c, { type: 'dnd', on: true }, 'STORE_FAILED', ['profile']);
    await refused(al.c, { type: 'status', text: 'away' }, 'STORE_FAILED', ['profile']);
    await refused(al.c, { type: 'recall', id: said.id }, 'STORE_FAILED', ['recalled']);
    await refused(al.c, { type: 'logout' }, 'STORE_FAILED', ['loggedout']);
    faults.fail('recallRoomMessage');
    await refused(al.c, { type: 'recall', id: said.id }, 'STORE_FAILED', ['recalled']);
    faults.clear();
    const history = await ok(al.c, { type: 'history', roomid: room }, 'history');
    assert.deepEqual((history.messages as Msg[]).map((m) => [m.content, m.recalled]), [['to recall', undefined]], 'not recalled');
    expectFields(await ok(al.c, { type: 'block', user: mallory }, 'blocklist'), { users: [eve, mallory].sort() });
    await stillServing(al);
  });

  test('a room change that cannot be stored is in force and its requester is told (createroom, private, delete)', async (t) => {
    const sc = scope(t);
    const al = await sc.account('m');
    const room = uniq('M');
    faults.fail('saveRoom');
    const earlier = new Set(al.c.received);
    await ok(al.c, { type: 'createroom', roomid: room }, 'roomlist');
    expectFields(await al.c.waitFor((m) => !earlier.has(m) && m.type === 'error'), { code: 'STORE_FAILED' });
    faults.clear();
    const saved = uniq('M');
    await ok(al.c, { type: 'createroom', roomid: saved }, 'roomlist');
    faults.fail('saveRoomRules', 'deleteRoom');
    const before2 = new Set(al.c.received);
    await ok(al.c, { type: 'private', roomid: saved, on: true }, 'private');
    expectFields(await al.c.waitFor((m) => !before2.has(m) && m.type === 'error'), { code: 'STORE_FAILED' });
    const before3 = new Set(al.c.received);
    await ok(al.c, { type: 'delete', roomid: saved }, 'roomlist');
    expectFields(await al.c.waitFor((m) => !before3.has(m) && m.type === 'error'), { code: 'STORE_FAILED' });
    await stillServing(al);
  });
});

describe('store failures while a restarted hub recovers', { timeout: 60_000 }, () => {
  test('a restored session whose account cannot be reloaded is told, and the hub stays up', async (t) => {
    const sc = scope(t);
    const al = await sc.account('k');
    await ok(al.c, { type: 'block', user: (await sc.account('ml')).username }, 'blocklist');
    const old = hubPid(server);
    faults.fail('blockedBy', 'isAdmin');
    process.kill(old, 'SIGKILL');
    const told = await al.c.waitFor((m) => m.type === 'error', 15_000);
    expectFields(told, { code: 'STORE_FAILED' });
    faults.clear();
    const fresh = hubPid(server);
    assert.notEqual(fresh, old);
    const room = uniq('K');
    await createAndJoin([al], room);
    await say(al, 'after recovery');
    assert.equal(hubStarts(), 2, 'one restart: the kill; none for the failed reload');
    assert.ok(proc.isAlive(fresh));
  });
});
