import { now } from '../generator/clock';
import type { RunResult } from '../generator/messages';
import { measureApply } from '../lib/apply-rate';
import { capacity, nodeUsPerDelivery } from '../lib/cluster-model';
import { timedIngest } from '../lib/ingest';
import { measureLog } from '../lib/log-throughput';
import { startNatsCluster, type NatsCluster } from '../lib/nats-cluster';
import { createBenchDatabase, dropBenchDatabase } from '../lib/postgres-db';
import { sample } from '../lib/procfs';
import { ServerSampler, type ServerUsage } from '../lib/sampler';
import { PostgresStore } from '../../src/store/postgres-store';
import { startSwitchboard } from '../targets/switchboard';
import { fanout } from './fanout';
import { Bench, latencyMetrics, mergeConnects, mergeRuns, split, track, trafficJob, trafficMetrics, usageWindow, type CommonOptions, type RunReport } from './common';

export interface ClusterOptions extends CommonOptions {
  /** Switchboard nodes (each with `--workers` workers) over a 3-server NATS cluster. */
  nodes: number;
  receivers: number;
  /** Sender messages per second; 0: burst (`inflight` not yet echoed). */
  rate: number;
  inflight: number;
  durationS: number;
  warmupS: number;
  size: number;
  /** Seconds of each log micro-measure (one at a time, pipelined). */
  logSeconds: number;
  /** Publishes in flight in the pipelined log measure. */
  logWindow: number;
  /** Chat entries of the apply micro-measure. */
  applyEntries: number;
  /** PostgreSQL ingest: batch sizes measured (empty: skipped), seconds each. */
  ingestBatches: number[];
  ingestSeconds: number;
}

const ROOM = 'cluster1';
const NATS_SERVERS = 3;

/**
 * One repeat of `npm run bench -- cluster`: the same fanout against one node and against
 * `nodes` nodes over NATS (receivers spread evenly, the sender on the first node), then the
 * bounds measured on their own: the log's throughput, a hub's apply rate, PostgreSQL ingest.
 * Returns three reports: `single`, `cluster`, `parts`.
 */
export async function clusterRepeat(o: ClusterOptions, log: (s: string) => void): Promise<RunReport[]> {
  log('  single node (fanout, same workers)');
  const single = await fanout({ ...o });
  single.label = 'single node';
  log(`  ${o.nodes}-node cluster: starting ${NATS_SERVERS} nats-servers and ${o.nodes} nodes`);
  const nats = await startNatsCluster(NATS_SERVERS, 60_000);
  const untrack = track({ close: () => nats.stop() });
  let cluster: RunReport;
  const parts: Record<string, number> = {};
  const notes: string[] = [];
  try {
    cluster = await clusterRun(o, nats);
    log('  parts: the log alone, a hub\'s apply rate, PostgreSQL ingest');
    await logPart(o, nats, parts, notes);
  } finally {
    await nats.stop();
    untrack();
  }
  await localParts(o, parts, notes);
  model(o, single.metrics, cluster.metrics, parts, notes);
  return [single, cluster, { scenario: 'cluster', server: 'switchboard', label: 'parts', params: cluster.params, metrics: parts, notes, ok: Object.keys(parts).length > 0 }];
}

/** The fanout through `o.nodes` nodes over `nats`: receivers spread evenly, the sender on the first. */
async function clusterRun(o: ClusterOptions, nats: NatsCluster): Promise<RunReport> {
  const benches: Bench[] = [];
  const natsSamplers = nats.servers.map((s) => new ServerSampler(s.process.pid!, () => 'nats-server'));
  const params = { nodes: o.nodes, receivers: o.receivers, rate: o.rate || `burst (${o.inflight} in flight)`, duration: o.durationS, size: o.size, workers: o.workers };
  // The nodes' one shared store of record (a cluster needs PostgreSQL): a fresh database per run.
  const storeUrl = await createBenchDatabase();
  try {
    // One at a time: the first makes the log's stream, the others find it.
    for (let i = 0; i < o.nodes; i++) {
      const target = await startSwitchboard({
        workers: o.workers, placement: 'pool', clients: o.receivers + 1, sioClient: 'socket.io-client', nodeArgs: o.serverNodeArgs,
        serverArgs: ['--cluster', nats.url, '--store', storeUrl, '--node-id', `bench${i + 1}`, ...o.serverArgs],
      });
      benches.push(Bench.of(target));
    }
    for (const s of natsSamplers) s.start();
    const [sender] = benches[0]!.spawn(1, 'sender');
    const created = await sender!.connect(benches[0]!.connectJob([{ room: ROOM, create: true }], 1));
    if (created.connected !== 1) throw new Error(`sender could not connect: ${created.failures.samples.join('; ')}`);
    const perNode = split(o.receivers, o.nodes);
    const receivers = benches.map((b, i) => b.spawn(1, `recv-node${i + 1}-`)[0]!);
    const connects = await Promise.all(receivers.map((g, i) => g.connect(benches[i]!.connectJob(Array.from({ length: perNode[i]! }, () => ({ room: ROOM })), o.concurrency))));
    const c = mergeConnects(connects);
    const notes = benches[0]!.notes;
    if (c.failed > 0) notes.push(`${c.failed} of ${c.requested} receivers failed to connect: ${c.failureSamples.join('; ')}`);

    // What the nodes and NATS cost with the clients connected and nothing sent (heartbeats,
    // RAFT): subtracted from the traffic window's CPU for the per-message figures.
    const idleMs = 1000;
    const idleNodes = benches.map((b) => usageWindow(b, 0, idleMs));
    const idleNats = await Promise.all(natsSamplers.map((s) => samplerWindow(s, 0, idleMs)));
    const idleNodeCpuS = (await Promise.all(idleNodes)).reduce((a, u) => a + (u?.cpuS ?? 0), 0);
    const idleNatsCpuS = idleNats.reduce((a, u) => a + u.cpuS, 0);

    const job = trafficJob(o, now() + 300);
    const windowDelay = job.startAt + job.warmupMs - now();
    const usages = benches.map((b) => usageWindow(b, windowDelay, job.durationMs));
    const natsUsage = Promise.all(natsSamplers.map((s) => samplerWindow(s, windowDelay, job.durationMs)));
    const [senderResult, ...receiverResults] = await Promise.all([sender!.run({ ...job, senders: [0] }), ...receivers.map((g) => g.run({ ...job, senders: [] }))]);
    const nodeUsage = await Promise.all(usages);
    const natsUse = await natsUsage;
    const alive = benches.every((b) => b.checkAlive());

    const r = mergeRuns([senderResult!, ...receiverResults], o.durationS);
    const members = c.connected + 1;
    const expected = r.sentInWindow * members;
    trafficNotes(notes, r, expected, o);
    // Disconnects by node, with what that node logged at warn and above.
    benches.forEach((b, i) => {
      const own = mergeRuns(i === 0 ? [senderResult!, receiverResults[0]!] : [receiverResults[i]!], o.durationS);
      b.noteDisconnects(own.disconnects, own.disconnectSamples.map((x) => `node${i + 1}: ${x}`));
    });
    for (const b of benches.slice(1)) notes.push(...b.notes);
    const combined = combineUsage(nodeUsage.filter((u): u is ServerUsage => u !== undefined));
    const metrics: Record<string, number> = trafficMetrics(r, combined, o.durationS, expected > 0 ? (100 * r.deliveriesOfWindow) / expected : 0, {
      'connect rate /s': c.ratePerS,
      'connect identity p99 ms': c.identity.p99,
    });
    Object.assign(metrics, latencyMetrics('latency on other nodes than the sender\'s,', mergeRuns(receiverResults.slice(1), o.durationS).latency));
    // Per node: its CPU, its own deliveries, and its cost per delivery and per log entry.
    const entries = r.sentInWindow;
    nodeUsage.forEach((u, i) => {
      const own: RunResult[] = i === 0 ? [senderResult!, receiverResults[0]!] : [receiverResults[i]!];
      const deliveries = own.reduce((a, x) => a + x.deliveriesInWindow, 0);
      const hub = u?.processes.filter((p) => p.role === 'hub').reduce((a, p) => a + p.cpuS, 0) ?? NaN;
      metrics[`node${i + 1} CPU s`] = u?.cpuS ?? NaN;
      metrics[`node${i + 1} deliveries/s`] = deliveries / o.durationS;
      metrics[`node${i + 1} CPU µs per own delivery`] = u && deliveries > 0 ? (u.cpuS * 1e6) / deliveries : NaN;
      metrics[`node${i + 1} hub CPU µs per log entry`] = entries > 0 ? (hub * 1e6) / entries : NaN;
    });
    const natsCpu = natsUse.reduce((a, u) => a + u.cpuS, 0);
    metrics['NATS CPU s (3 servers)'] = natsCpu;
    metrics['NATS CPU % of 1 core'] = (100 * natsCpu) / o.durationS;
    metrics['NATS CPU µs per message'] = entries > 0 ? (natsCpu * 1e6) / entries : NaN;
    metrics['NATS peak RSS MB'] = natsUse.reduce((a, u) => a + u.peakRssKb, 0) / 1024;
    const idleShare = o.durationS / (idleMs / 1000);
    metrics['NATS idle CPU % of 1 core'] = (100 * idleNatsCpuS) / (idleMs / 1000);
    metrics['nodes idle CPU % of 1 core (all)'] = (100 * idleNodeCpuS) / (idleMs / 1000);
    metrics['NATS CPU µs per message, less idle'] = entries > 0 ? (Math.max(0, natsCpu - idleNatsCpuS * idleShare) * 1e6) / entries : NaN;
    const deliveries = r.deliveriesPerS * o.durationS;
    if (combined && deliveries > 0) metrics['server+NATS CPU µs per delivery'] = ((combined.cpuS + natsCpu) * 1e6) / deliveries;
    return { scenario: 'cluster', server: 'switchboard', label: `${o.nodes}-node cluster`, params, metrics, serverUsage: combined, notes, ok: alive && r.deliveriesOfWindow > 0 };
  } finally {
    for (const s of natsSamplers) s.stop();
    await Promise.all(benches.map((b) => b.close()));
    await dropBenchDatabase(storeUrl);
  }
}

function trafficNotes(notes: string[], r: ReturnType<typeof mergeRuns>, expected: number, o: ClusterOptions): void {
  if (r.skipped > 0) notes.push(`sender skipped ${r.skipped} sends: its socket held > 4 MB unsent (server not reading)`);
  if (r.deliveriesOfWindow < expected) notes.push(`${expected - r.deliveriesOfWindow} of ${expected} deliveries of window messages had not arrived ${(r.drainedMs / 1000).toFixed(1)} s after the window`);
  if (o.rate > 0 && r.messagesInPerS < o.rate * 0.95) notes.push(`offered ${o.rate} msg/s but sent ${r.messagesInPerS.toFixed(0)} msg/s (generator lag max ${r.sendLagMaxMs.toFixed(1)} ms)`);
}

/** The log alone on `nats`: commits one at a time and pipelined, an ordered read. */
async function logPart(o: ClusterOptions, nats: NatsCluster, metrics: Record<string, number>, notes: string[]): Promise<void> {
  const pids = nats.servers.map((s) => s.process.pid!);
  try {
    const l = await measureLog([nats.url], {
      seconds: o.logSeconds, window: o.logWindow, replicas: NATS_SERVERS, contentBytes: o.size,
      natsCpuS: () => pids.reduce((a, pid) => a + (sample(pid)?.cpuS ?? 0), 0),
    });
    Object.assign(metrics, {
      'log entry bytes': l.entryBytes,
      'log commits/s, one at a time': l.syncPerS,
      'log commit p50 ms': l.commitP50Ms,
      'log commit p99 ms': l.commitP99Ms,
      [`log commits/s, ${o.logWindow} in flight`]: l.pipelinedPerS,
      'log ordered read entries/s': l.readPerS,
      'log NATS CPU µs per entry': l.natsCpuUsPerEntry,
      'log client CPU µs per publish': l.clientCpuUsPerPublish,
      'log client CPU µs per read': l.clientCpuUsPerRead,
    });
  } catch (err) {
    notes.push(`log measure failed: ${(err as Error).message}`);
  }
}

/** A hub's apply rate (in this process) and PostgreSQL ingest (a fresh database per batch size). */
async function localParts(o: ClusterOptions, metrics: Record<string, number>, notes: string[]): Promise<void> {
  const apply = await measureApply({ members: o.receivers + 1, count: o.applyEntries, contentBytes: o.size });
  metrics['hub apply entries/s'] = apply.entriesPerS;
  metrics['hub apply CPU µs per entry'] = apply.cpuUsPerEntry;
  for (const batch of o.ingestBatches) {
    let url: string | undefined;
    let store: PostgresStore | undefined;
    try {
      url = await createBenchDatabase();
      store = new PostgresStore(url);
      await store.migrate();
      const run = await timedIngest(store, batch, o.ingestSeconds, { ids: 'v7', firstSeq: 1, maxRate: 200_000 });
      metrics[`PostgreSQL ingest msg/s, batch ${batch}`] = run.messagesPerSec;
    } catch (err) {
      notes.push(`PostgreSQL ingest (batch ${batch}) not measured: ${(err as Error).message}`);
      break;
    } finally {
      await store?.close();
      if (url) await dropBenchDatabase(url).catch(() => undefined);
    }
  }
}

/**
 * The cost model's figures from this repeat's measures (bench/lib/cluster-model.ts), into
 * `metrics`. Per entry, every node: the apply rate's CPU plus the log read's, measured alone.
 * Per delivery: the single node's CPU per delivery in the same repeat (a cluster node
 * delivers to its own clients through the same router and workers); at a low rate it carries
 * each message's fixed costs too, so it is an upper bound there. Each cluster node's own
 * figures (CPU per own delivery, as run) are in the cluster report beside it.
 */
function model(o: ClusterOptions, single: Record<string, number>, m: Record<string, number>, metrics: Record<string, number>, notes: string[]): void {
  const a = (metrics['hub apply CPU µs per entry'] ?? NaN) + (metrics['log client CPU µs per read'] ?? 0);
  const b = single['server CPU µs per delivery'] ?? NaN;
  const entries = (m['messages in/s'] ?? 0) * o.durationS;
  // What the nodes other than the sender's spend per own delivery once applying is taken out.
  for (let i = 2; i <= o.nodes; i++) {
    metrics[`node${i} CPU µs per own delivery, less applying`] = nodeUsPerDelivery(m[`node${i} CPU s`] ?? NaN, entries, a, (m[`node${i} deliveries/s`] ?? 0) * o.durationS);
  }
  metrics['model: node CPU µs per entry applied (apply + read)'] = a;
  metrics['model: node CPU µs per delivery (single node\'s)'] = b;
  const cap = capacity(
    { applyUsPerEntry: a, nodeUsPerDelivery: b, natsUsPerEntry: metrics['log NATS CPU µs per entry'] ?? NaN, logCommitsPerS: metrics[`log commits/s, ${o.logWindow} in flight`] ?? NaN, hubAppliesPerS: metrics['hub apply entries/s'] ?? NaN },
    { nodes: o.nodes, nodeCores: 1, natsCores: 1, messagesPerS: 1000 },
  );
  metrics['model: max messages/s into the cluster (NATS on 1 core)'] = cap.maxMessagesPerS;
  metrics[`model: deliveries/s of ${o.nodes} one-core nodes at 1,000 msg/s`] = cap.deliveriesPerS;
  notes.push(`model: messages into the cluster bounded by ${cap.boundBy}`);
}

/** One sampler's usage inside [now + delayMs, now + delayMs + durationMs]. */
function samplerWindow(s: ServerSampler, delayMs: number, durationMs: number): Promise<ServerUsage> {
  return new Promise((resolve) =>
    setTimeout(() => {
      const close = s.openWindow();
      setTimeout(() => resolve(close()), durationMs);
    }, Math.max(0, delayMs)),
  );
}

/** The usage of several servers in the same window as one (processes together, machine figures of the first). */
export function combineUsage(us: ServerUsage[]): ServerUsage | undefined {
  if (us.length === 0) return undefined;
  return {
    windowS: us[0]!.windowS,
    processes: us.flatMap((u) => u.processes),
    cpuS: us.reduce((a, u) => a + u.cpuS, 0),
    peakRssKb: us.reduce((a, u) => a + u.peakRssKb, 0),
    endRssKb: us.reduce((a, u) => a + u.endRssKb, 0),
    machine: us[0]!.machine,
  };
}
