import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ChatState } from '../../src/core/chat-state';
import { Outbox } from '../../src/hub/outbox';
import { RoomSequencer } from '../../src/hub/room-sequencer';
import type { WorkerLink } from '../../src/hub/worker-link';
import { StoreError } from '../../src/store/errors';
import type { RoomMessage, Store } from '../../src/store/store';

/** The part of a Store the sequencer writes to, in memory, failing on demand. */
class MemoryStore {
  messages: RoomMessage[] = [];
  epochs = new Map<string, string>();
  failing = new Set<string>();

  private check(method: string): void {
    if (this.failing.has(method)) throw new StoreError('STORE_UNAVAILABLE', `injected failure of ${method}`);
  }
  async appendRoomMessages(batch: RoomMessage[]): Promise<void> {
    this.check('appendRoomMessages');
    this.messages.push(...batch);
  }
  async setRoomEpoch(roomid: string, epoch: string, restart: boolean): Promise<void> {
    this.check('setRoomEpoch');
    if (restart) this.messages = this.messages.filter((m) => m.roomid !== roomid);
    this.epochs.set(roomid, epoch);
  }
  async deleteRoomHistory(roomid: string): Promise<void> {
    this.check('deleteRoomHistory');
    this.messages = this.messages.filter((m) => m.roomid !== roomid);
    this.epochs.delete(roomid);
  }
}

function setup() {
  const store = new MemoryStore();
  const delivered: Array<{ seq: number; epoch: string; content: string }> = [];
  const link = {
    write(frame: Buffer): void {
      for (const line of frame.toString('utf8').match(/\{"type":"message".*?\}\n/g) ?? []) {
        const m = JSON.parse(line) as { seq: number; epoch: string; content: string };
        delivered.push({ seq: m.seq, epoch: m.epoch, content: m.content });
      }
    },
  } as unknown as WorkerLink;
  const failedSenders: string[][] = [];
  const sequencer = new RoomSequencer(store as unknown as Store, new Outbox(), {
    workersOf: () => [link],
    storeFailed: (_err, senders) => failedSenders.push(senders),
    roomWriteFailed: () => undefined,
  });
  return { store, delivered, failedSenders, sequencer };
}

test('sequencer: a failed batch uses no seq and delivers nothing; the next batch continues at +1', async () => {
  const { store, delivered, failedSenders, sequencer } = setup();
  sequencer.add('w:1', 'den', 'ann', 'one', null);
  sequencer.flush();
  await sequencer.settled();
  store.failing.add('appendRoomMessages');
  sequencer.add('w:1', 'den', 'ann', 'lost a', null);
  sequencer.add('w:2', 'den', 'bob', 'lost b', null);
  sequencer.flush();
  await sequencer.settled();
  store.failing.clear();
  sequencer.add('w:1', 'den', 'ann', 'two', null);
  sequencer.flush();
  await sequencer.settled();
  assert.deepEqual(failedSenders, [['w:1', 'w:2']]);
  assert.deepEqual(delivered.map((d) => [d.seq, d.content]), [[1, 'one'], [2, 'two']]);
  assert.deepEqual(store.messages.map((m) => m.seq), [1, 2]);
  assert.equal(new Set(delivered.map((d) => d.epoch)).size, 1);
  assert.equal(delivered[0]!.epoch, store.epochs.get('den'), 'the epoch is stored before the first message');
});

test('sequencer: a room opened again starts a new epoch at seq 1; closing deletes its history; reads see the current epoch', async () => {
  const { store, delivered, sequencer } = setup();
  sequencer.load(new Map([['den', 5]]), new Map([['den', 'stored']]));
  sequencer.add('w:1', 'den', 'ann', 'six', null);
  sequencer.flush();
  assert.deepEqual(await sequencer.current('den'), { epoch: 'stored', last: 6 });
  sequencer.closeRoom('den');
  sequencer.openRoom('den');
  sequencer.add('w:1', 'den', 'eve', 'fresh', null);
  sequencer.flush();
  await sequencer.settled();
  assert.deepEqual(delivered.map((d) => [d.seq, d.content]), [[6, 'six'], [1, 'fresh']]);
  const now = await sequencer.current('den');
  assert.notEqual(now.epoch, 'stored');
  assert.match(now.epoch, /^[0-9a-f]{16}$/);
  assert.deepEqual(store.messages.map((m) => m.content), ['fresh'], 'nothing of the old room is stored');
});

test('sequencer: a new room whose epoch cannot be stored refuses its messages until it can', async () => {
  const { store, delivered, failedSenders, sequencer } = setup();
  store.failing.add('setRoomEpoch');
  sequencer.openRoom('den');
  sequencer.add('w:1', 'den', 'ann', 'early', null);
  sequencer.flush();
  await assert.rejects(sequencer.current('den'), /injected/);
  store.failing.clear();
  sequencer.add('w:1', 'den', 'ann', 'now', null);
  sequencer.flush();
  await sequencer.settled();
  assert.deepEqual(failedSenders, [['w:1']]);
  assert.deepEqual(delivered.map((d) => [d.seq, d.content]), [[1, 'now']]);
});

test('chat state: creating a room opens a sequence; deleting or abandoning it closes it, once', () => {
  const state = new ChatState();
  state.connect('w:1');
  state.connect('w:2');
  const kinds = (fx: Array<{ kind: string; roomid?: string }>): string[] => fx.filter((f) => f.kind.startsWith('room-')).map((f) => `${f.kind} ${f.roomid}`);
  assert.deepEqual(kinds(state.request('w:1', { type: 'createroom', roomid: 'Club' })), ['room-opened Club']);
  assert.deepEqual(kinds(state.request('w:1', { type: 'createroom', roomid: 'Club' })), [], 'refused: nothing opened');
  state.request('w:1', { type: 'join', roomid: 'Club' });
  assert.deepEqual(kinds(state.request('w:1', { type: 'delete', roomid: 'Club' })), ['room-closed Club']);
  state.request('w:2', { type: 'createroom', roomid: 'Club' });
  state.request('w:2', { type: 'join', roomid: 'Club' });
  assert.deepEqual(kinds(state.request('w:2', { type: 'quit' })), ['room-closed Club'], 'abandoned: no owner, no members');
});
