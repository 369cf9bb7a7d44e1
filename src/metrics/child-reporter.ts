import type { ChildHealth, ChildToSupervisor, SupervisorToChild } from '../ipc/supervisor-messages';
import { metricsJson, type ProcessMetrics } from './process-metrics';

/**
 * In a child process (hub, worker): answers the supervisor's 'metrics-request' messages on the
 * IPC channel with this process's metrics and, when `health` is given (the hub), its readiness
 * checks. A request that fails is answered with what could be gathered, never left hanging:
 * the supervisor would otherwise wait for its timeout.
 */
export function answerMetricsRequests(metrics: ProcessMetrics, health?: () => Promise<ChildHealth>): void {
  process.on('message', (msg: SupervisorToChild) => {
    if (msg.type !== 'metrics-request') return;
    void report(metrics, msg.want, health).then((reply) => process.send?.({ type: 'metrics-report', id: msg.id, ...reply } satisfies ChildToSupervisor));
  });
}

async function report(metrics: ProcessMetrics, want: 'metrics' | 'health', health?: () => Promise<ChildHealth>): Promise<{ app: unknown[]; process: unknown[]; health?: ChildHealth }> {
  const [json, checks] = await Promise.all([
    want === 'metrics' ? metricsJson(metrics).catch(() => ({ app: [], process: [] })) : { app: [], process: [] },
    want === 'health' ? health?.().catch((err: Error): ChildHealth => ({ health: { ok: false, reason: err.message } })) : undefined,
  ]);
  return checks === undefined ? json : { ...json, health: checks };
}
