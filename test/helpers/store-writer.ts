/**
 * A child process that appends batches of room messages to a SqliteStore and prints each
 * batch number once its transaction has committed. Tests kill it (-9) mid-way and check the
 * store holds every acknowledged batch, whole, and no partial one.
 *
 *   node dist/test/helpers/store-writer.js <file> <batchSize> <rooms> [firstBatch] [lastBatch]
 *
 * Batches are deterministic (see batchMessages), so a checker can tell exactly what a
 * complete batch looks like and a writer can continue a store another one started.
 */
import assert from 'node:assert/strict';
import { SqliteStore } from '../../src/store/sqlite-store';
import type { RoomMessage, Store } from '../../src/store/store';

/** 60 bytes of content, like a short chat line. */
const PAD = 'x'.repeat(60);

/**
 * Batch `b` (1-based): `batchSize` messages spread round-robin over `rooms` rooms, each room
 * getting the next batchSize/rooms seqs. Content is exactly 60 bytes.
 */
export function batchMessages(b: number, batchSize: number, rooms: number): RoomMessage[] {
  assert.equal(batchSize % rooms, 0, 'batchSize must be a multiple of rooms');
  const perRoom = batchSize / rooms;
  const out: RoomMessage[] = [];
  for (let i = 0; i < batchSize; i++) {
    const roomid = `room${i % rooms}`;
    const seq = (b - 1) * perRoom + Math.floor(i / rooms) + 1;
    out.push({
      id: `b${b}-${i}`,
      roomid,
      seq,
      identity: 'writer',
      content: `${b}:${i}:${PAD}`.slice(0, 60),
      ts: b,
      recalled: false,
    });
  }
  return out;
}

/** Batch number of a message written by batchMessages. */
export function batchOf(message: RoomMessage): number {
  return Number(/^b(\d+)-/.exec(message.id)![1]);
}

/**
 * Checks a store written by batchMessages: per room, seqs 1..last with no gap; every batch
 * present is complete; batches present are exactly 1..n. Returns n.
 */
export async function checkBatches(store: Store, batchSize: number, rooms: number): Promise<number> {
  const perBatch = new Map<number, number>();
  for (let r = 0; r < rooms; r++) {
    const roomid = `room${r}`;
    const last = await store.lastRoomSeq(roomid);
    const all = await store.roomSince(roomid, 0, Number.MAX_SAFE_INTEGER);
    assert.equal(all.length, last, `${roomid}: ${all.length} messages up to seq ${last}`);
    all.forEach((m, i) => assert.equal(m.seq, i + 1, `${roomid}: gap before seq ${m.seq}`));
    for (const m of all) perBatch.set(batchOf(m), (perBatch.get(batchOf(m)) ?? 0) + 1);
  }
  const batches = [...perBatch.keys()].sort((a, b) => a - b);
  batches.forEach((b, i) => {
    assert.equal(b, i + 1, `batch ${i + 1} is missing but ${b} is there`);
    assert.equal(perBatch.get(b), batchSize, `batch ${b} is partial: ${perBatch.get(b)} of ${batchSize}`);
  });
  return batches.length;
}

async function main(): Promise<void> {
  const [file, size, roomCount, first, last] = process.argv.slice(2);
  const batchSize = Number(size);
  const rooms = Number(roomCount);
  const store = new SqliteStore(file!);
  await store.migrate();
  const end = last === undefined ? Infinity : Number(last);
  for (let b = Number(first ?? 1); b <= end; b++) {
    await store.appendRoomMessages(batchMessages(b, batchSize, rooms));
    // stdout to a pipe is synchronous on Linux: the line is out before the next batch.
    process.stdout.write(`${b}\n`);
  }
  await store.close();
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`store-writer: ${String(err)}\n`);
    process.exit(1);
  });
}
