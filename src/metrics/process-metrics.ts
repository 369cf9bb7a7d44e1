import { Registry, collectDefaultMetrics } from 'prom-client';
import type { MetricJson } from './fast-metrics';

/** The process kinds of a Switchboard server, the `role` label of per-process metrics. */
export type ProcessRole = 'supervisor' | 'hub' | 'worker';

/**
 * One process's metrics: `app`, the server's own counters and gauges, which the supervisor sums
 * across processes (no per-process label, so their cardinality does not grow with restarts);
 * and `process`, prom-client's default metrics (heap, RSS, CPU, event-loop lag, GC, handles),
 * labelled `role` and `worker` (the worker id; empty for the supervisor and the hub), kept
 * apart per process because a sum of event-loop lags or heaps means nothing.
 */
export interface ProcessMetrics {
  readonly app: Registry;
  /** Null in a dedicated-placement worker: one process per client would make a series each. */
  readonly process: Registry | null;
}

/** Makes this process's registries; call once per process. */
export function createProcessMetrics(role: ProcessRole, workerId: number | null, perProcess = true): ProcessMetrics {
  const app = new Registry();
  let process: Registry | null = null;
  if (perProcess) {
    process = new Registry();
    process.setDefaultLabels({ role, worker: workerId === null ? '' : String(workerId) });
    collectDefaultMetrics({ register: process });
  }
  return { app, process };
}

/** The process's metrics as prom-client JSON, for the supervisor's aggregation. */
export async function metricsJson(metrics: ProcessMetrics): Promise<{ app: MetricJson[]; process: MetricJson[] }> {
  const [app, process] = await Promise.all([metrics.app.getMetricsAsJSON(), metrics.process?.getMetricsAsJSON() ?? []]);
  return { app: app as unknown as MetricJson[], process: process as unknown as MetricJson[] };
}
