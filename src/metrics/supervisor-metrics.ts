import type { Registry } from 'prom-client';
import { ComputedGauge, FastCounter, register } from './fast-metrics';

/** The supervisor's counters: admissions, refusals, restarts. */
export const supervisorMetrics = {
  accepted: new FastCounter('switchboard_connections_accepted_total', 'Client connections the supervisor accepted, by listener (tcp, tls, unix, http, https), refused ones included.', 'listener', ['tcp', 'tls', 'unix', 'http', 'https']),
  refused: new FastCounter(
    'switchboard_admissions_refused_total',
    'Connections the supervisor closed at once instead of placing them, by reason: TOO_MANY_CONNECTIONS (--max-connections-per-address), TOO_MANY_USERS (--max-clients, no worker could take it, or none became ready within --worker-wait-ms), SHUTTING_DOWN.',
    'reason',
    ['TOO_MANY_CONNECTIONS', 'TOO_MANY_USERS', 'SHUTTING_DOWN'],
  ),
  restarts: new FastCounter('switchboard_process_restarts_total', 'Child processes that died unexpectedly and were replaced, by role (worker, hub).', 'role', ['worker', 'hub']),
  scrapeTimeouts: new FastCounter('switchboard_metrics_child_timeouts_total', 'Metrics requests a child did not answer in time (its last report was used instead), by role.', 'role'),
  /** An accepted connection, by the listener that took it (`plain`: TCP, or Unix when it has no remote address). */
  acceptedOn(listener: 'plain' | 'tls' | 'http' | 'https', remoteAddress: string | undefined): void {
    supervisorMetrics.accepted.incFor(listener !== 'plain' ? listener : remoteAddress === undefined ? 'unix' : 'tcp');
  },
};

/** Registers the supervisor's metrics; `processes` counts the live children by role. */
export function registerSupervisorMetrics(registry: Registry, processes: () => Record<string, number>): void {
  for (const m of [supervisorMetrics.accepted, supervisorMetrics.refused, supervisorMetrics.restarts, supervisorMetrics.scrapeTimeouts]) register(registry, m);
  register(
    registry,
    new ComputedGauge('switchboard_processes', 'Live child processes by role (worker, hub).', () =>
      Object.entries(processes()).map(([role, value]) => ({ value, labels: { role } })),
    ),
  );
}
