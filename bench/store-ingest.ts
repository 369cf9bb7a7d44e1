/**
 * Store ingest rate: how many room messages a second `appendRoomMessages` stores, for
 * batches of 1, 10, 100 and 1000 messages of 60 bytes spread over 8 rooms (as the hub
 * hands them over: one transaction per batch). Each run starts from its own copy of the
 * same base store (empty, or `--prefill` messages) and lasts about a second; the table
 * shows the median of the runs.
 *
 *   npx tsc -p . && node dist/bench/store-ingest.js [--runs 3] [--seconds 1] [--prefill 0]
 *                                                   [--ids v4|v7] [--full]
 *
 * `--ids`: message ids as random UUIDv4 (what the hub makes today) or time-ordered UUIDv7.
 * The id is a unique index, and random keys dirty one index page per message, so v4 costs
 * more as the store grows; `--prefill 1000000` shows it. Both kinds run when not given.
 * `--full` switches the connection to synchronous=FULL (an fsync per commit) to show what
 * durability against power loss would cost; the store itself runs NORMAL.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SqliteStore } from '../src/store/sqlite-store';
import type { RoomMessage } from '../src/store/store';

const BATCH_SIZES = [1, 10, 100, 1000];
const ROOMS = 8;
const CONTENT = 'x'.repeat(60);

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const runs = flag('--runs', 3);
const seconds = flag('--seconds', 1);
const prefill = flag('--prefill', 0);
const full = process.argv.includes('--full');
const idsArg = process.argv.indexOf('--ids');
const idKinds: IdKind[] = idsArg >= 0 ? [process.argv[idsArg + 1] as IdKind] : ['v4', 'v7'];

type IdKind = 'v4' | 'v7';

/** RFC 9562 UUIDv7: 48-bit ms timestamp, then random bits; sorts by creation time. */
function uuidV7(): string {
  const b = randomBytes(16);
  b.writeUIntBE(Date.now(), 0, 6);
  b[6] = (b[6]! & 0x0f) | 0x70;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

const newId: Record<IdKind, () => string> = { v4: randomUUID, v7: uuidV7 };

interface Run {
  messagesPerSec: number;
  /** Mean time of one appendRoomMessages call, in microseconds. */
  batchUs: number;
}

/**
 * Messages are built before timing starts: the bench measures the store, not the generator.
 * Seqs continue from `firstSeq` in every room (the prefill leaves each room there).
 */
function makeBatches(batchSize: number, count: number, ids: IdKind, firstSeq: number): RoomMessage[][] {
  const seqs = new Array<number>(ROOMS).fill(firstSeq - 1);
  const now = Date.now();
  let n = 0;
  const batches: RoomMessage[][] = [];
  for (let b = 0; b < count; b++) {
    const batch: RoomMessage[] = [];
    for (let i = 0; i < batchSize; i++, n++) {
      const room = n % ROOMS;
      batch.push({ id: newId[ids](), roomid: `room${room}`, seq: ++seqs[room]!, identity: 'bench', content: CONTENT, ts: now, recalled: false });
    }
    batches.push(batch);
  }
  return batches;
}

/** A closed store file holding `prefill` messages (a multiple of ROOMS * 1000). */
async function makeBase(dir: string, ids: IdKind): Promise<{ file: string; nextSeq: number }> {
  const file = path.join(dir, `base-${ids}.db`);
  const store = new SqliteStore(file);
  await store.migrate();
  const batches = Math.ceil(prefill / (ROOMS * 1000));
  for (const batch of makeBatches(ROOMS * 1000, batches, ids, 1)) await store.appendRoomMessages(batch);
  await store.close();
  return { file, nextSeq: batches * 1000 + 1 };
}

async function runOnce(base: { file: string; nextSeq: number }, batchSize: number, ids: IdKind): Promise<Run> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sb-ingest-'));
  const file = path.join(dir, 'switchboard.db');
  fs.copyFileSync(base.file, file);
  const store = new SqliteStore(file);
  try {
    await store.migrate();
    if (full) store['db'].pragma('synchronous = FULL');
    // Enough pre-built batches for `seconds` at a generous rate; stop early when time is up.
    const batches = makeBatches(batchSize, Math.ceil((400_000 * seconds) / batchSize) + 1, ids, base.nextSeq);
    const deadline = process.hrtime.bigint() + BigInt(Math.round(seconds * 1e9));
    const start = process.hrtime.bigint();
    let done = 0;
    while (done < batches.length && process.hrtime.bigint() < deadline) {
      await store.appendRoomMessages(batches[done]!);
      done++;
    }
    const elapsedNs = Number(process.hrtime.bigint() - start);
    return { messagesPerSec: (done * batchSize * 1e9) / elapsedNs, batchUs: elapsedNs / 1e3 / done };
  } finally {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function main(): Promise<void> {
  console.log(`store ingest: SqliteStore, synchronous=${full ? 'FULL' : 'NORMAL'}, ${ROOMS} rooms, 60-byte messages, ` +
    `prefill ${prefill}, median of ${runs} runs of ${seconds}s, tmpdir ${os.tmpdir()}, load ${os.loadavg()[0]!.toFixed(1)}`);
  console.log('| ids | batch | messages/s (median) | runs (messages/s) | µs per batch |');
  console.log('| --- | ---: | ---: | --- | ---: |');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sb-ingest-base-'));
  try {
    for (const ids of idKinds) {
      const base = await makeBase(dir, ids);
      for (const size of BATCH_SIZES) {
        const results: Run[] = [];
        for (let r = 0; r < runs; r++) results.push(await runOnce(base, size, ids));
        const rates = results.map((x) => x.messagesPerSec);
        const fmt = (v: number) => Math.round(v).toLocaleString('en-US');
        const us = median(results.map((x) => x.batchUs)).toFixed(1);
        console.log(`| ${ids} | ${size} | ${fmt(median(rates))} | ${rates.map(fmt).join(', ')} | ${us} |`);
      }
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
