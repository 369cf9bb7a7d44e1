import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { expectFields, login, ok, refused, register, runCli, welcomed, type Conn } from '../helpers/requests';
import { startServer, type RunningServer } from '../helpers/server';
import { runTag, uniqueNames } from '../helpers/unique-names';

/**
 * Unknown names get a coded error, never an empty or default answer (docs/PROTOCOL.md, "Unknown
 * names"): block, unblock, presence, dm, dmhistory, history, resume, and the CLI's export and
 * admin revoke. `who` of an unknown room is core and keeps its seed answer.
 */

const uniq = uniqueNames(runTag(4));

describe('unknown names', () => {
  let server: RunningServer;
  const open: Conn[] = [];
  const guest = async (): Promise<Conn> => {
    const c = await welcomed(server.port);
    open.push(c);
    return c;
  };
  const account = async (): Promise<Conn & { username: string }> => {
    const c = await guest();
    const username = uniq('u');
    await register(c.c, username);
    await login(c, username);
    return { ...c, username };
  };

  before(async () => {
    server = await startServer({ args: ['--host', '127.0.0.1', '--workers', '2'] });
  });
  after(async () => {
    for (const c of open) await c.c.close();
    await server.stop();
  });

  test('block: not oneself (NOT_ALLOWED), not a name nobody has (NO_SUCH_USER); an account or a connected guest is fine; unblock of a name not on the list: NO_SUCH_USER', async () => {
    const al = await account();
    const bo = await account();
    const g = await guest();
    await refused(al.c, { type: 'block', user: al.username }, 'NOT_ALLOWED', ['blocklist']);
    await refused(al.c, { type: 'block', user: uniq('nobody') }, 'NO_SUCH_USER', ['blocklist']);
    expectFields(await ok(al.c, { type: 'block', user: bo.username }, 'blocklist'), { users: [bo.username] });
    expectFields(await ok(al.c, { type: 'block', user: g.id }, 'blocklist'), { users: [bo.username, g.id].sort() });
    await refused(al.c, { type: 'unblock', user: uniq('nobody') }, 'NO_SUCH_USER', ['blocklist']);
    // A blocked guest that left is still on the list, and can be unblocked.
    await g.c.close();
    await al.c.waitFor((m) => m.type === 'roomchange' && m.identity === g.id && m.roomid === '');
    expectFields(await ok(al.c, { type: 'unblock', user: g.id }, 'blocklist'), { users: [bo.username] });
    // Own messages still reach oneself.
    al.c.send({ type: 'message', content: 'mine' });
    await al.c.waitFor((m) => m.type === 'message' && m.content === 'mine');
  });

  test('presence: an unknown name is NO_SUCH_USER (named in the message); accounts and connected guests are answered', async () => {
    const al = await account();
    const g = await guest();
    const nobody = uniq('nobody');
    const err = await refused(g.c, { type: 'presence', users: [al.username, nobody] }, 'NO_SUCH_USER', ['presence']);
    assert.match(err.message as string, new RegExp(nobody));
    const p = await ok(g.c, { type: 'presence', users: [al.username, g.id] }, 'presence');
    assert.deepEqual(p.users, [
      { username: al.username, online: true, status: '', dnd: false, state: 'online' },
      { username: g.id, online: true, status: '', dnd: false, state: 'online' },
    ]);
  });

  test('dm and dmhistory: NO_SUCH_USER for a name that is no account (a connected guest included)', async () => {
    const al = await account();
    const g = await guest();
    for (const name of [uniq('nobody'), g.id]) {
      await refused(al.c, { type: 'dm', to: name, content: 'hi' }, 'NO_SUCH_USER', ['dm']);
      await refused(al.c, { type: 'dmhistory', with: name }, 'NO_SUCH_USER', ['dmhistory']);
    }
  });

  test('history and resume: NO_SUCH_ROOM for a room that does not exist, also one that existed; export refuses a gone room and a room it never had', async () => {
    const g = await guest();
    const other = await guest();
    const nosuch = uniq('Nosuch');
    await refused(g.c, { type: 'history', roomid: nosuch }, 'NO_SUCH_ROOM', ['history']);
    await refused(g.c, { type: 'resume', roomid: nosuch, since: 0 }, 'NO_SUCH_ROOM', ['resumed']);
    // A guest room with a message, then deleted by its owner.
    const room = uniq('Gone');
    await ok(g.c, { type: 'createroom', roomid: room }, 'roomlist');
    await ok(g.c, { type: 'join', roomid: room }, 'roomchange', (m) => m.roomid === room);
    await ok(g.c, { type: 'message', content: 'said before it went' }, 'message');
    const h = await ok(other.c, { type: 'history', roomid: room }, 'history');
    assert.deepEqual((h.messages as Array<{ content: string }>).map((m) => m.content), ['said before it went']);
    await ok(g.c, { type: 'delete', roomid: room }, 'roomlist', (m) => !(m.rooms as Array<{ roomid: string }>).some((r) => r.roomid === room));
    await refused(other.c, { type: 'history', roomid: room }, 'NO_SUCH_ROOM', ['history']);
    await refused(other.c, { type: 'resume', roomid: room, since: 0 }, 'NO_SUCH_ROOM', ['resumed']);
    // Its history went with it (docs/PROTOCOL.md, Epochs): the store has no such room either.
    const exported = await runCli(['export', '--data-dir', server.dataDir, '--room', room]);
    assert.equal(exported.code, 1, exported.stderr);
    assert.equal(exported.stdout, '');
    const missing = await runCli(['export', '--data-dir', server.dataDir, '--room', nosuch]);
    assert.equal(missing.code, 1);
    assert.equal(missing.stdout, '');
    assert.match(missing.stderr, new RegExp(`no room ${nosuch}`));
    // `who` is core: its seed answer for an unknown room stays.
    expectFields(await ok(g.c, { type: 'who', roomid: nosuch }, 'roomcontents'), { roomid: nosuch, identities: [], owner: '' });
  });

  test('admin grant and revoke of a name that is no account exit 1 and say so', async () => {
    const nobody = uniq('nobody');
    for (const action of ['grant', 'revoke']) {
      const r = await runCli(['admin', action, nobody, '--data-dir', server.dataDir]);
      assert.equal(r.code, 1, `${action}: ${r.stderr}`);
      assert.match(r.stderr, new RegExp(`no account ${nobody}`));
    }
  });
});
