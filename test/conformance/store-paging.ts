import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Store } from '../../src/store/store';
import { directMessage, ids, register, rejectsWith, seqs, type WithStore } from './store-fixtures';

/** Every DM of the conversation, paged back from the newest with `next`, oldest first. */
async function pageAll(store: Store, a: string, b: string, limit: number): Promise<{ ids: string[]; pages: number }> {
  const pages: string[][] = [];
  let cursor: number | null = null;
  for (;;) {
    const page = await store.directHistory(a, b, null, limit, cursor);
    assert.ok(page.messages.length <= limit);
    pages.unshift(ids(page.messages));
    if (page.next === null) break;
    assert.equal(page.messages.length, limit, 'only the oldest page may be short');
    cursor = page.next;
    assert.ok(pages.length <= 1000, 'paging must end');
  }
  return { ids: pages.flat(), pages: pages.length };
}

/** Store conformance: DM paging by cursor, and the inbox's size and limits. */
export function pagingTests(withStore: WithStore): void {
  describe('direct message paging', () => {
    test('pages by cursor reach every DM exactly once, however many share a millisecond', () =>
      withStore(async (store) => {
        await register(store, 'ann', 'bob', 'cat');
        const sent: string[] = [];
        // 45 DMs: runs of up to 9 in one ms, both directions, other conversations interleaved.
        for (let i = 0; i < 45; i++) {
          const id = `d${i}`;
          await store.appendDirectMessage(directMessage(id, i % 2 ? 'ann' : 'bob', i % 2 ? 'bob' : 'ann', 100 + Math.floor(i / 9)), i % 3 === 0);
          await store.appendDirectMessage(directMessage(`x${i}`, 'ann', 'cat', 100), false);
          sent.push(id);
        }
        for (const limit of [1, 7, 20, 45, 200]) {
          const { ids: got, pages } = await pageAll(store, 'bob', 'ann', limit);
          assert.deepEqual(got, sent, `limit ${limit}`);
          assert.equal(pages, Math.max(1, Math.ceil(45 / limit)), `limit ${limit}: no empty last page`);
        }
      }));

    test('next is null on the oldest page; `before` (ms) still starts a page; an unknown cursor gives nothing', () =>
      withStore(async (store) => {
        await register(store, 'ann', 'bob', 'cat');
        for (const [id, ts] of [['a', 5], ['b', 5], ['c', 6], ['d', 7]] as const) await store.appendDirectMessage(directMessage(id, 'ann', 'bob', ts), false);
        await store.appendDirectMessage(directMessage('other', 'ann', 'cat', 5), false);
        assert.deepEqual(await store.directHistory('ann', 'bob', null, 4), { messages: (await store.directHistory('ann', 'bob', null, 10)).messages, next: null });
        const newest = await store.directHistory('ann', 'bob', null, 3);
        assert.deepEqual(ids(newest.messages), ['b', 'c', 'd']);
        assert.notEqual(newest.next, null);
        assert.deepEqual(ids((await store.directHistory('ann', 'bob', null, 3, newest.next)).messages), ['a']);
        const byTs = await store.directHistory('ann', 'bob', 6, 1);
        assert.deepEqual(ids(byTs.messages), ['b']);
        assert.deepEqual(ids((await store.directHistory('bob', 'ann', 6, 1, byTs.next)).messages), ['a'], 'the cursor wins over before');
        const otherPair = await store.directHistory('ann', 'cat', null, 1);
        assert.deepEqual(await store.directHistory('ann', 'bob', null, 5, 10_000), { messages: [], next: null });
        assert.equal(otherPair.next, null);
        const foreign = (await store.directHistory('ann', 'bob', null, 1)).next!;
        assert.deepEqual(await store.directHistory('ann', 'cat', null, 5, foreign), { messages: [], next: null }, "another conversation's cursor");
      }));
  });

  describe('inbox size and limits', () => {
    test('inboxSize counts waiting entries and their UTF-8 bytes; acked ones leave it', () =>
      withStore(async (store) => {
        await register(store, 'ann', 'bob');
        assert.deepEqual(await store.inboxSize('bob'), { messages: 0, bytes: 0 });
        assert.deepEqual(await store.inboxSize('nobody'), { messages: 0, bytes: 0 });
        const s1 = (await store.appendDirectMessage(directMessage('d1', 'ann', 'bob', 1, { content: 'héllo' }), true))!;
        await store.appendDirectMessage(directMessage('d2', 'ann', 'bob', 2, { content: '👋' }), true);
        await store.appendDirectMessage(directMessage('d3', 'ann', 'bob', 3, { content: 'not queued' }), false);
        assert.deepEqual(await store.inboxSize('bob'), { messages: 2, bytes: 6 + 4 });
        await store.ackInbox('bob', s1);
        assert.deepEqual(await store.inboxSize('bob'), { messages: 1, bytes: 4 });
        await store.recallDirectMessage('d2');
        assert.deepEqual(await store.inboxSize('bob'), { messages: 1, bytes: 0 }, 'a recalled DM is blank');
      }));

    test('a DM over either limit is refused whole with STORE_INBOX_FULL; room is made by acks', () =>
      withStore(async (store) => {
        await register(store, 'ann', 'bob');
        const limits = { messages: 3, bytes: 30 };
        const ok: number[] = [];
        for (let i = 1; i <= 3; i++) ok.push((await store.appendDirectMessage(directMessage(`d${i}`, 'ann', 'bob', i, { content: '0123456789' }), true, limits))!);
        await rejectsWith(store.appendDirectMessage(directMessage('d4', 'ann', 'bob', 4, { content: 'x' }), true, limits), 'STORE_INBOX_FULL');
        assert.equal(await store.getDirectMessage('d4'), null, 'not stored at all');
        assert.equal((await store.directHistory('ann', 'bob', null, 10)).messages.length, 3);
        assert.equal(await store.appendDirectMessage(directMessage('live', 'ann', 'bob', 5), false, limits), null, 'a DM not queued is not limited');
        await store.ackInbox('bob', ok[0]!);
        await rejectsWith(store.appendDirectMessage(directMessage('big', 'ann', 'bob', 6, { content: '01234567890' }), true, limits), 'STORE_INBOX_FULL');
        const s = await store.appendDirectMessage(directMessage('fits', 'ann', 'bob', 7, { content: '0123456789' }), true, limits);
        assert.ok(s !== null && s > ok[2]!);
        assert.deepEqual(seqs(await store.pendingInbox('bob', 0, 10)), [ok[1], ok[2], s]);
        assert.deepEqual(await store.inboxSize('bob'), { messages: 3, bytes: 30 });
      }));
  });
}
