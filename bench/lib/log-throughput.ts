import { DiscardPolicy, RetentionPolicy, StorageType, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { encodeEntry } from '../../src/cluster/entries';
import { newHistogram, summarize } from './histogram';

/**
 * The cluster log's own throughput, without Switchboard: one client publishing chat-sized
 * entries (encoded as the nodes encode them, with a message id for deduplication as the nodes
 * send it) to a stream configured as the cluster log (file storage, replicas as given, discard
 * old, a duplicate window), then an ordered consumer reading the stream from its first entry,
 * as a starting node replays it. The stream is its own (BENCH_LOG), deleted at the end.
 */

const STREAM = 'BENCH_LOG';
const SUBJECT = 'bench.log.chat';

export interface LogThroughput {
  /** Entry size in bytes, as encoded. */
  entryBytes: number;
  /** One publish at a time, each awaiting its ack: commits a second and the commit latency. */
  syncPerS: number;
  commitP50Ms: number;
  commitP99Ms: number;
  /** `window` publishes in flight at once: the stream's commit rate from one client. */
  pipelinedPerS: number;
  /** An ordered consumer reading every entry from the first: entries a second. */
  readPerS: number;
  readEntries: number;
  /** CPU of the NATS servers (all of them, from `natsCpuS`) per committed entry, in µs. */
  natsCpuUsPerEntry: number;
  /** CPU of this client (publishing) per committed entry, and per entry read, in µs. */
  clientCpuUsPerPublish: number;
  clientCpuUsPerRead: number;
}

/**
 * Runs the three measures for `seconds` each (the read for as long as the stream takes).
 * `natsCpuS` reads the NATS servers' total CPU seconds now (from /proc).
 */
export async function measureLog(servers: string[], o: { seconds: number; window: number; replicas: number; contentBytes: number; natsCpuS: () => number }): Promise<LogThroughput> {
  const nc = await connect({ servers, timeout: 5000 });
  try {
    const jsm = await jetstreamManager(nc);
    await jsm.streams.delete(STREAM).catch(() => false);
    await jsm.streams.add({
      name: STREAM,
      subjects: ['bench.log.>'],
      storage: StorageType.File,
      retention: RetentionPolicy.Limits,
      discard: DiscardPolicy.Old,
      num_replicas: o.replicas,
      duplicate_window: 120_000 * 1_000_000,
    });
    const js = jetstream(nc, { timeout: 10_000 });
    const content = 'x'.repeat(o.contentBytes);
    let n = 0;
    const entry = (): { data: Uint8Array; pid: string } => {
      const pid = `bench.run.${++n}`;
      return { pid, data: encodeEntry({ type: 'chat', pid, ts: Date.now(), key: 'bench-node/1:1', id: '0190a3d2-7c4e-7b1a-9f00-0123456789ab', content }) };
    };
    const entryBytes = entry().data.length;

    // One at a time.
    const commit = newHistogram();
    let nats0 = o.natsCpuS();
    let cpu0 = process.cpuUsage();
    let t0 = performance.now();
    let sync = 0;
    while (performance.now() - t0 < o.seconds * 1000) {
      const e = entry();
      const s = performance.now();
      await js.publish(SUBJECT, e.data, { msgID: e.pid });
      commit.recordValue(Math.max(1, Math.round((performance.now() - s) * 1000)));
      sync++;
    }
    const syncS = (performance.now() - t0) / 1000;
    const latency = summarize(commit);
    commit.destroy();

    // `window` in flight.
    t0 = performance.now();
    let pipelined = 0;
    await new Promise<void>((resolve, reject) => {
      let inflight = 0;
      let done = false;
      const pump = (): void => {
        while (!done && inflight < o.window) {
          if (performance.now() - t0 >= o.seconds * 1000) {
            done = true;
            break;
          }
          const e = entry();
          inflight++;
          js.publish(SUBJECT, e.data, { msgID: e.pid }).then(() => {
            inflight--;
            pipelined++;
            if (done && inflight === 0) resolve();
            else pump();
          }, reject);
        }
        if (done && inflight === 0) resolve();
      };
      pump();
    });
    const pipelinedS = (performance.now() - t0) / 1000;
    const publishCpu = process.cpuUsage(cpu0);
    const natsPublishS = o.natsCpuS() - nats0;
    const committed = sync + pipelined;

    // Ordered consumer from the first entry to the last.
    const last = (await jsm.streams.info(STREAM)).state.last_seq;
    cpu0 = process.cpuUsage();
    nats0 = o.natsCpuS();
    t0 = performance.now();
    const consumer = await js.consumers.get(STREAM, { opt_start_seq: 1 });
    const messages = await consumer.consume();
    let read = 0;
    for await (const m of messages) {
      read++;
      if (m.seq >= last) break;
    }
    messages.stop();
    const readS = (performance.now() - t0) / 1000;
    const readCpu = process.cpuUsage(cpu0);
    await jsm.streams.delete(STREAM);
    return {
      entryBytes,
      syncPerS: sync / syncS,
      commitP50Ms: latency.p50,
      commitP99Ms: latency.p99,
      pipelinedPerS: pipelined / pipelinedS,
      readPerS: read / readS,
      readEntries: read,
      natsCpuUsPerEntry: (natsPublishS * 1e6) / committed,
      clientCpuUsPerPublish: (publishCpu.user + publishCpu.system) / committed,
      clientCpuUsPerRead: (readCpu.user + readCpu.system) / read,
    };
  } finally {
    await nc.close();
  }
}
