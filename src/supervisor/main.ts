import type { LoadInput } from '../config/load';
import type { Config } from '../config/schema';
import { usePrivateUmask } from '../fs/private-files';
import { STOP_SIGNALS } from '../ipc/child-signals';
import { createLogger } from '../log/logger';
import type { ListenAddresses } from './listeners';
import { answerUpgradeRequests, removePidRecord, takeUpgradeRequests, writePidRecord } from './run-records';
import { checkPidFile, removePidFile, writePidFile } from './pid-file';
import { startMetricsServer, type MetricsServer } from './metrics-server';
import { Supervisor } from './supervisor';
import { HangupDetector } from './terminal';
import { commandName } from '../cli/command-name';

/**
 * `switchboard serve`: runs the supervisor until a stop signal (SIGTERM, SIGINT, SIGQUIT, or a
 * SIGHUP from a terminal that hung up), then stops in order. Returns the exit code: 0 after an
 * orderly stop. A second stop signal during the stop ends the supervisor at once (its default
 * action); the children then notice their IPC channel close and close their clients themselves.
 */
export async function runServe(config: Config, loadInput: LoadInput | null = null, options: ServeOptions = {}): Promise<number> {
  // Whatever the server and its children create is the owner's alone (see private-files).
  usePrivateUmask();
  const log = createLogger('supervisor', config.logLevel);
  const supervisor = new Supervisor(config, log, loadInput);
  const hangup = new HangupDetector();
  let stopOnSignal: ((signal: string) => void) | null = null;
  // SIGHUP reloads the settings and the TLS certificate pair (src/config/reload.ts), unless
  // the terminal is gone. Set before the start so an early SIGHUP does not end the process.
  process.on('SIGHUP', () => {
    // A bad configuration is logged by the reload, which changes nothing.
    if (!hangup.terminalLost()) return void supervisor.reload().catch(() => {});
    // Nothing can be written to a hung-up terminal; logging must not stop the stop.
    for (const out of [process.stdout, process.stderr]) out.on('error', () => {});
    stopOnSignal?.('SIGHUP');
  });
  // SIGUSR2 (what `switchboard upgrade` sends): new workers, the plain sessions kept open. Set
  // before the start so that an early one is refused rather than ending the process.
  let started = false;
  process.on('SIGUSR2', () => {
    const requests = takeUpgradeRequests(config.dataDir);
    const run = started ? supervisor.upgrade() : Promise.resolve({ ok: false, error: 'the server is still starting', workersReplaced: 0, oldPids: [], newPids: [], sessionsMoved: 0, sessionsClosed: {}, durationMs: 0 });
    void run.then((result) => {
      if (!result.ok) log.warn(result, 'upgrade refused or failed');
      try {
        answerUpgradeRequests(config.dataDir, requests, result);
      } catch (err) {
        log.error({ err }, 'could not record the upgrade result');
      }
    });
  });
  let addresses;
  let metrics: MetricsServer | null = null;
  try {
    if (options.pidFile) checkPidFile(options.pidFile);
    // Before the start, so that probes see /healthz alive and /readyz not ready while it starts.
    if (config.metricsPort !== null) {
      metrics = await startMetricsServer(config, supervisor, log);
      supervisor.showMetricsListener(metrics);
    }
    // A cluster node that cannot reach its log refuses to start, with the reason, at once.
    // Loaded only then: one node does not pay for the NATS client.
    if (config.cluster) await (await import('../cluster/node')).probeCluster(config, log);
    addresses = await supervisor.start();
    // Written once the server serves: whoever waits for the file may connect.
    if (options.pidFile) writePidFile(options.pidFile);
  } catch (err) {
    log.fatal({ err }, 'cannot start');
    process.stderr.write(`switchboard: ${(err as Error).message}\n`);
    options.failed?.((err as Error).message);
    await supervisor.stop();
    await metrics?.close();
    return 1;
  }
  log.info({ ...addresses, placement: config.placement, workers: config.workers, dataDir: config.dataDir }, 'listening');
  writePidRecord(config.dataDir, process.pid);
  started = true;
  process.stderr.write(banner(addresses, metrics));
  options.ready?.();

  return new Promise((resolve) => {
    const stop = (signal: string): void => {
      stopOnSignal = null;
      // From now on any stop signal has its default action: a second Ctrl-C ends at once.
      for (const s of STOP_SIGNALS) process.removeAllListeners(s);
      log.info({ signal }, 'signal received');
      void supervisor
        .stop()
        .then(() => metrics?.close())
        .then(() => {
          removePidRecord(config.dataDir);
          if (options.pidFile) removePidFile(options.pidFile);
          resolve(0);
        });
    };
    stopOnSignal = stop;
    for (const signal of STOP_SIGNALS) process.once(signal, () => stop(signal));
  });
}

/** How `serve` runs beside its settings (flags of `serve` that are not settings: src/cli/serve-command.ts). */
export interface ServeOptions {
  /** Absolute path of a pid file: refused when it names a live process, written once serving, removed at exit. */
  pidFile?: string;
  /** Called once serving (a daemon tells its starter). */
  ready?: () => void;
  /** Called with the reason when the start fails. */
  failed?: (reason: string) => void;
}

/**
 * The line for whoever started the server, e.g. `Switchboard listening on 127.0.0.1:4444 and
 * TLS 127.0.0.1:4443; connect with: ...` (tests and scripts read the ports from it), then the
 * URLs to open: the web app's, and `metrics: http://127.0.0.1:9464/metrics` with `--metrics-port`.
 */
function banner({ host, port, tlsPort, unixSocket, httpPort, httpsPort }: ListenAddresses, metrics: MetricsServer | null): string {
  const at = (p: number): string => (host.includes(':') ? `[${host}]:${p}` : `${host}:${p}`);
  const where = [
    port !== null ? at(port) : null,
    tlsPort !== null ? `TLS ${at(tlsPort)}` : null,
    unixSocket,
    httpPort !== null ? `HTTP ${at(httpPort)}` : null,
    httpsPort !== null ? `HTTPS ${at(httpsPort)}` : null,
  ].filter((w) => w !== null);
  const connect = port !== null ? at(port) : tlsPort !== null ? `${at(tlsPort)} --tls` : unixSocket !== null ? `--unix ${unixSocket}` : null;
  const line = `Switchboard listening on ${where.join(' and ')}` + (connect !== null ? `; connect with: ${commandName()} connect ${connect}\n` : ';\n');
  return line + webAppLines(host, httpPort, httpsPort) + (metrics ? `metrics: http://${urlHost(metrics.host)}:${metrics.port}/metrics\n` : '');
}

/** `web app: http://127.0.0.1:8080/`, the URL to open, per HTTP(S) listener. */
function webAppLines(host: string, httpPort: number | null, httpsPort: number | null): string {
  const shown = urlHost(host);
  let out = '';
  if (httpPort !== null) out += `web app: http://${shown}:${httpPort}/\n`;
  if (httpsPort !== null) out += `web app: https://${shown}:${httpsPort}/\n`;
  return out;
}

/** A listening host as a URL's: a wildcard (0.0.0.0, ::) is localhost, as a browser cannot open the wildcard. */
function urlHost(host: string): string {
  return host === '0.0.0.0' || host === '::' || host === '' ? 'localhost' : host.includes(':') ? `[${host}]` : host;
}
