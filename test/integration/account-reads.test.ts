import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Msg } from '../helpers/client';
import { expectFields, login, ok, refused, register, welcomed, type Conn } from '../helpers/requests';
import { startServer, type RunningServer } from '../helpers/server';
import { sleep } from '../helpers/wait';
import { runTag, uniqueNames } from '../helpers/unique-names';

/**
 * Reads of one's account state against the real server (pool of 2 workers): `blocklist` asked
 * on its own (docs/PROTOCOL.md, "block, unblock"), so a client that just logged in knows its
 * blocks; and the `state` of `presence` entries (online, away, dnd, offline: the rule of the
 * contacts' Presence objects), so an away user who is not a contact shows away.
 */

const uniq = uniqueNames(runTag(4));

describe('account reads', () => {
  let server: RunningServer;
  const open: Conn[] = [];
  const guest = async (): Promise<Conn> => {
    const c = await welcomed(server.port);
    open.push(c);
    return c;
  };
  const account = async (username = uniq('u')): Promise<Conn & { username: string }> => {
    const c = await guest();
    await register(c.c, username);
    await login(c, username);
    return { ...c, username };
  };
  const device = async (username: string): Promise<Conn> => {
    const c = await guest();
    await login(c, username);
    return c;
  };

  before(async () => {
    server = await startServer({ args: ['--host', '127.0.0.1', '--workers', '2'] });
  });
  after(async () => {
    for (const c of open) await c.c.close();
    await server.stop();
  });

  test('blocklist: the stored list, whole and sorted, on a fresh login; empty for none; a guest: NOT_LOGGED_IN', async () => {
    const al = await account();
    const zed = await account(uniq('zz'));
    const bo = await account(uniq('bb'));
    const g = await guest();
    // Blocks made in one session, out of order: an account, a connected guest, another account.
    await ok(al.c, { type: 'block', user: zed.username }, 'blocklist');
    await ok(al.c, { type: 'block', user: g.id }, 'blocklist');
    await ok(al.c, { type: 'block', user: bo.username }, 'blocklist');
    const expected = [zed.username, g.id, bo.username].sort();
    await al.c.close();
    // A new connection that only logged in asks for them (extra fields are tolerated).
    const again = await device(al.username);
    expectFields(await ok(again.c, { type: 'blocklist' }, 'blocklist'), { users: expected });
    expectFields(await ok(again.c, { type: 'blocklist', extra: 1 }, 'blocklist'), { users: expected });
    // The same list as unblock answers, and the read changes nothing.
    expectFields(await ok(again.c, { type: 'unblock', user: g.id }, 'blocklist'), { users: expected.filter((u) => u !== g.id) });
    expectFields(await ok(again.c, { type: 'blocklist' }, 'blocklist'), { users: expected.filter((u) => u !== g.id) });
    // An account that blocked no one.
    expectFields(await ok(bo.c, { type: 'blocklist' }, 'blocklist'), { users: [] });
    // A guest has no block list.
    const err = await refused(g.c, { type: 'blocklist' }, 'NOT_LOGGED_IN', ['blocklist']);
    assert.match(err.message as string, /log in/);
    // After logout the connection is a guest again.
    await ok(bo.c, { type: 'logout' }, 'loggedout');
    await refused(bo.c, { type: 'blocklist' }, 'NOT_LOGGED_IN', ['blocklist']);
  });

  test('presence: state says away for an away user who is no contact; dnd before away; offline when gone; other fields as before', async () => {
    const star = await account();
    const asker = await guest();
    const entry = async (): Promise<Msg> => ((await ok(asker.c, { type: 'presence', users: [star.username, asker.id] }, 'presence')).users as Msg[])[0]!;
    const waitFor = async (state: string): Promise<Msg> => {
      const deadline = Date.now() + 5000;
      for (;;) {
        const e = await entry();
        if (e.state === state) return e;
        assert.ok(Date.now() < deadline, `presence never said ${state}: ${JSON.stringify(e)}`);
        await sleep(25);
      }
    };
    assert.deepEqual(await entry(), { username: star.username, online: true, status: '', dnd: false, state: 'online' });
    // A guest is online, never away.
    const self = await ok(asker.c, { type: 'presence', users: [asker.id] }, 'presence');
    assert.deepEqual(self.users, [{ username: asker.id, online: true, status: '', dnd: false, state: 'online' }]);
    star.c.send({ type: 'away', on: true });
    assert.deepEqual(await waitFor('away'), { username: star.username, online: true, status: '', dnd: false, state: 'away' });
    // Do-not-disturb goes before away (the Presence rule); turning it off shows away again.
    await ok(star.c, { type: 'dnd', on: true }, 'profile');
    expectFields(await entry(), { online: true, dnd: true, state: 'dnd' });
    await ok(star.c, { type: 'dnd', on: false }, 'profile');
    expectFields(await entry(), { online: true, dnd: false, state: 'away' });
    star.c.send({ type: 'away', on: false });
    expectFields(await waitFor('online'), { online: true });
    // Away on a second device marks the account; gone with its last device, it is offline.
    const second = await device(star.username);
    second.c.send({ type: 'away', on: true });
    await waitFor('away');
    await second.c.close();
    await star.c.close();
    expectFields(await waitFor('offline'), { online: false, dnd: false, status: '' });
  });
});
