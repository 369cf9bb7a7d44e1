import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { directMessage, ids, register, rejectsWith, roomMessage, roomMessages, seqs, type WithStore } from './store-fixtures';

/** Store conformance: room history (batches, paging, recall), direct messages and the inbox. */
export function messageTests(withStore: WithStore): void {
  describe('room history', () => {
    test('append and read back every field; lastRoomSeq per room, 0 when none', () =>
      withStore(async (store) => {
        const odd = roomMessage('den', 1, { identity: 'Zoë', sender: 'Zoë', content: 'héllo 👋 "quoted" \n'.repeat(500), ts: 7 });
        await store.appendRoomMessages([odd, roomMessage('den', 2), roomMessage('hall', 1)]);
        assert.deepEqual(await store.getRoomMessage(odd.id), odd);
        assert.equal(await store.getRoomMessage('nope'), null);
        assert.equal(await store.lastRoomSeq('den'), 2);
        assert.equal(await store.lastRoomSeq('hall'), 1);
        assert.equal(await store.lastRoomSeq('empty'), 0);
        assert.deepEqual(await store.lastRoomSeqs(), new Map([['den', 2], ['hall', 1]]));
      }));

    test('lastRoomSeqs is empty on a new store; an empty batch stores nothing', () =>
      withStore(async (store) => {
        await store.appendRoomMessages([]);
        assert.deepEqual(await store.lastRoomSeqs(), new Map());
      }));

    test('a batch with a duplicate (roomid, seq) inside it fails as a whole', () =>
      withStore(async (store) => {
        const batch = [roomMessage('den', 1), roomMessage('den', 2), roomMessage('den', 2, { id: 'other' })];
        await rejectsWith(store.appendRoomMessages(batch), 'STORE_CONFLICT');
        assert.equal(await store.lastRoomSeq('den'), 0);
        assert.equal(await store.getRoomMessage('den#1'), null);
        assert.deepEqual(await store.roomSince('den', 0, 10), []);
      }));

    test('a batch that collides with a stored seq or id fails as a whole', () =>
      withStore(async (store) => {
        await store.appendRoomMessages(roomMessages('den', 1, 2));
        await rejectsWith(store.appendRoomMessages([roomMessage('hall', 1), roomMessage('den', 2, { id: 'x' })]), 'STORE_CONFLICT');
        await rejectsWith(store.appendRoomMessages([roomMessage('hall', 1), roomMessage('hall', 2, { id: 'den#1' })]), 'STORE_CONFLICT');
        assert.equal(await store.lastRoomSeq('hall'), 0);
        assert.equal(await store.getRoomMessage('hall#1'), null);
        assert.deepEqual(seqs(await store.roomSince('den', 0, 10)), [1, 2]);
      }));

    test('a batch appended again stores each message once (a redelivery) and keeps a recall made since', () =>
      withStore(async (store) => {
        const batch = roomMessages('den', 1, 3);
        await store.appendRoomMessages(batch);
        await store.recallRoomMessage('den#2');
        await store.appendRoomMessages(batch);
        await store.appendRoomMessages([...batch.slice(1), roomMessage('den', 4)]);
        await store.appendRoomMessages([roomMessage('hall', 1), roomMessage('hall', 1)]);
        assert.deepEqual(ids(await store.roomSince('den', 0, 10)), ['den#1', 'den#2', 'den#3', 'den#4']);
        assert.deepEqual(await store.getRoomMessage('den#2'), { ...roomMessage('den', 2), content: '', recalled: true });
        assert.deepEqual(await store.lastRoomSeqs(), new Map([['den', 4], ['hall', 1]]));
      }));

    test('roomHistory pages backwards from the newest, each page oldest first', () =>
      withStore(async (store) => {
        await store.appendRoomMessages(roomMessages('den', 1, 10));
        await store.appendRoomMessages(roomMessages('hall', 1, 20));
        assert.deepEqual(seqs(await store.roomHistory('den', null, 3)), [8, 9, 10]);
        assert.deepEqual(seqs(await store.roomHistory('den', 8, 3)), [5, 6, 7]);
        assert.deepEqual(seqs(await store.roomHistory('den', 3, 10)), [1, 2]);
        assert.deepEqual(seqs(await store.roomHistory('den', 1, 10)), []);
        assert.deepEqual(seqs(await store.roomHistory('den', null, 100)), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
        assert.deepEqual(await store.roomHistory('den', null, 0), []);
        assert.deepEqual(await store.roomHistory('nowhere', null, 5), []);
        assert.ok((await store.roomHistory('den', null, 100)).every((m) => m.roomid === 'den'));
      }));

    test('roomSince returns what follows a seq, oldest first, up to the limit', () =>
      withStore(async (store) => {
        await store.appendRoomMessages(roomMessages('den', 1, 10));
        await store.appendRoomMessages(roomMessages('hall', 1, 5));
        assert.deepEqual(seqs(await store.roomSince('den', 0, 3)), [1, 2, 3]);
        assert.deepEqual(seqs(await store.roomSince('den', 8, 5)), [9, 10]);
        assert.deepEqual(await store.roomSince('den', 10, 5), []);
        assert.deepEqual(await store.roomSince('den', 0, 0), []);
        assert.deepEqual(ids(await store.roomSince('hall', 3, 5)), ['hall#4', 'hall#5']);
      }));

    test('recall blanks the content and sets recalled wherever it is read; unknown id is false', () =>
      withStore(async (store) => {
        await store.appendRoomMessages(roomMessages('den', 1, 3));
        assert.equal(await store.recallRoomMessage('den#2'), true);
        assert.equal(await store.recallRoomMessage('den#2'), true, 'recalling again still finds it');
        assert.equal(await store.recallRoomMessage('nope'), false);
        const blank = { ...roomMessage('den', 2), content: '', recalled: true };
        assert.deepEqual(await store.getRoomMessage('den#2'), blank);
        assert.deepEqual((await store.roomHistory('den', null, 10))[1], blank);
        assert.deepEqual((await store.roomSince('den', 1, 1))[0], blank);
        assert.deepEqual(await store.getRoomMessage('den#1'), roomMessage('den', 1), 'neighbours untouched');
      }));
  });

  describe('direct messages and inbox', () => {
    test('a DM not queued is stored but not in any inbox', () =>
      withStore(async (store) => {
        await register(store, 'ann', 'bob');
        const dm = directMessage('d1', 'ann', 'bob', 10);
        assert.equal(await store.appendDirectMessage(dm, false), null);
        assert.deepEqual(await store.getDirectMessage('d1'), dm);
        assert.equal(await store.getDirectMessage('nope'), null);
        assert.deepEqual(await store.pendingInbox('bob', 0, 10), []);
      }));

    test('queued DMs get increasing seqs per recipient and come out oldest first', () =>
      withStore(async (store) => {
        await register(store, 'ann', 'bob', 'cat');
        const s1 = await store.appendDirectMessage(directMessage('d1', 'ann', 'bob', 10), true);
        const s2 = await store.appendDirectMessage(directMessage('d2', 'cat', 'bob', 11), true);
        const sc = await store.appendDirectMessage(directMessage('d3', 'bob', 'cat', 12), true);
        const s3 = await store.appendDirectMessage(directMessage('d4', 'ann', 'bob', 13), true);
        assert.ok(s1 !== null && s2 !== null && s3 !== null && sc !== null);
        assert.ok(s1 < s2 && s2 < s3, `${s1} < ${s2} < ${s3}`);
        const inbox = await store.pendingInbox('bob', 0, 10);
        assert.deepEqual(seqs(inbox), [s1, s2, s3]);
        assert.deepEqual(inbox[0]!.message, directMessage('d1', 'ann', 'bob', 10));
        assert.deepEqual(ids((await store.pendingInbox('bob', 0, 2)).map((e) => e.message)), ['d1', 'd2']);
        assert.deepEqual(ids((await store.pendingInbox('bob', s1, 10)).map((e) => e.message)), ['d2', 'd4']);
        assert.deepEqual(ids((await store.pendingInbox('cat', 0, 10)).map((e) => e.message)), ['d3']);
        assert.deepEqual(await store.pendingInbox('ann', 0, 10), []);
        assert.deepEqual(await store.pendingInbox('bob', 0, 0), []);
      }));

    test('ack removes entries up to and including the seq; seqs are never handed out again', () =>
      withStore(async (store) => {
        await register(store, 'ann', 'bob');
        const s1 = (await store.appendDirectMessage(directMessage('d1', 'ann', 'bob', 1), true))!;
        const s2 = (await store.appendDirectMessage(directMessage('d2', 'ann', 'bob', 2), true))!;
        const s3 = (await store.appendDirectMessage(directMessage('d3', 'ann', 'bob', 3), true))!;
        await store.ackInbox('bob', s2);
        assert.deepEqual(seqs(await store.pendingInbox('bob', 0, 10)), [s3]);
        await store.ackInbox('bob', s1);
        await store.ackInbox('bob', s3);
        assert.deepEqual(await store.pendingInbox('bob', 0, 10), []);
        const s4 = (await store.appendDirectMessage(directMessage('d4', 'ann', 'bob', 4), true))!;
        assert.ok(s4 > s3, `${s4} > ${s3}`);
        assert.deepEqual(seqs(await store.pendingInbox('bob', s3, 10)), [s4]);
        assert.equal((await store.directHistory('ann', 'bob', null, 10)).messages.length, 4, 'acked DMs stay in history');
      }));

    test('DMs to or from an unknown account are refused and leave nothing behind', () =>
      withStore(async (store) => {
        await register(store, 'ann');
        await rejectsWith(store.appendDirectMessage(directMessage('d1', 'ann', 'ghost', 1), true), 'STORE_UNKNOWN_ACCOUNT');
        await rejectsWith(store.appendDirectMessage(directMessage('d2', 'ghost', 'ann', 1), false), 'STORE_UNKNOWN_ACCOUNT');
        assert.equal(await store.getDirectMessage('d1'), null);
        assert.equal(await store.getDirectMessage('d2'), null);
      }));

    test('a DM with a used id fails as a whole: no second inbox entry', () =>
      withStore(async (store) => {
        await register(store, 'ann', 'bob');
        await store.appendDirectMessage(directMessage('d1', 'ann', 'bob', 1), true);
        await rejectsWith(store.appendDirectMessage(directMessage('d1', 'ann', 'bob', 2), true), 'STORE_CONFLICT');
        assert.equal((await store.pendingInbox('bob', 0, 10)).length, 1);
        assert.equal((await store.getDirectMessage('d1'))?.ts, 1);
      }));

    test('directHistory is the same conversation from either side, paged back by ts, oldest first', () =>
      withStore(async (store) => {
        await register(store, 'ann', 'bob', 'cat');
        await store.appendDirectMessage(directMessage('d1', 'ann', 'bob', 10), false);
        await store.appendDirectMessage(directMessage('d2', 'bob', 'ann', 20), true);
        await store.appendDirectMessage(directMessage('x1', 'ann', 'cat', 25), false);
        await store.appendDirectMessage(directMessage('d3', 'ann', 'bob', 30), false);
        await store.appendDirectMessage(directMessage('d4', 'bob', 'ann', 40), false);
        const all = (await store.directHistory('ann', 'bob', null, 10)).messages;
        assert.deepEqual(ids(all), ['d1', 'd2', 'd3', 'd4']);
        assert.deepEqual((await store.directHistory('bob', 'ann', null, 10)).messages, all);
        assert.deepEqual(all[1], directMessage('d2', 'bob', 'ann', 20));
        assert.deepEqual(ids((await store.directHistory('ann', 'bob', null, 2)).messages), ['d3', 'd4']);
        assert.deepEqual(ids((await store.directHistory('bob', 'ann', 30, 10)).messages), ['d1', 'd2']);
        assert.deepEqual(ids((await store.directHistory('ann', 'bob', 10, 10)).messages), []);
        assert.deepEqual((await store.directHistory('ann', 'bob', null, 0)).messages, []);
        assert.deepEqual(ids((await store.directHistory('cat', 'ann', null, 10)).messages), ['x1']);
        assert.deepEqual((await store.directHistory('bob', 'cat', null, 10)).messages, []);
      }));

    test('DMs of the same millisecond keep the order they were stored in', () =>
      withStore(async (store) => {
        await register(store, 'ann', 'bob');
        for (const id of ['z', 'a', 'm']) await store.appendDirectMessage(directMessage(id, 'ann', 'bob', 5), false);
        assert.deepEqual(ids((await store.directHistory('bob', 'ann', null, 10)).messages), ['z', 'a', 'm']);
        assert.deepEqual(ids((await store.directHistory('bob', 'ann', null, 2)).messages), ['a', 'm']);
      }));

    test('recall blanks a DM in getDirectMessage, history and inbox; unknown id is false', () =>
      withStore(async (store) => {
        await register(store, 'ann', 'bob');
        await store.appendDirectMessage(directMessage('d1', 'ann', 'bob', 1), true);
        assert.equal(await store.recallDirectMessage('d1'), true);
        assert.equal(await store.recallDirectMessage('nope'), false);
        const blank = { ...directMessage('d1', 'ann', 'bob', 1), content: '', recalled: true };
        assert.deepEqual(await store.getDirectMessage('d1'), blank);
        assert.deepEqual((await store.directHistory('ann', 'bob', null, 1)).messages, [blank]);
        assert.deepEqual((await store.pendingInbox('bob', 0, 1))[0]?.message, blank);
      }));
  });
}
