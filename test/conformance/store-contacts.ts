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

    test('adds racing on one list never pass the bound: at max - 1, exactly one of many wins', () =>
      withStore(async (store) => {
        const max = 5;
        const racers = Array.from({ length: 20 }, (_, i) => `racer${i}`);
        await register(store, 'ann', 'had0', 'had1', 'had2', 'had3', ...racers);
        for (let i = 0; i < max - 1; i++) assert.equal(await store.addContact('ann', `had${i}`, max, i), 'added');
        // Every connection of a pooled store opened first, so the adds below start together.
        await Promise.all(racers.map(() => store.contactsOf('ann')));
        // All at once: on a store with several connections each add runs beside the others.
        const results = await Promise.all(racers.map((r, i) => store.addContact('ann', r, max, 100 + i)));
        assert.equal(results.filter((r) => r === 'added').length, 1, `one add wins: ${results.join(' ')}`);
        assert.equal(results.filter((r) => r === 'full').length, racers.length - 1);
        assert.equal((await store.contactsOf('ann')).length, max);
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
