import { randomBytes, randomUUID } from 'node:crypto';
import type { RoomMessage, Store } from '../../src/store/store';

/**
 * Timed `appendRoomMessages` into any Store: the room-message ingest rate a history writer
 * sustains with batches of a given size (one call, one transaction per batch, as the hub
 * hands them over). Used by bench/store-ingest.ts (SQLite, PostgreSQL) and by the cluster
 * benchmark (PostgreSQL).
 */

/** Rooms the messages are spread over, round robin. */
export const INGEST_ROOMS = 8;
const CONTENT = 'x'.repeat(60);

export type IdKind = 'v4' | 'v7';

/** RFC 9562 UUIDv7: 48-bit ms timestamp, then random bits; sorts by creation time. */
export function uuidV7(): string {
  const b = randomBytes(16);
  b.writeUIntBE(Date.now(), 0, 6);
  b[6] = (b[6]! & 0x0f) | 0x70;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

const newId: Record<IdKind, () => string> = { v4: randomUUID, v7: uuidV7 };

export interface IngestRun {
  messagesPerSec: number;
  /** Mean time of one appendRoomMessages call, in microseconds. */
  batchUs: number;
  /** Messages stored in the run. */
  messages: number;
}

/**
 * `count` batches of `batchSize` 60-byte messages over INGEST_ROOMS rooms, seqs continuing
 * from `firstSeq` in every room. Built before timing starts: the bench measures the store.
 */
export function makeBatches(batchSize: number, count: number, ids: IdKind, firstSeq: number): RoomMessage[][] {
  const seqs = new Array<number>(INGEST_ROOMS).fill(firstSeq - 1);
  const now = Date.now();
  let n = 0;
  const batches: RoomMessage[][] = [];
  for (let b = 0; b < count; b++) {
    const batch: RoomMessage[] = [];
    for (let i = 0; i < batchSize; i++, n++) {
      const room = n % INGEST_ROOMS;
      batch.push({ id: newId[ids](), roomid: `room${room}`, seq: ++seqs[room]!, identity: 'bench', content: CONTENT, ts: now, recalled: false });
    }
    batches.push(batch);
  }
  return batches;
}

/**
 * Appends pre-built batches, one call at a time, for about `seconds` (or until the batches
 * run out); the rate is messages stored over the time taken. `maxRate` sizes the batches
 * built beforehand: a generous bound of what the store may take.
 */
export async function timedIngest(store: Store, batchSize: number, seconds: number, opts: { ids: IdKind; firstSeq: number; maxRate: number }): Promise<IngestRun> {
  const batches = makeBatches(batchSize, Math.ceil((opts.maxRate * seconds) / batchSize) + 1, opts.ids, opts.firstSeq);
  const deadline = process.hrtime.bigint() + BigInt(Math.round(seconds * 1e9));
  const start = process.hrtime.bigint();
  let done = 0;
  while (done < batches.length && process.hrtime.bigint() < deadline) {
    await store.appendRoomMessages(batches[done]!);
    done++;
  }
  const elapsedNs = Number(process.hrtime.bigint() - start);
  return { messagesPerSec: (done * batchSize * 1e9) / elapsedNs, batchUs: elapsedNs / 1e3 / Math.max(1, done), messages: done * batchSize };
}
