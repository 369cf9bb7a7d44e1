import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { holderOf, sleep, until, workerPids } from '../helpers/chaos';
import { TestClient, type Msg } from '../helpers/client';
import { ask, expectFields, login, ok, refused, register, welcomed, type Conn } from '../helpers/requests';
import { startServer, type RunningServer } from '../helpers/server';

/**
 * Issue 9, items 3, 4 and 8 (guest grace) through the real server: admission after identity
 * changes, names that belong to someone, and a dropped session's identity and room held for
 * its resume token across a worker killed with -9.
 */

const conns: TestClient[] = [];
async function guest(port: number): Promise<Conn> {
  const conn = await welcomed(port);
  conns.push(conn.c);
  return conn;
}

async function rename(conn: Conn, identity: string): Promise<void> {
  await ok(conn.c, { type: 'identitychange', identity }, 'newidentity', (m) => m.identity === identity);
  conn.id = identity;
}

/** Sends `msg`; resolves with the move to MainHall it causes, checking `code` was said just before. */
async function movedOut(conn: Conn, msg: object, code: string): Promise<Msg> {
  const earlier = new Set(conn.c.received);
  conn.c.send(msg);
  const moved = await conn.c.waitFor((m) => !earlier.has(m) && m.type === 'roomchange' && m.roomid === 'MainHall');
  expectFields(conn.c.received[conn.c.received.indexOf(moved) - 1]!, { type: 'error', code }, 'told why, before the move: ');
  return moved;
}

async function join(conn: Conn, roomid: string): Promise<void> {
  await ok(conn.c, { type: 'join', roomid }, 'roomchange', (m) => m.identity === conn.id && m.roomid === roomid);
}

describe('admission and names (pool, one worker)', () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer({ args: ['--host', '127.0.0.1', '--workers', '1'] });
  });
  after(async () => {
    await Promise.all(conns.splice(0).map((c) => c.close()));
    await server.stop();
  });

  test('the issue: a guest in Club that logs in as a banned account is moved out, posts to MainHall, reads no Club history', async () => {
    const owner = await guest(server.port);
    await register(owner.c, 'clubowner');
    await login(owner, 'clubowner');
    await ok(owner.c, { type: 'createroom', roomid: 'Club' }, 'roomlist');
    await join(owner, 'Club');
    const banned = await guest(server.port);
    await register(banned.c, 'Bad1');
    await ok(owner.c, { type: 'ban', roomid: 'Club', identity: 'bad1' }, 'ban');

    const sneaky = await guest(server.port);
    await join(sneaky, 'Club');
    const moved = await movedOut(sneaky, { type: 'login', username: 'Bad1', password: 'correct horse' }, 'BANNED');
    expectFields(moved, { type: 'roomchange', identity: 'Bad1', former: 'Club', roomid: 'MainHall' });
    await owner.c.waitFor((m) => m.type === 'roomchange' && m.identity === 'Bad1' && m.roomid === 'MainHall');
    await sneaky.c.waitFor((m) => m.type === 'loggedin');
    await refused(sneaky.c, { type: 'history', roomid: 'Club' }, 'BANNED', ['history']);
    sneaky.c.send({ type: 'message', content: 'where am I' });
    const said = await sneaky.c.waitFor((m) => m.type === 'message' && m.content === 'where am I');
    assert.equal(said.roomid, 'MainHall');
  });

  test('a guest renaming into a banned guest name inside the room is moved out', async () => {
    const owner = await guest(server.port);
    await rename(owner, 'denowner');
    await ok(owner.c, { type: 'createroom', roomid: 'Den' }, 'roomlist');
    await join(owner, 'Den');
    await ok(owner.c, { type: 'ban', roomid: 'Den', identity: 'Troll' }, 'ban');
    const g = await guest(server.port);
    await join(g, 'Den');
    const moved = await movedOut(g, { type: 'identitychange', identity: 'tRoLL' }, 'BANNED');
    expectFields(moved, { identity: 'tRoLL', former: 'Den' });
  });

  test('names belong to their account in any case; login in any case takes the stored spelling', async () => {
    const alice = await guest(server.port);
    await register(alice.c, 'alice');
    const other = await guest(server.port);
    await refused(other.c, { type: 'register', username: 'Alice', password: 'correct horse' }, 'USERNAME_TAKEN', ['registered']);
    const same = await ask(other.c, { type: 'identitychange', identity: 'ALICE' }, (m) => m.type === 'newidentity');
    expectFields(same, { former: other.id, identity: other.id }, 'refused the core way: ');
    const loggedin = await ok(other.c, { type: 'login', username: 'ALICE', password: 'correct horse' }, 'loggedin');
    expectFields(loggedin, { identity: 'alice' });
  });

  test("the issue: a registered guest name is never handed to the next guest, and an account cannot recall a guest's messages", async () => {
    const first = await guest(server.port);
    const n = Number(/^guest(\d+)$/.exec(first.id)![1]);
    const next = `guest${n + 1}`;
    // A guest registers the name the next client would get.
    const registrar = await guest(server.port);
    assert.equal(registrar.id, next);
    await rename(registrar, 'registrar');
    await register(registrar.c, next.toUpperCase());
    const newcomer = await guest(server.port);
    assert.notEqual(newcomer.id.toLowerCase(), next, 'the registered name is skipped');

    // A guest speaks as carolyn, leaves; an account registered as carolyn may not recall that.
    const carolyn = await guest(server.port);
    await rename(carolyn, 'carolyn');
    carolyn.c.send({ type: 'message', content: 'said as a guest' });
    const guestMessage = await carolyn.c.waitFor((m) => m.type === 'message' && m.content === 'said as a guest');
    await carolyn.c.close();
    const account = await guest(server.port);
    await register(account.c, 'carolyn');
    await login(account, 'carolyn');
    await refused(account.c, { type: 'recall', id: guestMessage.id }, 'NOT_ALLOWED', ['recalled']);
    account.c.send({ type: 'message', content: 'said as the account' });
    const own = await account.c.waitFor((m) => m.type === 'message' && m.content === 'said as the account');
    await ok(account.c, { type: 'recall', id: own.id }, 'recalled');
  });
});

describe('a guest reconnected after its worker dies gets its name and room back', () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer({ args: ['--host', '127.0.0.1', '--placement', 'pool', '--workers', '2', '--reconnect-grace-ms', '60000'] });
  });
  after(async () => {
    await Promise.all(conns.splice(0).map((c) => c.close()));
    await server.stop();
  });

  test('kill -9 of the worker under a renamed guest: the name is held, the token reclaims name and room', { timeout: 60_000 }, async () => {
    const owner = await guest(server.port);
    await register(owner.c, 'roomkeeper');
    await login(owner, 'roomkeeper');
    await ok(owner.c, { type: 'createroom', roomid: 'Attic' }, 'roomlist');

    const keeper = await guest(server.port);
    await rename(keeper, 'keeper');
    await join(keeper, 'Attic');
    const session = await ok(keeper.c, { type: 'session' }, 'session');
    assert.equal(typeof session.token, 'string');
    assert.equal(session.graceMs, 60000);

    const victim = holderOf(server, keeper.c.socket.localPort!);
    assert.ok(victim !== undefined && workerPids(server).includes(victim), 'the worker holding the guest');
    process.kill(victim, 'SIGKILL');
    await keeper.c.closed;
    await server.waitForLog((l) => l.role === 'supervisor' && l.msg === 'worker died' && l.childPid === victim, 5000);
    await until('two workers again', () => workerPids(server).length === 2, 15_000);
    await sleep(150);

    // Meanwhile nobody else gets the name.
    const thief = await guest(server.port);
    const same = await ask(thief.c, { type: 'identitychange', identity: 'KEEPER' }, (m) => m.type === 'newidentity');
    expectFields(same, { former: thief.id, identity: thief.id });
    await refused(thief.c, { type: 'register', username: 'keeper', password: 'correct horse' }, 'USERNAME_TAKEN', ['registered']);
    await refused(thief.c, { type: 'reclaim', token: 'not-the-token' }, 'NO_SUCH_SESSION', ['reclaimed']);

    const back = await guest(server.port);
    const reclaimed = await ok(back.c, { type: 'reclaim', token: session.token }, 'reclaimed');
    expectFields(reclaimed, { identity: 'keeper', roomid: 'Attic' });
    const seen = back.c.received.filter((m: Msg) => m.type === 'newidentity' || m.type === 'roomchange').slice(-2);
    expectFields(seen[0]!, { type: 'newidentity', former: back.id, identity: 'keeper' });
    expectFields(seen[1]!, { type: 'roomchange', identity: 'keeper', roomid: 'Attic' });
    back.id = 'keeper';
    const contents = await ok(back.c, { type: 'who', roomid: 'Attic' }, 'roomcontents');
    assert.ok((contents.identities as string[]).includes('keeper'));
    // Reclaimed once only.
    await refused(thief.c, { type: 'reclaim', token: session.token }, 'NO_SUCH_SESSION', ['reclaimed']);
  });
});
