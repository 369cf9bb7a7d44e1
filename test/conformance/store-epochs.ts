import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { RoomMessage } from '../../src/store/store';
import { ids, register, rejectsWith, roomMessage, roomMessages, seqs, type WithStore } from './store-fixtures';

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

    // A cluster's nodes write one store, each what it applies, behind one another (docs/CLUSTER.md).
    test('messages stored under an epoch stay apart from other epochs and from unlabelled ones; read by epoch', () =>
      withStore(async (store) => {
        await store.appendRoomMessages(under('den', 'e1', 1, 3));
        await store.appendRoomMessages(under('den', 'e2', 1, 2));
        await store.appendRoomMessages(roomMessages('den', 1, 1));
        assert.deepEqual(ids(await store.roomSince('den', 0, 10, 'e1')), ['e1/den#1', 'e1/den#2', 'e1/den#3']);
        assert.deepEqual(ids(await store.roomSince('den', 1, 10, 'e2')), ['e2/den#2']);
        assert.deepEqual(ids(await store.roomHistory('den', 3, 10, 'e1')), ['e1/den#1', 'e1/den#2']);
        assert.deepEqual(ids(await store.roomHistory('den', null, 1, 'e2')), ['e2/den#2']);
        assert.deepEqual(ids(await store.roomSince('den', 0, 10)), ['den#1'], 'unlabelled: only the unlabelled');
        assert.deepEqual(await store.roomSince('den', 0, 10, 'e9'), []);
        assert.equal(await store.lastRoomSeq('den'), 1, 'lastRoomSeq counts the unlabelled sequence');
        assert.deepEqual(await store.lastRoomSeqs(), new Map([['den', 1]]));
        const { epoch: _written, ...stored } = under('den', 'e1', 2, 2)[0]!;
        assert.deepEqual(await store.getRoomMessage('e1/den#2'), stored, 'read back without its epoch');
        await store.appendRoomMessages(under('hall', 'h1', 1, 1));
        assert.deepEqual(await store.lastRoomSeqs(), new Map([['den', 1]]), 'a room with labelled messages only has no unlabelled sequence');
      }));

    test('an epoch written again (by every node) stores each message once; a different message under its key or id is STORE_CONFLICT', () =>
      withStore(async (store) => {
        const batch = under('den', 'e1', 1, 3);
        await Promise.all([store.appendRoomMessages(batch), store.appendRoomMessages(batch.slice(1)), store.appendRoomMessages(batch)]);
        await store.recallRoomMessage('e1/den#2');
        await store.appendRoomMessages([...batch, ...under('den', 'e1', 4, 4)]);
        assert.deepEqual(seqs(await store.roomSince('den', 0, 10, 'e1')), [1, 2, 3, 4]);
        assert.equal((await store.getRoomMessage('e1/den#2'))?.recalled, true, 'a recall made since is kept');
        await rejectsWith(store.appendRoomMessages([roomMessage('den', 2, { id: 'impostor', epoch: 'e1' })]), 'STORE_CONFLICT');
        await rejectsWith(store.appendRoomMessages([roomMessage('den', 9, { id: 'e1/den#1', epoch: 'e1' })]), 'STORE_CONFLICT');
        await rejectsWith(store.appendRoomMessages([roomMessage('den', 1, { id: 'e1/den#1', epoch: 'e2' })]), 'STORE_CONFLICT');
        assert.deepEqual(await store.roomSince('den', 0, 10, 'e2'), [], 'nothing of a refused batch');
      }));

    test('deleteEpochHistory deletes one epoch only, idempotently; a late write of an epoch that is over never shows under the new one', () =>
      withStore(async (store) => {
        await store.appendRoomMessages([...under('den', 'e1', 1, 3), ...under('den', 'e2', 1, 2), ...under('hall', 'e1', 1, 1)]);
        await store.appendRoomMessages(roomMessages('den', 1, 2));
        await store.deleteEpochHistory('den', 'e1');
        await store.deleteEpochHistory('den', 'e1');
        await store.deleteEpochHistory('never', 'e1');
        assert.deepEqual(await store.roomSince('den', 0, 10, 'e1'), []);
        assert.equal(await store.getRoomMessage('e1/den#2'), null);
        assert.deepEqual(seqs(await store.roomSince('den', 0, 10, 'e2')), [1, 2], 'the newer epoch untouched');
        assert.deepEqual(seqs(await store.roomSince('den', 0, 10)), [1, 2], 'the unlabelled untouched');
        assert.deepEqual(seqs(await store.roomSince('hall', 0, 10, 'e1')), [1], 'another room\'s epoch of the same name untouched');
        // A node running behind writes the old epoch again after another deleted it: the new epoch's reads never see it.
        await store.appendRoomMessages(under('den', 'e1', 1, 3));
        assert.deepEqual(ids(await store.roomHistory('den', null, 10, 'e2')), ['e2/den#1', 'e2/den#2']);
        await store.deleteEpochHistory('den', 'e1');
        await store.deleteRoomHistory('den');
        assert.deepEqual(await store.roomSince('den', 0, 10, 'e2'), [], 'deleteRoomHistory takes every epoch');
        assert.deepEqual(seqs(await store.roomSince('hall', 0, 10, 'e1')), [1]);
      }));

    test('storedEpochs: the epochs a room\'s messages are under, with their counts, oldest (by newest message) first', () =>
      withStore(async (store) => {
        assert.deepEqual(await store.storedEpochs('den'), []);
        const late = (ms: RoomMessage[], by: number): RoomMessage[] => ms.map((m) => ({ ...m, ts: m.ts + by }));
        await store.appendRoomMessages([...late(under('den', 'new', 1, 2), 1000), ...under('den', 'old', 1, 3), ...under('hall', 'x', 1, 1)]);
        await store.appendRoomMessages(roomMessages('den', 1, 1));
        assert.deepEqual(await store.storedEpochs('den'), [
          { epoch: '', messages: 1, lastTs: 1_700_000_000_001 },
          { epoch: 'old', messages: 3, lastTs: 1_700_000_000_003 },
          { epoch: 'new', messages: 2, lastTs: 1_700_000_001_002 },
        ]);
        await store.deleteEpochHistory('den', 'old');
        assert.deepEqual((await store.storedEpochs('den')).map((e) => e.epoch), ['', 'new']);
      }));
  });
}

/** Messages seq from..to of one room under `epoch`, with ids of their own (`<epoch>/<room>#<seq>`). */
function under(roomid: string, epoch: string, from: number, to: number): RoomMessage[] {
  return roomMessages(roomid, from, to).map((m) => ({ ...m, id: `${epoch}/${m.id}`, epoch }));
}
