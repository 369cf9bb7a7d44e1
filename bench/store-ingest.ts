/**
 * Store ingest rate: how many room messages a second `appendRoomMessages` stores, for
 * batches of 1, 10, 100 and 1000 messages of 60 bytes spread over 8 rooms (as the hub
 * hands them over: one transaction per batch). Each run starts from its own copy of the
 * same base store (empty, or `--prefill` messages) and lasts about a second; the table
 * shows the median of the runs.
 *
 *   npx tsc -p . && node dist/bench/store-ingest.js [--store sqlite|postgres] [--runs 3] [--seconds 1]
 *                                                   [--prefill 0] [--ids v4|v7] [--full]
 *
 * `--store postgres`: the PostgreSQL Store on a fresh database per run, made on the server
 * of $SB_BENCH_POSTGRES (default postgres://postgres@127.0.0.1:5432) and dropped after;
 * `--prefill` applies to SQLite only.
 * `--ids`: message ids as random UUIDv4 or time-ordered UUIDv7 (what the hub makes). The id
 * is a unique index, and random keys dirty one index page per message, so v4 costs more as
 * the store grows; `--prefill 1000000` shows it. Both kinds run when not given.
 * `--full` switches the SQLite connection to synchronous=FULL (an fsync per commit) to show
 * what durability against power loss would cost; the store itself runs NORMAL.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PostgresStore } from '../src/store/postgres-store';
import { SqliteStore } from '../src/store/sqlite-store';
import { INGEST_ROOMS, makeBatches, timedIngest, type IdKind, type IngestRun } from './lib/ingest';
import { BENCH_POSTGRES, createBenchDatabase, dropBenchDatabase } from './lib/postgres-db';

const BATCH_SIZES = [1, 10, 100, 1000];
/** A generous bound of messages a second either store takes: sizes the pre-built batches. */
const MAX_RATE = 400_000;

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
const storeArg = process.argv.indexOf('--store');
const storeKind = storeArg >= 0 ? process.argv[storeArg + 1] : 'sqlite';

/** A closed store file holding `prefill` messages (a multiple of INGEST_ROOMS * 1000). */
async function makeBase(dir: string, ids: IdKind): Promise<{ file: string; nextSeq: number }> {
  const file = path.join(dir, `base-${ids}.db`);
  const store = new SqliteStore(file);
  await store.migrate();
  const batches = Math.ceil(prefill / (INGEST_ROOMS * 1000));
  for (const batch of makeBatches(INGEST_ROOMS * 1000, batches, ids, 1)) await store.appendRoomMessages(batch);
  await store.close();
  return { file, nextSeq: batches * 1000 + 1 };
}

async function runSqlite(base: { file: string; nextSeq: number }, batchSize: number, ids: IdKind): Promise<IngestRun> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sb-ingest-'));
  const file = path.join(dir, 'switchboard.db');
  fs.copyFileSync(base.file, file);
  const store = new SqliteStore(file);
  try {
    await store.migrate();
    if (full) store['db'].pragma('synchronous = FULL');
    return await timedIngest(store, batchSize, seconds, { ids, firstSeq: base.nextSeq, maxRate: MAX_RATE });
  } finally {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function runPostgres(batchSize: number, ids: IdKind): Promise<IngestRun> {
  const url = await createBenchDatabase();
  const store = new PostgresStore(url);
  try {
    await store.migrate();
    return await timedIngest(store, batchSize, seconds, { ids, firstSeq: 1, maxRate: MAX_RATE });
  } finally {
    await store.close();
    await dropBenchDatabase(url);
  }
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function main(): Promise<void> {
  if (storeKind !== 'sqlite' && storeKind !== 'postgres') throw new Error('--store is sqlite or postgres');
  const what = storeKind === 'sqlite' ? `SqliteStore, synchronous=${full ? 'FULL' : 'NORMAL'}, prefill ${prefill}, tmpdir ${os.tmpdir()}` : `PostgresStore on ${BENCH_POSTGRES}, a fresh database per run`;
  console.log(`store ingest: ${what}, ${INGEST_ROOMS} rooms, 60-byte messages, median of ${runs} runs of ${seconds}s, load ${os.loadavg()[0]!.toFixed(1)}`);
  console.log('| ids | batch | messages/s (median) | runs (messages/s) | µs per batch |');
  console.log('| --- | ---: | ---: | --- | ---: |');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sb-ingest-base-'));
  try {
    for (const ids of idKinds) {
      const base = storeKind === 'sqlite' ? await makeBase(dir, ids) : null;
      for (const size of BATCH_SIZES) {
        const results: IngestRun[] = [];
        for (let r = 0; r < runs; r++) results.push(base ? await runSqlite(base, size, ids) : await runPostgres(size, ids));
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
