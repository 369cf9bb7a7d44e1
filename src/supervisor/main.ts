import type { Config } from '../config/schema';
import { createLogger } from '../log/logger';
import type { ListenAddresses } from './listeners';
import { Supervisor } from './supervisor';

/** `switchboard serve`: runs the supervisor until SIGTERM/SIGINT. Returns the exit code. */
export async function runServe(config: Config): Promise<number> {
  const log = createLogger('supervisor', config.logLevel);
  const supervisor = new Supervisor(config, log);
  // Reloads the TLS certificate pair (other settings need a restart). Set before the start so
  // an early SIGHUP does not end the process (its default action).
  process.on('SIGHUP', () => supervisor.reloadTls());
  let addresses;
  try {
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
      log.info({ signal }, 'signal received');
      void supervisor.stop().then(() => resolve(0));
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
}

/**
 * The line for whoever started the server, e.g. `Switchboard listening on 127.0.0.1:4444 and
 * TLS 127.0.0.1:4443; connect with: ...` (tests and scripts read the ports from it).
 */
function banner({ host, port, tlsPort, unixSocket }: ListenAddresses): string {
  const at = (p: number): string => (host.includes(':') ? `[${host}]:${p}` : `${host}:${p}`);
  const where = [port !== null ? at(port) : null, tlsPort !== null ? `TLS ${at(tlsPort)}` : null, unixSocket].filter((w) => w !== null);
  const connect = port !== null ? at(port) : tlsPort !== null ? `${at(tlsPort)} --tls` : `--unix ${unixSocket}`;
  return `Switchboard listening on ${where.join(' and ')}; connect with: npx switchboard connect ${connect}\n`;
}
