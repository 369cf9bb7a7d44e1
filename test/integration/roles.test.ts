import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Msg } from '../helpers/client';
import { expectFields, login, ok, refused, register, runCli, welcomed, type Conn } from '../helpers/requests';
import { startServer, type RunningServer } from '../helpers/server';
import { sleep, within } from '../helpers/wait';

/**
 * Roles and moderation (docs/PROTOCOL.md, "Roles and moderation") against the real server with
 * two workers, so moderator and target usually sit in different processes: administrators from
 * the `admins` setting and from `switchboard admin grant`, private rooms and invitations, kick,
 * timed and open-ended bans, transfer, an administrator's delete, disconnect and notice, and
 * the rules of a stored room surviving a restart on the same data dir.
 */

const ARGS = ['--host', '127.0.0.1', '--placement', 'pool', '--workers', '2', '--admins', 'root'];

/** The core refusal of a `join`, then the error saying why. */
async function joinRefused(conn: Conn, roomid: string, code: string): Promise<void> {
  const earlier = new Set(conn.c.received);
  conn.c.send({ type: 'join', roomid });
  const refusal = await conn.c.waitFor((m) => !earlier.has(m) && m.type === 'roomchange' && m.identity === conn.id);
  assert.equal(refusal.former, refusal.roomid, `join ${roomid} refused the core way: ${JSON.stringify(refusal)}`);
  const why = await conn.c.waitFor((m) => !earlier.has(m) && m.type === 'error');
  expectFields(why, { code }, `join ${roomid}: `);
}

async function joined(conn: Conn, roomid: string): Promise<void> {
  const m = await ok(conn.c, { type: 'join', roomid }, 'roomchange', (x) => x.identity === conn.id);
  expectFields(m, { roomid }, `join ${roomid}: `);
}

async function account(server: RunningServer, username: string): Promise<Conn & { admin: boolean }> {
  const conn = await welcomed(server.port);
  await register(conn.c, username);
  const earlier = new Set(conn.c.received);
  await login(conn, username);
  const loggedin = conn.c.received.find((m) => !earlier.has(m) && m.type === 'loggedin')!;
  return { ...conn, admin: loggedin.admin as boolean };
}

describe('roles and moderation', () => {
  let server: RunningServer;
  let root: Conn & { admin: boolean };
  let alice: Conn & { admin: boolean };
  let bob: Conn;
  let carl: Conn;
  const conns: Conn[] = [];

  // Our own data dir: the server helper removes the ones it makes when the server stops.
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sb-roles-'));

  before(async () => {
    server = await startServer({ args: ARGS, dataDir });
    root = await account(server, 'root');
    alice = await account(server, 'alice');
    bob = await welcomed(server.port);
    carl = await welcomed(server.port);
    conns.push(root, alice, bob, carl);
  });

  after(async () => {
    await Promise.all(conns.map((c) => c.c.close()));
    await server?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  test('loggedin says who is an administrator (the admins setting)', () => {
    assert.equal(root.admin, true);
    assert.equal(alice.admin, false);
  });

  test('a private room: the core refusal then INVITE_ONLY; an invitation lets in', async () => {
    await ok(alice.c, { type: 'createroom', roomid: 'Vault', private: true }, 'roomlist');
    await joined(alice, 'Vault');
    await joinRefused(bob, 'Vault', 'INVITE_ONLY');
    const invite = await ok(alice.c, { type: 'invite', roomid: 'Vault', identity: bob.id }, 'invite');
    expectFields(invite, { roomid: 'Vault', identity: bob.id, by: 'alice' });
    expectFields(await bob.c.waitFor((m) => m.type === 'invite'), { roomid: 'Vault', by: 'alice' });
    await joined(bob, 'Vault');
    // An administrator needs no invitation; a member cannot moderate.
    await joined(root, 'Vault');
    await refused(bob.c, { type: 'invite', roomid: 'Vault', identity: carl.id }, 'NOT_ALLOWED', ['invite']);
    await refused(alice.c, { type: 'invite', roomid: 'Nowhere', identity: carl.id }, 'NO_SUCH_ROOM', ['invite']);
    await refused(alice.c, { type: 'invite', roomid: 'Vault', identity: 'nobodyatall' }, 'NO_SUCH_USER', ['invite']);
  });

  test('kick moves the member to MainHall and tells the room; the owner cannot be kicked', async () => {
    const earlierAlice = new Set(alice.c.received);
    const kick = await ok(alice.c, { type: 'kick', roomid: 'Vault', identity: bob.id, reason: 'test' }, 'kick');
    expectFields(kick, { roomid: 'Vault', identity: bob.id, by: 'alice', reason: 'test' });
    await bob.c.waitFor((m) => m.type === 'kick');
    const moved = await bob.c.waitFor((m) => m.type === 'roomchange' && m.identity === bob.id && m.former === 'Vault');
    expectFields(moved, { roomid: 'MainHall' });
    await bob.c.waitFor((m) => m.type === 'roomcontents' && m.roomid === 'MainHall');
    await alice.c.waitFor((m) => !earlierAlice.has(m) && m.type === 'roomchange' && m.identity === bob.id);
    // The kick withdrew the invitation: the private room is shut to bob again.
    await joinRefused(bob, 'Vault', 'INVITE_ONLY');
    await refused(root.c, { type: 'kick', roomid: 'Vault', identity: 'alice' }, 'NOT_ALLOWED', ['kick']);
    await refused(alice.c, { type: 'kick', roomid: 'Vault', identity: 'root' }, 'NOT_ALLOWED', ['kick']);
  });

  test('a timed ban refuses with BANNED until it runs out; an open one until unban', async () => {
    await ok(alice.c, { type: 'private', roomid: 'Vault', on: false }, 'private');
    await joined(carl, 'Vault');
    const ban = await ok(alice.c, { type: 'ban', roomid: 'Vault', identity: carl.id, seconds: 1, reason: 'cool off' }, 'ban');
    assert.ok((ban.until as number) > Date.now() - 5000, `until in ms: ${JSON.stringify(ban)}`);
    await carl.c.waitFor((m) => m.type === 'roomchange' && m.identity === carl.id && m.roomid === 'MainHall');
    await joinRefused(carl, 'Vault', 'BANNED');
    await sleep(1100);
    await joined(carl, 'Vault');

    const open = await ok(alice.c, { type: 'ban', roomid: 'Vault', identity: bob.id }, 'ban');
    expectFields(open, { until: 0, reason: '' });
    await joinRefused(bob, 'Vault', 'BANNED');
    const info = await ok(alice.c, { type: 'roominfo', roomid: 'Vault' }, 'roominfo');
    expectFields(info, { owner: 'alice', private: false, invited: [] });
    assert.deepEqual((info.bans as Msg[]).map((b) => b.identity), [bob.id]);
    await refused(bob.c, { type: 'roominfo', roomid: 'Vault' }, 'NOT_ALLOWED', ['roominfo']);
    // A banned name reads none of the room's history; members and the owner do.
    await refused(bob.c, { type: 'history', roomid: 'Vault' }, 'BANNED', ['history']);
    await ok(carl.c, { type: 'history', roomid: 'Vault' }, 'history');
  });

  test("a stored room's rules survive a restart; the CLI grants and lists administrators", async () => {
    await ok(alice.c, { type: 'private', roomid: 'Vault', on: true }, 'private');
    await ok(alice.c, { type: 'invite', roomid: 'Vault', identity: 'root' }, 'invite');
    await Promise.all(conns.map((c) => c.c.close()));
    conns.length = 0;
    await server.stop();

    // Granted while the server is stopped here; `admin grant` also works beside a running one.
    assert.equal((await runCli(['admin', 'grant', 'alice', '--data-dir', dataDir])).code, 0);
    const listed = await runCli(['admin', 'list', '--data-dir', dataDir]);
    assert.equal(listed.stdout, 'alice\n');
    const unknown = await runCli(['admin', 'grant', 'ghost', '--data-dir', dataDir]);
    assert.notEqual(unknown.code, 0);
    assert.match(unknown.stderr, /no account ghost/);

    server = await startServer({ args: ARGS, dataDir: dataDir });
    alice = { ...(await welcomed(server.port)), admin: false };
    const loggedin = await ok(alice.c, { type: 'login', username: 'alice', password: 'correct horse' }, 'loggedin');
    assert.equal(loggedin.admin, true, 'granted in the store');
    alice.id = 'alice';
    const guest = await welcomed(server.port);
    conns.push(alice, guest);
    const info = await ok(alice.c, { type: 'roominfo', roomid: 'Vault' }, 'roominfo');
    // carl was in Vault when it turned private: invited so as to stay (admission holds).
    expectFields(info, { owner: 'alice', private: true, invited: [carl.id, 'root'].sort() });
    assert.equal((info.bans as Msg[]).length, 1);
    // Bans are by name: a new guest may get the banned guest's old name, so it takes its own.
    await ok(guest.c, { type: 'identitychange', identity: 'visitor' }, 'newidentity', (m) => m.identity === 'visitor');
    guest.id = 'visitor';
    await joinRefused(guest, 'Vault', 'INVITE_ONLY');
    await refused(guest.c, { type: 'resume', roomid: 'Vault', since: 0 }, 'INVITE_ONLY', ['resumed']);
  });

  test('transfer, an administrator\'s delete, notice and disconnect', async () => {
    const guest = conns[1]!;
    const bobby = await account(server, 'bobby');
    conns.push(bobby);
    const given = await ok(alice.c, { type: 'transfer', roomid: 'Vault', identity: 'bobby' }, 'roomcontents', (m) => m.roomid === 'Vault');
    expectFields(given, { owner: 'bobby' });
    await bobby.c.waitFor((m) => m.type === 'roomcontents' && m.roomid === 'Vault' && m.owner === 'bobby');
    // A stored room only passes to accounts.
    await refused(bobby.c, { type: 'transfer', roomid: 'Vault', identity: guest.id }, 'NOT_ALLOWED', ['roomcontents']);

    // alice is an administrator now: she may still act on the room, recall in it, and delete it.
    await ok(bobby.c, { type: 'join', roomid: 'Vault' }, 'roomchange', (m) => m.identity === 'bobby');
    const said = await ok(bobby.c, { type: 'message', content: 'oops' }, 'message', (m) => m.identity === 'bobby');
    await ok(alice.c, { type: 'recall', id: said.id }, 'recalled');
    await ok(alice.c, { type: 'delete', roomid: 'Vault' }, 'roomlist', (m) => !(m.rooms as Msg[]).some((r) => r.roomid === 'Vault'));

    await refused(guest.c, { type: 'notice', content: 'hi' }, 'NOT_ALLOWED', ['notice']);
    await ok(alice.c, { type: 'notice', content: 'maintenance at noon' }, 'notice');
    for (const c of [guest, bobby]) expectFields(await c.c.waitFor((m) => m.type === 'notice'), { from: 'alice', content: 'maintenance at noon' });

    const gone = await ok(alice.c, { type: 'disconnect', identity: guest.id, reason: 'enough' }, 'disconnected');
    expectFields(gone, { identity: guest.id, by: 'alice', reason: 'enough' });
    expectFields(await guest.c.waitFor((m) => m.type === 'error'), { code: 'DISCONNECTED' });
    assert.ok(await within(guest.c.closed, 3000), 'the disconnected client is closed');
    await refused(bobby.c, { type: 'disconnect', identity: 'alice' }, 'NOT_ALLOWED', ['disconnected']);
  });
});
