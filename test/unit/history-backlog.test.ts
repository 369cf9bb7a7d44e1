import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HistoryBacklog } from '../../src/cluster/history-backlog';
import { createLogger } from '../../src/log/logger';
import { StoreError, type StoreErrorCode } from '../../src/store/errors';
import type { RoomMessage, Store } from '../../src/store/store';

/** The two Store methods the backlog calls, in memory; `down` fails every call with `code`. */
class MemoryStore {
  rows = new Map<string, RoomMessage>();
  calls: string[] = [];
  down: StoreErrorCode | null = null;

  async appendRoomMessages(batch: RoomMessage[]): Promise<void> {
    this.calls.push(`append ${batch.map((m) => m.seq).join(',')}`);
    if (this.down) throw new StoreError(this.down, 'injected');
    for (const m of batch) if (!this.rows.has(rowKey(m))) this.rows.set(rowKey(m), m);
  }
  async deleteEpochHistory(roomid: string, epoch: string): Promise<void> {
    this.calls.push(`delete ${roomid}/${epoch}`);
    if (this.down) throw new StoreError(this.down, 'injected');
    for (const [k, m] of this.rows) if (m.roomid === roomid && m.epoch === epoch) this.rows.delete(k);
  }
}

const rowKey = (m: RoomMessage): string => `${m.roomid}|${m.epoch}|${m.seq}`;

function message(roomid: string, epoch: string, seq: number, content = `m${seq}`): RoomMessage {
  return { id: `${roomid}-${epoch}-${seq}`, roomid, epoch, seq, identity: 'ann', sender: null, content, ts: seq, recalled: false };
}

function setup(maxBytes = 1 << 20) {
  const store = new MemoryStore();
  const backlog = new HistoryBacklog(store as unknown as Store, maxBytes, createLogger('hub', 'silent'));
  return { store, backlog };
}

test('writes that fail are kept in order and written once the store is back; an ended epoch is not written back after its delete', async () => {
  const { store, backlog } = setup();
  await backlog.write({ kind: 'append', messages: [message('den', 'e1', 1)] });
  store.down = 'STORE_UNREACHABLE';
  await backlog.write({ kind: 'append', messages: [message('den', 'e1', 2)] });
  assert.equal(backlog.pending, true);
  store.down = null;
  // Owed writes go first: the next ones queue behind them, even with the store back.
  await backlog.write({ kind: 'delete-epoch', roomid: 'den', epoch: 'e1' });
  await backlog.write({ kind: 'append', messages: [message('den', 'e2', 1)] });
  assert.deepEqual([...store.rows.keys()], ['den|e1|1'], 'nothing written out of order');
  await backlog.drain();
  assert.equal(backlog.pending, false);
  assert.deepEqual([...store.rows.keys()], ['den|e2|1'], 'e1 deleted after its owed rows, e2 written');
  assert.deepEqual(store.calls, ['append 1', 'append 2', 'append 2', 'delete den/e1', 'append 1']);
  backlog.stop();
});

test('drain rejects with the store error while it is down; the retries write everything by themselves once it is back', async () => {
  const { store, backlog } = setup();
  store.down = 'STORE_UNREACHABLE';
  for (let seq = 1; seq <= 3; seq++) await backlog.write({ kind: 'append', messages: [message('den', 'e1', seq)] });
  assert.equal(backlog.messages, 3);
  await assert.rejects(backlog.drain(), (err: unknown) => err instanceof StoreError && err.code === 'STORE_UNREACHABLE');
  store.down = null;
  const deadline = Date.now() + 10_000;
  while (backlog.pending && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.equal(backlog.pending, false, 'written by the retries, with no call');
  assert.deepEqual([...store.rows.keys()], ['den|e1|1', 'den|e1|2', 'den|e1|3']);
  backlog.stop();
});

test('full at the bound; committed messages kept up to twice it, then dropped; a permanent failure is not retried', async () => {
  const { store, backlog } = setup(65536);
  store.down = 'STORE_UNREACHABLE';
  const big = (seq: number): RoomMessage => message('den', 'e1', seq, 'x'.repeat(20_000));
  for (let seq = 1; seq <= 3; seq++) await backlog.write({ kind: 'append', messages: [big(seq)] });
  assert.equal(backlog.full, false, '3 × ~20 kB under 64 KiB');
  await backlog.write({ kind: 'append', messages: [big(4)] });
  assert.equal(backlog.full, true);
  for (let seq = 5; seq <= 8; seq++) await backlog.write({ kind: 'append', messages: [big(seq)] });
  assert.equal(backlog.messages, 6, 'kept up to twice the bound (6 × ~20 kB), the rest dropped');
  store.down = 'STORE_CONFLICT';
  await backlog.drain();
  assert.equal(backlog.pending, false, 'a conflict is dropped, not retried for ever');
  backlog.stop();
});
