import type { Logger } from 'pino';
import type { Config } from '../config/schema';
import type { Ordering } from '../hub/order-source';
import { createStore } from '../store';
import { redactUrl } from '../store/postgres-connection';
import type { Store } from '../store/store';
import { ApplyContext } from './apply-context';
import { ClusterLog, withDeadline, type ClusterLogOptions } from './cluster-log';
import { ClusterOrder, noSnapshotReason } from './cluster-order';
import { ClusterSequencer } from './cluster-sequencer';
import { Liveness } from './liveness';
import { parseClusterServers } from './servers';
import { SnapshotStore } from './snapshot-store';
import { newestUsableSnapshot } from './snapshotter';

/** A hub's membership of a cluster: how its Hub is built, and how it leaves. */
export interface ClusterMembership {
  nodeId: string;
  ordering: Ordering;
  /** Stops the heartbeat and closes the connection to NATS. */
  stop(): Promise<void>;
  /** Whether the log answers now, and how far this replica is behind it (for metrics and /readyz). */
  health(): Promise<ClusterHealth>;
}

/**
 * `ok`: the log's stream answered within HEALTH_TIMEOUT_MS; `lag`: entries committed to the
 * log that this replica has not applied yet (null when the log did not answer).
 */
export interface ClusterHealth {
  ok: boolean;
  reason?: string;
  lag: number | null;
}

const HEALTH_TIMEOUT_MS = 1000;

function logOptions(config: Config): ClusterLogOptions {
  return {
    servers: parseClusterServers(config.cluster!),
    connectTimeoutMs: config.clusterConnectTimeoutMs,
    proposeTimeoutMs: config.clusterProposeTimeoutMs,
    maxMessages: config.clusterLogMaxMessages,
    maxAgeMs: config.clusterLogMaxAgeMs,
  };
}

/**
 * The check `switchboard serve --cluster ...` makes before it starts anything: NATS reachable
 * within `clusterConnectTimeoutMs`, JetStream answering, the log's stream there (made on first
 * use), and the state rebuildable from it (a log that discarded entries needs a snapshot
 * covering them); then the shared PostgreSQL store reachable (within its connect timeout) and
 * migrated. Rejects with ClusterUnavailable, or an Error naming what failed.
 */
export async function probeCluster(config: Config, logger: Logger): Promise<void> {
  const log = await ClusterLog.open(config.nodeId!, logOptions(config));
  try {
    const { first, created } = await log.position();
    if (first > 1) {
      const snapshots = await SnapshotStore.open(log, created, Math.min(3, logOptions(config).servers.length));
      if (!(await newestUsableSnapshot(snapshots, first, logger))) throw new Error(noSnapshotReason(first));
    }
  } finally {
    await log.close();
  }
  const store = createStore(config.store, config.dataDir);
  try {
    await store.migrate();
  } catch (err) {
    throw new Error(`cannot reach the cluster's PostgreSQL store ${redactUrl(config.store)}: ${(err as Error).message}`, { cause: err });
  } finally {
    await store.close();
  }
}

/**
 * Connects the hub of node `config.nodeId` to the cluster: the log, the heartbeat bucket, and
 * the pieces the Hub is built with (the order source, its clock and sequencer).
 * `onFatal`: the log can no longer be read (the hub exits and is restarted).
 */
export async function joinCluster(config: Config, store: Store, log: Logger, onFatal: (err: Error) => void): Promise<ClusterMembership> {
  const nodeId = config.nodeId!;
  const options = logOptions(config);
  const clusterLog = await ClusterLog.open(nodeId, options);
  clusterLog.onReaderTrouble = (err, nextSeq) => log.warn({ err, nextSeq }, 'cluster log reader: its consumer may be lost; made again from the next seq');
  const liveness = await Liveness.open(clusterLog, nodeId, config.clusterNodeTimeoutMs, Math.min(3, options.servers.length));
  const context = new ApplyContext();
  let order: ClusterOrder | null = null;
  let sequencer: ClusterSequencer | null = null;
  const ordering: Ordering = {
    clock: context.now,
    makeSequencer: (outbox, workersOf) => (sequencer = new ClusterSequencer(store, outbox, workersOf, context, log, config.clusterHistoryBacklogBytes)),
    makeOrder: (ctx) =>
      (order = new ClusterOrder(ctx, clusterLog, liveness, context, {
        nodeId,
        proposeTimeoutMs: config.clusterProposeTimeoutMs,
        heartbeatMs: config.clusterHeartbeatMs,
        nodeTimeoutMs: config.clusterNodeTimeoutMs,
        historyFull: () => sequencer?.backlog.full ?? false,
        onFatal,
        snapshots: { every: config.clusterSnapshotEvery, intervalMs: config.clusterSnapshotIntervalMs, keep: config.clusterSnapshotKeep },
        openSnapshots: (created) => SnapshotStore.open(clusterLog, created, Math.min(3, options.servers.length)),
      }, log)),
  };
  return {
    nodeId,
    ordering,
    stop: () => {
      sequencer?.backlog.stop();
      return order ? order.stop() : clusterLog.close();
    },
    health: async () => {
      if (clusterLog.nc.isClosed()) return { ok: false, reason: 'the connection to NATS is closed', lag: null };
      try {
        const { last } = await withDeadline(clusterLog.position(), HEALTH_TIMEOUT_MS, 'the cluster log did not answer');
        return { ok: true, lag: Math.max(0, last - (order?.appliedSeq ?? 0)) };
      } catch (err) {
        return { ok: false, reason: `the cluster log cannot be read: ${(err as Error).message}`, lag: null };
      }
    },
  };
}
