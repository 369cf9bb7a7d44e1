import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { register, roomMessage, roomMessages, seqs, type WithStore } from './store-fixtures';

/**
 * Store conformance: room epochs. A room's seq is meaningful with its epoch; a new epoch that
 * restarts the sequence takes the old messages away with it, so nothing of an older room is
 * ever read under the new one (history, since, recall by id, lastRoomSeq).
 */
export function epochTests(withStore: WithStore): void {
  describe('room epochs', () => {
    test('a new store has none; set, replace and read back per room', () =>
      withStore(async (store) => {
        assert.deepEqual(await store.roomEpochs(), new Map());
        await store.setRoomEpoch('den', 'e1', false);
        await store.setRoomEpoch('hall', 'h1', false);
        await store.setRoomEpoch('den', 'e2', false);
        assert.deepEqual(await store.roomEpochs(), new Map([['den', 'e2'], ['hall', 'h1']]));
      }));

    test('without restart the messages stay; with restart they go, in the same step, and seq 1 is free again', () =>
      withStore(async (store) => {
        await store.setRoomEpoch('den', 'e1', false);
        await store.appendRoomMessages(roomMessages('den', 1, 3));
        await store.appendRoomMessages(roomMessages('hall', 1, 2));
        await store.setRoomEpoch('den', 'e2', false);
        assert.deepEqual(seqs(await store.roomSince('den', 0, 10)), [1, 2, 3], 'a relabelled sequence keeps its messages');
        await store.setRoomEpoch('den', 'e3', true);
        assert.equal(await store.lastRoomSeq('den'), 0);
        assert.deepEqual(await store.roomHistory('den', null, 10), []);
        assert.equal(await store.getRoomMessage('den#2'), null, 'an old message is not found by id either');
        assert.equal(await store.recallRoomMessage('den#2'), false);
        await store.appendRoomMessages([roomMessage('den', 1, { id: 'new#1', content: 'fresh' })]);
        assert.deepEqual((await store.roomSince('den', 0, 10)).map((m) => m.content), ['fresh']);
        assert.deepEqual(seqs(await store.roomSince('hall', 0, 10)), [1, 2], 'other rooms untouched');
        assert.equal((await store.roomEpochs()).get('den'), 'e3');
      }));

    test('deleteRoomHistory removes messages and epoch; unknown rooms are a no-op', () =>
      withStore(async (store) => {
        await register(store, 'ann');
        await store.saveRoom({ roomid: 'den', owner: 'ann', createdAt: 1 });
        await store.setRoomEpoch('den', 'e1', false);
        await store.appendRoomMessages(roomMessages('den', 1, 2));
        await store.deleteRoomHistory('den');
        await store.deleteRoomHistory('never');
        assert.deepEqual(await store.roomEpochs(), new Map());
        assert.deepEqual(await store.lastRoomSeqs(), new Map());
        assert.deepEqual(await store.listRooms(), [{ roomid: 'den', owner: 'ann', createdAt: 1 }], 'the room record is deleteRoom\'s');
      }));
  });
}
