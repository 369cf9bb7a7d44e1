import type net from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Registry } from 'prom-client';
import { Kind, type WorkerToHub } from '../ipc/hub-link-messages';
import { AsyncGauge, ComputedGauge, FastCounter, FastHistogram, LATENCY_BUCKETS_SECONDS, register, type MetricJson, type MetricSample } from './fast-metrics';
import { ERRORS_HELP, IPC_QUEUE_HELP } from './shared-help';

/** The hub's worker-link sockets, for the bytes queued to workers. */
const links = new Set<net.Socket>();

/** Where the hub's figures for a scrape come from (what its main.ts wires in). */
export interface HubGauges {
  /** Frames in the hub's outbox waiting for stored messages ahead of them, in bytes. */
  outboxBytes(): number;
  /** Sessions the hub knows (this node's and, clustered, every node's). */
  sessions(): number;
}

/**
 * The hub's counters and histograms. `requestDuration` is observed once per client request
 * or chat message the hub handles: a scan of the bucket bounds, no allocation.
 */
export const hubMetrics = {
  requestDuration: new FastHistogram(
    'switchboard_hub_request_duration_seconds',
    'Time the hub takes to handle one request, by type (message: a chat line, sequenced and handed to the store batch, one in 8 timed; close: a client left; any protocol request type), store round trips included, queueing behind the same client\'s earlier request not included.',
    LATENCY_BUCKETS_SECONDS,
    'type',
  ),
  errors: new FastCounter('switchboard_errors_total', ERRORS_HELP, 'code'),
};

/**
 * Chat messages timed: one in CHAT_SAMPLE (a power of two). A chat line costs the hub a few
 * microseconds, and two clock reads (`performance.now()`, 0.1-0.2 µs each) per line would be
 * a visible share of it at full load; every other request is timed.
 */
const CHAT_SAMPLE = 8;
let chats = 0;

/**
 * Whether to time this frame (every request; one chat message in CHAT_SAMPLE): the hub calls
 * `performance.now()` and `requestHandled` only then.
 */
export function timeRequest(msg: WorkerToHub): boolean {
  return msg.kind !== Kind.CHAT || (++chats & (CHAT_SAMPLE - 1)) === 0;
}

/**
 * Times one request the hub handles: `started` is `performance.now()` when it began, `result`
 * what its handler returned (a promise when it waits for the store or the cluster log).
 */
export function requestHandled(msg: WorkerToHub, started: number, result: Promise<void> | void): void {
  const type = msg.kind === Kind.CHAT ? 'message' : msg.kind === Kind.REQUEST ? msg.request.type : msg.kind === Kind.CLOSE ? 'close' : 'other';
  if (result === undefined) {
    hubMetrics.requestDuration.observeFor(type, (performance.now() - started) / 1000);
    return;
  }
  const done = (): void => hubMetrics.requestDuration.observeFor(type, (performance.now() - started) / 1000);
  result.then(done, done);
}

/** A worker's link socket: what is buffered on it counts as IPC queue bytes until it closes. */
export function trackWorkerLink(socket: net.Socket): void {
  links.add(socket);
  socket.once('close', () => links.delete(socket));
}

/** Registers the hub's metrics (and `extra`, e.g. the store's and the cluster's) in `registry`. */
export function registerHubMetrics(registry: Registry, gauges: HubGauges, extra: Array<{ name: string; get(): Promise<MetricJson> }> = []): void {
  for (const m of [...Object.values(hubMetrics), ...extra]) register(registry, m);
  register(
    registry,
    new ComputedGauge('switchboard_ipc_queue_bytes', IPC_QUEUE_HELP, () => {
      let toWorkers = 0;
      for (const s of links) toWorkers += s.writableLength;
      const samples: MetricSample[] = [
        { value: toWorkers, labels: { link: 'hub_to_worker' } },
        { value: gauges.outboxBytes(), labels: { link: 'hub_outbox' } },
      ];
      return samples;
    }),
  );
  register(registry, new ComputedGauge('switchboard_hub_sessions', 'Client sessions in the hub\'s chat state (clustered: every node\'s).', () => [{ value: gauges.sessions(), labels: {} }]));
}

/** A clustered hub's view of the log (see ClusterMembership.health). */
export interface ClusterView {
  ok: boolean;
  reason?: string;
  lag: number | null;
}

/**
 * The cluster gauges: `switchboard_cluster_up` (1 when the log answers) and
 * `switchboard_cluster_log_lag_entries`. One look at the log serves both within a scrape.
 */
export function clusterMetrics(health: () => Promise<ClusterView>): AsyncGauge[] {
  let pending: { at: number; view: Promise<ClusterView> } | null = null;
  const look = (): Promise<ClusterView> => {
    if (pending === null || Date.now() - pending.at > 500) pending = { at: Date.now(), view: health() };
    return pending.view;
  };
  return [
    new AsyncGauge('switchboard_cluster_up', 'Clustered: 1 when this node\'s hub can read the cluster log (NATS JetStream) now, else 0.', async () => [{ value: (await look()).ok ? 1 : 0, labels: {} }]),
    new AsyncGauge('switchboard_cluster_log_lag_entries', 'Clustered: log entries committed that this node has not applied yet (absent when the log does not answer).', async () => {
      const { lag } = await look();
      return lag === null ? [] : [{ value: lag, labels: {} }];
    }),
  ];
}
