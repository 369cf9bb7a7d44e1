import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ApplyContext } from '../../src/cluster/apply-context';
import { ClusterSequencer } from '../../src/cluster/cluster-sequencer';
import { decodeEntry, encodeEntry, type LogEntry } from '../../src/cluster/entries';
import { Replica } from '../../src/cluster/replica';
import { Router } from '../../src/hub/router';
import { createLogger } from '../../src/log/logger';
import { createStore } from '../../src/store';
import { uuidV7 } from './ingest';

/**
 * A hub's apply rate, in this process, without NATS: log entries decoded from their bytes
 * and applied by a Replica (ChatState, the cluster sequencer, the node's SQLite history
 * write), as a cluster node's reader does with every entry of the log. The room's members
 * are sessions of another node, so no frame is encoded for a worker here: this is the part
 * of a node's work that every node does for every message whatever its clients; delivery to
 * a node's own clients is measured end to end by the cluster run.
 */
export interface ApplyRate {
  /** Chat entries applied (and their messages stored) a second. */
  entriesPerS: number;
  /** CPU of this process per entry, µs (decode, apply, store). */
  cpuUsPerEntry: number;
  entries: number;
}

/** The log a node would read: `members` connect, one creates the room, all join, then `count` chat entries. */
export function applyLog(members: number, count: number, contentBytes: number): Uint8Array[] {
  const ts = 1_700_000_000_000;
  const out: LogEntry[] = [];
  let p = 0;
  const key = (i: number): string => `other/1:${i + 1}`;
  for (let i = 0; i < members; i++) out.push({ type: 'connect', pid: `p${++p}`, ts, key: key(i) });
  out.push({ type: 'request', pid: `p${++p}`, ts, key: key(0), request: { type: 'createroom', roomid: 'bench' } });
  for (let i = 0; i < members; i++) out.push({ type: 'request', pid: `p${++p}`, ts, key: key(i), request: { type: 'join', roomid: 'bench' } });
  const content = 'x'.repeat(contentBytes);
  for (let i = 0; i < count; i++) out.push({ type: 'chat', pid: `p${++p}`, ts: ts + i, key: key(0), id: uuidV7(), content });
  return out.map(encodeEntry);
}

/**
 * Applies `applyLog(members, count)` on a fresh replica with a SQLite store in a temporary
 * directory (removed after); only the chat entries are timed, up to their last message stored.
 */
export async function measureApply(o: { members: number; count: number; contentBytes: number }): Promise<ApplyRate> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sb-apply-'));
  const store = createStore('sqlite', dir);
  try {
    await store.migrate();
    const log = createLogger('hub', 'silent');
    const context = new ApplyContext();
    context.streamCreated = new Date(0).toISOString();
    const router = new Router(store, log, undefined, {
      clock: context.now,
      makeSequencer: (outbox, workersOf) => new ClusterSequencer(store, outbox, workersOf, context, log, 64 * 1024 * 1024),
    });
    const replica = new Replica(router, context, 'bench-node', log);
    const entries = applyLog(o.members, o.count, o.contentBytes);
    const setup = entries.length - o.count;
    let seq = 0;
    for (const bytes of entries.slice(0, setup)) replica.apply(decodeEntry(bytes), ++seq);
    await router.sequencer.settled();
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    // As the reader does: entries arrive in chunks between which the event loop turns (the
    // sequencer cuts its batch then); 256 a turn is of the order a JetStream pull delivers.
    for (let i = setup; i < entries.length; i += 256) {
      for (const bytes of entries.slice(i, i + 256)) replica.apply(decodeEntry(bytes), ++seq);
      await new Promise((r) => setImmediate(r));
    }
    router.sequencer.flush();
    await router.sequencer.settled();
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    // A cluster stores messages under their epoch: the newest of the room's current one.
    const { epoch } = await router.sequencer.current('bench');
    const newest = (await store.roomHistory('bench', null, 1, epoch))[0]?.seq ?? 0;
    if (newest !== o.count) throw new Error(`apply bench: ${newest} of ${o.count} messages stored`);
    return { entriesPerS: o.count / seconds, cpuUsPerEntry: (cpu.user + cpu.system) / o.count, entries: o.count };
  } finally {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
