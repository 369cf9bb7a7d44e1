import type { Config } from '../config/schema';
import { usePrivateUmask } from '../fs/private-files';
import { STOP_SIGNALS } from '../ipc/child-signals';
import { createLogger } from '../log/logger';
import type { ListenAddresses } from './listeners';
import { Supervisor } from './supervisor';
import { HangupDetector } from './terminal';

/**
 * `switchboard serve`: runs the supervisor until a stop signal (SIGTERM, SIGINT, SIGQUIT, or a
 * SIGHUP from a terminal that hung up), then stops in order. Returns the exit code: 0 after an
 * orderly stop. A second stop signal during the stop ends the supervisor at once (its default
 * action); the children then notice their IPC channel close and close their clients themselves.
 */
export async function runServe(config: Config): Promise<number> {
  // Whatever the server and its children create is the owner's alone (see private-files).
  usePrivateUmask();
  const log = createLogger('supervisor', config.logLevel);
  const supervisor = new Supervisor(config, log);
  const hangup = new HangupDetector();
  let stopOnSignal: ((signal: string) => void) | null = null;
  // SIGHUP reloads the TLS certificate pair (other settings need a restart), unless the
  // terminal is gone. Set before the start so an early SIGHUP does not end the process.
  process.on('SIGHUP', () => {
    if (!hangup.terminalLost()) return supervisor.reloadTls();
    // Nothing can be written to a hung-up terminal; logging must not stop the stop.
    for (const out of [process.stdout, process.stderr]) out.on('error', () => {});
    stopOnSignal?.('SIGHUP');
  });
  let addresses;
  try {
    // A cluster node that cannot reach its log refuses to start, with the reason, at once.
    // Loaded only then: one node does not pay for the NATS client.
    if (config.cluster) await (await import('../cluster/node')).probeCluster(config, log);
    addresses = await supervisor.start();
  } catch (err) {
    log.fatal({ err }, 'cannot start');
    process.stderr.write(`switchboard: ${(err as Error).message}\n`);
    await supervisor.stop();
    return 1;
  }
  log.info({ ...addresses, placement: config.placement, workers: config.workers, dataDir: config.dataDir }, 'listening');
  process.stderr.write(banner(addresses));

  return new Promise((resolve) => {
    const stop = (signal: string): void => {
      stopOnSignal = null;
      // From now on any stop signal has its default action: a second Ctrl-C ends at once.
      for (const s of STOP_SIGNALS) process.removeAllListeners(s);
      log.info({ signal }, 'signal received');
      void supervisor.stop().then(() => resolve(0));
    };
    stopOnSignal = stop;
    for (const signal of STOP_SIGNALS) process.once(signal, () => stop(signal));
  });
}

/**
 * The line for whoever started the server, e.g. `Switchboard listening on 127.0.0.1:4444 and
 * TLS 127.0.0.1:4443; connect with: ...` (tests and scripts read the ports from it).
 */
function banner({ host, port, tlsPort, unixSocket, httpPort, httpsPort }: ListenAddresses): string {
  const at = (p: number): string => (host.includes(':') ? `[${host}]:${p}` : `${host}:${p}`);
  const where = [
    port !== null ? at(port) : null,
    tlsPort !== null ? `TLS ${at(tlsPort)}` : null,
    unixSocket,
    httpPort !== null ? `HTTP ${at(httpPort)}` : null,
    httpsPort !== null ? `HTTPS ${at(httpsPort)}` : null,
  ].filter((w) => w !== null);
  const connect = port !== null ? at(port) : tlsPort !== null ? `${at(tlsPort)} --tls` : unixSocket !== null ? `--unix ${unixSocket}` : null;
  const line = `Switchboard listening on ${where.join(' and ')}` + (connect !== null ? `; connect with: npx switchboard connect ${connect}\n` : ';\n');
  return line + webAppLines(host, httpPort, httpsPort);
}

/**
 * `web app: http://127.0.0.1:8080/`, the URL to open, per HTTP(S) listener. A wildcard host
 * (0.0.0.0, ::) is shown as localhost: a browser cannot open the wildcard.
 */
function webAppLines(host: string, httpPort: number | null, httpsPort: number | null): string {
  const shown = host === '0.0.0.0' || host === '::' || host === '' ? 'localhost' : host.includes(':') ? `[${host}]` : host;
  let out = '';
  if (httpPort !== null) out += `web app: http://${shown}:${httpPort}/\n`;
  if (httpsPort !== null) out += `web app: https://${shown}:${httpsPort}/\n`;
  return out;
}
