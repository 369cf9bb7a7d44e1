import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import type { Config } from '../config/schema';
import type { ChildHealth } from '../ipc/supervisor-messages';
import { MetricsCollector } from '../metrics/collector';
import { AsyncGauge, register } from '../metrics/fast-metrics';
import { createProcessMetrics } from '../metrics/process-metrics';
import { registerSupervisorMetrics, supervisorMetrics } from '../metrics/supervisor-metrics';
import type { Child } from './child';

/** A child that has not answered a metrics or health request by then is passed over (its last report stands in). */
const CHILD_TIMEOUT_MS = 1500;

/** What the metrics server reads off the supervisor. */
export interface MetricsSource {
  readonly stopping: boolean;
  /** The hub now running (null before the first start) and the workers placement holds. */
  processes(): { hub: Child | null; workers: Child[] };
}

/** One readiness check's outcome, as `/readyz` shows it. */
type Check = { ok: boolean; reason?: string };

export interface MetricsServer {
  /** The address the server listens on (the port chosen when `--metrics-port 0`). */
  readonly host: string;
  readonly port: number;
  close(): Promise<void>;
}

/**
 * The supervisor's HTTP server for operators (`--metrics-port`, `--metrics-host`):
 * `GET /metrics`, every process's metrics merged, in the Prometheus text format;
 * `GET /healthz`, 200 while the supervisor runs (liveness);
 * `GET /readyz`, 200 when the server accepts clients (hub up, store writable, a worker ready,
 * the cluster log reachable when clustered), else 503 with a JSON body naming each failing check.
 * Resolves once listening; rejects when the port cannot be bound.
 */
export async function startMetricsServer(config: Config, source: MetricsSource, log: Logger): Promise<MetricsServer> {
  const own = createProcessMetrics('supervisor', null);
  registerSupervisorMetrics(own.app, () => {
    const { hub, workers } = source.processes();
    return { hub: hub?.alive ? 1 : 0, worker: workers.filter((w) => w.alive).length };
  });
  const collector: MetricsCollector = new MetricsCollector(
    own,
    () => {
      const { hub, workers } = source.processes();
      return hub ? [hub, ...workers] : workers;
    },
    CHILD_TIMEOUT_MS,
    (child) => supervisorMetrics.scrapeTimeouts.incFor(child.role),
  );
  register(
    own.app,
    new AsyncGauge('switchboard_readiness_check', 'The /readyz checks: 1 when the check passes, by check (hub, workers, store, cluster, supervisor).', async () =>
      Object.entries(await readiness(config, source, collector)).map(([check, c]) => ({ value: c.ok ? 1 : 0, labels: { check } })),
    ),
  );
  const server = http.createServer((req, res) => {
    const url = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') return reply(res, 405, 'text/plain', 'only GET\n', { allow: 'GET, HEAD' });
    if (url === '/healthz') return reply(res, 200, 'application/json', JSON.stringify({ status: 'alive' }) + '\n');
    if (url === '/readyz') {
      void readiness(config, source, collector).then(
        (checks) => {
          const ready = Object.values(checks).every((c) => c.ok);
          reply(res, ready ? 200 : 503, 'application/json', JSON.stringify({ ready, checks }) + '\n');
        },
        (err: Error) => reply(res, 503, 'application/json', JSON.stringify({ ready: false, checks: { supervisor: { ok: false, reason: err.message } } }) + '\n'),
      );
      return;
    }
    if (url === '/metrics') {
      void collector.scrape().then(
        (text) => reply(res, 200, Registry.PROMETHEUS_CONTENT_TYPE, text),
        (err: Error) => {
          log.error({ err }, 'metrics scrape failed');
          reply(res, 500, 'text/plain', `metrics could not be gathered: ${err.message}\n`);
        },
      );
      return;
    }
    reply(res, 404, 'text/plain', 'not found: try /metrics, /healthz or /readyz\n');
  });
  // A scraper that opens a connection and says nothing must not hold it forever.
  server.requestTimeout = 10_000;
  server.headersTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.metricsPort!, config.metricsHost, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (err) => log.error({ err }, 'metrics server error'));
  const { port } = server.address() as AddressInfo;
  log.info({ metricsHost: config.metricsHost, metricsPort: port }, 'metrics listening');
  return {
    host: config.metricsHost,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/**
 * The readiness checks. The hub's own (store writable, cluster connected) come from asking it;
 * a hub that does not answer in time fails them.
 */
async function readiness(config: Config, source: MetricsSource, collector: MetricsCollector): Promise<Record<string, Check>> {
  const checks: Record<string, Check> = {};
  if (source.stopping) checks.supervisor = { ok: false, reason: 'shutting down' };
  const { hub, workers } = source.processes();
  const hubUp = hub !== null && hub.alive && hub.ready;
  checks.hub = hubUp ? { ok: true } : { ok: false, reason: hub?.alive ? 'the hub is starting (or recovering after a restart)' : 'the hub is not running (being restarted)' };
  const ready = workers.filter((w) => w.alive && w.ready).length;
  // Dedicated placement with no spares starts each client's worker on demand: none need be up.
  const onDemand = config.placement === 'dedicated' && config.spares === 0;
  checks.workers = ready > 0 || onDemand ? { ok: true } : { ok: false, reason: 'no worker is ready to take clients' };
  let hubChecks: ChildHealth | null = null;
  if (hubUp) {
    hubChecks = await collector.health(hub);
    // A hub that does not answer is as good as down (busy for seconds, or just killed).
    if (hubChecks === null) checks.hub = { ok: false, reason: `the hub did not answer within ${CHILD_TIMEOUT_MS} ms` };
  }
  const unanswered = 'unknown: the hub did not answer';
  checks.store = hubChecks?.store ?? { ok: false, reason: unanswered };
  if (config.cluster !== null) checks.cluster = hubChecks?.cluster ?? { ok: false, reason: unanswered };
  return checks;
}

function reply(res: http.ServerResponse, status: number, type: string, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', ...headers });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}
