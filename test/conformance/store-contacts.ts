import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { account, register, type WithStore } from './store-fixtures';

/** Store conformance: contact lists, watchers, blockers and the user search (src/store/contact-store.ts). */
export function contactTests(withStore: WithStore): void {
  describe('contacts', () => {
    test('add up to the bound, present, remove; the list and the watchers in code-point order', () =>
      withStore(async (store) => {
        for (const u of ['ann', 'Bob', 'cid', 'dee']) await register(store, u);
        assert.equal(await store.addContact('ann', 'cid', 2, 1), 'added');
        assert.equal(await store.addContact('ann', 'Bob', 2, 2), 'added');
        assert.equal(await store.addContact('ann', 'Bob', 2, 3), 'present');
        assert.equal(await store.addContact('ann', 'dee', 2, 4), 'full');
        assert.deepEqual(await store.contactsOf('ann'), ['Bob', 'cid']);
        assert.equal(await store.addContact('dee', 'cid', 2, 5), 'added');
        assert.deepEqual(await store.watchersOf('cid'), ['ann', 'dee']);
        assert.equal(await store.removeContact('ann', 'cid'), true);
        assert.equal(await store.removeContact('ann', 'cid'), false);
        assert.deepEqual(await store.contactsOf('ann'), ['Bob']);
        assert.deepEqual(await store.watchersOf('cid'), ['dee']);
        assert.deepEqual(await store.contactsOf('nobody'), []);
      }));

    test('contact profiles carry status and dnd', () =>
      withStore(async (store) => {
        await register(store, 'ann');
        await store.createAccount(account('bob', { status: 'out', dnd: true }));
        await store.addContact('ann', 'bob', 10, 1);
        assert.deepEqual(await store.contactProfiles('ann'), [{ username: 'bob', status: 'out', dnd: true }]);
      }));

    test('blockersOf names the accounts blocking a name in any case', () =>
      withStore(async (store) => {
        for (const u of ['ann', 'bob', 'cid']) await register(store, u);
        await store.block('ann', 'CID');
        await store.block('bob', 'cid');
        assert.deepEqual(await store.blockersOf('Cid'), ['ann', 'bob']);
        assert.deepEqual(await store.blockersOf('ann'), []);
      }));

    test('search: prefix in any case, in folded order, bounded; other characters match nobody', () =>
      withStore(async (store) => {
        for (const u of ['bob', 'Bobby', 'boris', 'carl', 'bo9']) await register(store, u);
        assert.deepEqual(await store.searchUsernames('BO', 10), ['bo9', 'bob', 'Bobby', 'boris']);
        assert.deepEqual(await store.searchUsernames('bob', 1), ['bob']);
        assert.deepEqual(await store.searchUsernames('x', 10), []);
        assert.deepEqual(await store.searchUsernames('b%', 10), []);
        assert.deepEqual(await store.searchUsernames('b_', 10), []);
        assert.deepEqual(await store.searchUsernames('bo', 0), []);
      }));
  });
}
