import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { account, register, rejectsWith, roomMessages, type WithStore } from './store-fixtures';

/** Store conformance: accounts, login tokens, persistent rooms, blocking. */
export function accountTests(withStore: WithStore): void {
  describe('accounts', () => {
    test('create, get back every field; unknown is null', () =>
      withStore(async (store) => {
        const ann = account('ann', { status: 'away', dnd: true, createdAt: 42 });
        assert.equal(await store.createAccount(ann), true);
        assert.deepEqual(await store.getAccount('ann'), ann);
        assert.equal(await store.getAccount('bob'), null);
      }));

    test('a taken username is refused and the first account kept; names are case-insensitive', () =>
      withStore(async (store) => {
        assert.equal(await store.createAccount(account('ann', { passwordHash: 'first' })), true);
        assert.equal(await store.createAccount(account('ann', { passwordHash: 'second' })), false);
        assert.equal((await store.getAccount('ann'))?.passwordHash, 'first');
        assert.equal(await store.createAccount(account('Ann')), false, 'the same name in another case');
        assert.deepEqual(await store.listUsernames(), ['ann']);
        assert.deepEqual(await store.getAccount('ANN'), account('ann', { passwordHash: 'first' }), 'found in any case, under its stored spelling');
      }));

    test('blocking a name in another case is the same block; unblock in any case', () =>
      withStore(async (store) => {
        await register(store, 'ann');
        await store.block('ann', 'Bob');
        await store.block('ann', 'BOB');
        assert.deepEqual(await store.blockedBy('ann'), ['Bob']);
        await store.unblock('ann', 'bob');
        assert.deepEqual(await store.blockedBy('ann'), []);
      }));

    test('listUsernames is empty on a new store', () =>
      withStore(async (store) => assert.deepEqual(await store.listUsernames(), [])));

    test('status and dnd change and read back; on an unknown account they change nothing', () =>
      withStore(async (store) => {
        await register(store, 'ann');
        await store.setStatus('ann', 'out to lunch');
        await store.setDnd('ann', true);
        assert.deepEqual(await store.getAccount('ann'), account('ann', { status: 'out to lunch', dnd: true }));
        await store.setDnd('ann', false);
        await store.setStatus('ann', '');
        assert.deepEqual(await store.getAccount('ann'), account('ann'));
        await store.setStatus('ghost', 'x');
        await store.setDnd('ghost', true);
        assert.equal(await store.getAccount('ghost'), null);
        assert.deepEqual(await store.listUsernames(), ['ann']);
      }));
  });

  describe('tokens', () => {
    test('add, find, revoke; unknown tokens are null; revoking twice is fine', () =>
      withStore(async (store) => {
        await register(store, 'ann', 'bob');
        await store.addToken('h1', 'ann', 1);
        await store.addToken('h2', 'ann', 2);
        await store.addToken('h3', 'bob', 3);
        assert.equal(await store.findToken('h1'), 'ann');
        assert.equal(await store.findToken('h3'), 'bob');
        assert.equal(await store.findToken('nope'), null);
        await store.revokeToken('h1');
        await store.revokeToken('h1');
        await store.revokeToken('never-added');
        assert.equal(await store.findToken('h1'), null);
        assert.equal(await store.findToken('h2'), 'ann', 'other tokens of the user stay valid');
      }));

    test('a token for an unknown account is refused', () =>
      withStore(async (store) => {
        await rejectsWith(store.addToken('h1', 'ghost', 1), 'STORE_UNKNOWN_ACCOUNT');
        assert.equal(await store.findToken('h1'), null);
      }));
  });

  describe('rooms', () => {
    test('save, list, save again replaces, delete; deleting an unknown room is fine', () =>
      withStore(async (store) => {
        await register(store, 'ann', 'bob');
        await store.saveRoom({ roomid: 'den', owner: 'ann', createdAt: 1 });
        await store.saveRoom({ roomid: 'attic', owner: 'bob', createdAt: 2 });
        const byId = async () => (await store.listRooms()).sort((a, b) => a.roomid.localeCompare(b.roomid));
        assert.deepEqual(await byId(), [
          { roomid: 'attic', owner: 'bob', createdAt: 2 },
          { roomid: 'den', owner: 'ann', createdAt: 1 },
        ]);
        await store.saveRoom({ roomid: 'den', owner: 'bob', createdAt: 3 });
        await store.deleteRoom('attic');
        await store.deleteRoom('attic');
        await store.deleteRoom('never-saved');
        assert.deepEqual(await byId(), [{ roomid: 'den', owner: 'bob', createdAt: 3 }]);
      }));

    test('the owner must be an account', () =>
      withStore(async (store) => {
        await rejectsWith(store.saveRoom({ roomid: 'den', owner: 'ghost', createdAt: 1 }), 'STORE_UNKNOWN_ACCOUNT');
        assert.deepEqual(await store.listRooms(), []);
      }));

    test('deleting a room record keeps its history (the hub drops it with deleteRoomHistory)', () =>
      withStore(async (store) => {
        await register(store, 'ann');
        await store.saveRoom({ roomid: 'den', owner: 'ann', createdAt: 1 });
        await store.appendRoomMessages(roomMessages('den', 1, 2));
        await store.deleteRoom('den');
        assert.equal(await store.lastRoomSeq('den'), 2);
      }));
  });

  describe('room rules', () => {
    const rules = {
      private: true,
      invited: ['bob', 'guest7'],
      bans: [
        { identity: 'carl', by: 'ann', reason: 'spam', until: 0 },
        { identity: 'dora', by: 'ann', reason: '', until: 99 },
      ],
    };

    test('save, list, replace as a whole; deleting the room deletes them', () =>
      withStore(async (store) => {
        await register(store, 'ann');
        await store.saveRoom({ roomid: 'den', owner: 'ann', createdAt: 1 });
        await store.saveRoom({ roomid: 'attic', owner: 'ann', createdAt: 2 });
        assert.deepEqual(await store.listRoomRules(), new Map());
        await store.saveRoomRules('den', rules);
        await store.saveRoomRules('attic', { private: false, invited: [], bans: [] });
        assert.deepEqual(await store.listRoomRules(), new Map([['attic', { private: false, invited: [], bans: [] }], ['den', rules]]));
        await store.saveRoomRules('den', { private: false, invited: ['eve'], bans: [] });
        assert.deepEqual((await store.listRoomRules()).get('den'), { private: false, invited: ['eve'], bans: [] });
        await store.deleteRoom('den');
        assert.deepEqual([...(await store.listRoomRules()).keys()], ['attic']);
      }));

    test('rules of a room that is not stored are refused', () =>
      withStore(async (store) => {
        await rejectsWith(store.saveRoomRules('nowhere', rules), 'STORE_UNKNOWN_ROOM');
        assert.deepEqual(await store.listRoomRules(), new Map());
      }));
  });

  describe('administrators', () => {
    test('grant (twice is fine), is, list, revoke', () =>
      withStore(async (store) => {
        await register(store, 'ann', 'bob');
        assert.deepEqual(await store.listAdmins(), []);
        await store.grantAdmin('bob', 1);
        await store.grantAdmin('bob', 2);
        await store.grantAdmin('ann', 3);
        assert.equal(await store.isAdmin('bob'), true);
        assert.equal(await store.isAdmin('carl'), false);
        assert.deepEqual(await store.listAdmins(), ['ann', 'bob']);
        assert.equal(await store.revokeAdmin('bob'), true);
        assert.equal(await store.revokeAdmin('bob'), false);
        assert.deepEqual(await store.listAdmins(), ['ann']);
      }));

    test('only an account can be granted', () =>
      withStore(async (store) => {
        await rejectsWith(store.grantAdmin('ghost', 1), 'STORE_UNKNOWN_ACCOUNT');
        assert.deepEqual(await store.listAdmins(), []);
      }));
  });

  describe('blocking', () => {
    test('block and unblock are idempotent and one-way', () =>
      withStore(async (store) => {
        await register(store, 'ann', 'bob');
        await store.block('ann', 'bob');
        await store.block('ann', 'bob');
        await store.block('ann', 'guest7');
        assert.deepEqual((await store.blockedBy('ann')).sort(), ['bob', 'guest7']);
        assert.deepEqual(await store.blockedBy('bob'), []);
        await store.unblock('ann', 'bob');
        await store.unblock('ann', 'bob');
        await store.unblock('bob', 'ann');
        assert.deepEqual(await store.blockedBy('ann'), ['guest7']);
      }));

    test('the blocker must be an account', () =>
      withStore(async (store) => {
        await rejectsWith(store.block('ghost', 'ann'), 'STORE_UNKNOWN_ACCOUNT');
        assert.deepEqual(await store.blockedBy('ghost'), []);
      }));
  });
}
