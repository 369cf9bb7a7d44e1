import type { ClusterMembership } from '../cluster/node';
import type { ChildHealth } from '../ipc/supervisor-messages';
import { answerMetricsRequests } from '../metrics/child-reporter';
import { clusterMetrics, registerHubMetrics } from '../metrics/hub-metrics';
import { createProcessMetrics } from '../metrics/process-metrics';
import type { InstrumentedStore } from '../metrics/store-metrics';
import type { Hub } from './hub';

/**
 * The hub's metrics (`--metrics-port` on): its registries, and the answers to the supervisor's
 * metrics and health requests. Health: `store` (the store takes writes: see
 * InstrumentedStore.health) and, clustered, `cluster` (the log answers).
 */
export function serveHubMetrics(hub: Hub, store: InstrumentedStore, cluster: ClusterMembership | null): void {
  const metrics = createProcessMetrics('hub', null);
  const extra = [store.duration, store.errors, ...(cluster ? clusterMetrics(() => cluster.health()) : [])];
  registerHubMetrics(metrics.app, { outboxBytes: () => hub.outboxBytes, sessions: () => hub.sessionCount }, extra);
  answerMetricsRequests(metrics, async (): Promise<ChildHealth> => {
    const [storeHealth, clusterHealth] = await Promise.all([store.health(), cluster?.health()]);
    const checks: ChildHealth = { store: storeHealth };
    if (clusterHealth) checks.cluster = clusterHealth.ok ? { ok: true } : { ok: false, reason: clusterHealth.reason ?? 'the cluster log cannot be read' };
    return checks;
  });
}
