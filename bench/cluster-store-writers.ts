/**
 * What "every cluster node writes what it applies" costs PostgreSQL: distinct room messages
 * stored per second when 1, 2 or 3 writers (PostgresStore instances, as nodes) each write the
 * same stream of batches under the same epoch, `INSERT ... ON CONFLICT DO NOTHING`, the
 * later ones finding most rows already there (docs/CLUSTER.md, "PostgreSQL in a cluster").
 * Batches of `--batch` messages (60 bytes, 8 rooms, UUIDv7-like ids), `--messages` in all, in
 * a fresh database of the machine's PostgreSQL (SB_TEST_POSTGRES or
 * postgres://postgres@127.0.0.1:5432), dropped at the end. Writers start together and run
 * unsynchronised, as nodes do; the rate is distinct rows over the time until all are done.
 *
 *   npx tsc -p . && node dist/bench/cluster-store-writers.js [--messages 30000] [--batch 50] [--runs 3]
 */
import { PostgresStore } from '../src/store/postgres-store';
import type { RoomMessage } from '../src/store/store';
import { createDatabase, dropDatabase, resetDatabase } from '../test/helpers/postgres-db';

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const total = flag('--messages', 30_000);
const batch = flag('--batch', 50);
const runs = flag('--runs', 3);
const ROOMS = 8;
const CONTENT = 'x'.repeat(60);

function batches(): RoomMessage[][] {
  const seqs = new Array<number>(ROOMS).fill(0);
  const out: RoomMessage[][] = [];
  const t0 = Date.now();
  for (let i = 0; i < total; i += batch) {
    const b: RoomMessage[] = [];
    for (let j = i; j < Math.min(total, i + batch); j++) {
      const room = j % ROOMS;
      const seq = ++seqs[room]!;
      b.push({ id: `${(t0 + j).toString(16).padStart(12, '0')}-7000-8000-${j.toString(16).padStart(12, '0')}`, roomid: `room${room}`, epoch: 'e0', seq, identity: 'bench', sender: null, content: CONTENT, ts: t0 + j, recalled: false });
    }
    out.push(b);
  }
  return out;
}

async function run(url: string, writers: number, work: RoomMessage[][]): Promise<number> {
  await resetDatabase(url);
  const stores = Array.from({ length: writers }, () => new PostgresStore(url));
  await stores[0]!.migrate();
  const start = process.hrtime.bigint();
  await Promise.all(stores.map(async (s) => {
    for (const b of work) await s.appendRoomMessages(b);
  }));
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const stored = (await stores[0]!.roomSince('room0', 0, total + 1, 'e0')).length;
  if (stored !== Math.ceil(total / ROOMS)) throw new Error(`room0 holds ${stored} messages, expected ${Math.ceil(total / ROOMS)}`);
  for (const s of stores) await s.close();
  return total / seconds;
}

async function main(): Promise<void> {
  const url = await createDatabase('sb_bench_writers');
  try {
    const work = batches();
    console.log(`${total} messages in batches of ${batch}, median of ${runs} runs`);
    console.log('writers  distinct rows/s  insert attempts/s');
    for (const writers of [1, 2, 3]) {
      const rates: number[] = [];
      for (let r = 0; r < runs; r++) rates.push(await run(url, writers, work));
      rates.sort((x, y) => x - y);
      const median = rates[Math.floor(rates.length / 2)]!;
      console.log(`${String(writers).padStart(7)}  ${Math.round(median).toString().padStart(15)}  ${Math.round(median * writers).toString().padStart(17)}`);
    }
  } finally {
    await dropDatabase(url);
  }
}

main().catch((err: Error) => {
  console.error(err);
  process.exit(1);
});
