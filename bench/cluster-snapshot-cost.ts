/**
 * What a cluster snapshot costs a node (docs/CLUSTER.md, "Snapshots"): the time the hub is held
 * to take one (serialize the replica between two entries: `takeSnapshot` + `encodeSnapshot`),
 * its size, and the time to restore one at start (parse, schema check, load). A replica is
 * filled through the log's own entries: `--sessions` guests, one room per 20 of them, each
 * member of its room. No store is written (the sequencer's writes are stubbed): only the state
 * is measured. Median of `--runs` takes.
 *
 *   npx tsc -p . && node dist/bench/cluster-snapshot-cost.js [--sessions 10000] [--runs 5]
 */
import os from 'node:os';
import { ApplyContext } from '../src/cluster/apply-context';
import { ClusterSequencer } from '../src/cluster/cluster-sequencer';
import { Replica } from '../src/cluster/replica';
import { decodeSnapshot, encodeSnapshot, restoreSnapshot, takeSnapshot } from '../src/cluster/snapshot';
import { Router } from '../src/hub/router';
import { createLogger } from '../src/log/logger';
import type { Store } from '../src/store/store';

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const sessions = flag('--sessions', 10_000);
const runs = flag('--runs', 5);
const log = createLogger('hub', 'silent');
const store = { appendRoomMessages: async () => {}, deleteEpochHistory: async () => {} } as unknown as Store;

function replica(): { router: Router; context: ApplyContext; replica: Replica } {
  const context = new ApplyContext();
  context.streamCreated = '2026-01-01T00:00:00.000Z';
  const router = new Router(store, log, { maxRoomsPerOwner: 10 }, { clock: context.now, makeSequencer: (o, w) => new ClusterSequencer(store, o, w, context, log, 64 * 1024 * 1024) });
  return { router, context, replica: new Replica(router, context, 'bench', log) };
}

const ms = (from: bigint): number => Number(process.hrtime.bigint() - from) / 1e6;

const a = replica();
let seq = 0;
const ts = 1_700_000_000_000;
for (let i = 0; i < sessions; i++) {
  const key = `n${i % 3}/1:${i}`;
  a.replica.apply({ type: 'connect', pid: `p${seq}`, ts, key }, ++seq);
  const roomid = `room${i - (i % 20)}`;
  if (i % 20 === 0) a.replica.apply({ type: 'request', pid: `p${seq}`, ts, key, request: { type: 'createroom', roomid } }, ++seq);
  a.replica.apply({ type: 'request', pid: `p${seq}`, ts, key, request: { type: 'join', roomid } }, ++seq);
}
const takes: Array<{ ms: number; bytes: number }> = [];
for (let r = 0; r < runs; r++) {
  const t0 = process.hrtime.bigint();
  const data = encodeSnapshot(takeSnapshot(a.router, a.context, a.replica));
  takes.push({ ms: ms(t0), bytes: data.length });
}
takes.sort((x, y) => x.ms - y.ms);
const data = encodeSnapshot(takeSnapshot(a.router, a.context, a.replica));
const t1 = process.hrtime.bigint();
const b = replica();
restoreSnapshot(decodeSnapshot(data), b.router, b.context, b.replica);
const restore = ms(t1);
const median = takes[Math.floor(takes.length / 2)]!;
console.log(
  `${sessions} sessions in ${Math.ceil(sessions / 20)} rooms (log seq ${seq}): take ${median.ms.toFixed(1)} ms (median of ${runs}), ` +
    `${(median.bytes / 1024).toFixed(0)} KiB; restore ${restore.toFixed(1)} ms; load average ${os.loadavg()[0]!.toFixed(1)} on ${os.cpus().length} cores`,
);
