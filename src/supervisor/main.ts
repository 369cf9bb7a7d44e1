import type { Config } from '../config/schema';
import { createLogger } from '../log/logger';
import { Supervisor } from './supervisor';

/** `switchboard serve`: runs the supervisor until SIGTERM/SIGINT. Returns the exit code. */
export async function runServe(config: Config): Promise<number> {
  const log = createLogger('supervisor', config.logLevel);
  const supervisor = new Supervisor(config, log);
  let addresses;
  try {
    addresses = await supervisor.start();
  } catch (err) {
    log.fatal({ err }, 'cannot start');
    process.stderr.write(`switchboard: ${(err as Error).message}\n`);
    await supervisor.stop();
    return 1;
  }
  const where = `${addresses.host}:${addresses.port}`;
  log.info({ ...addresses, placement: config.placement, workers: config.workers, dataDir: config.dataDir }, 'listening');
  process.stderr.write(`Switchboard listening on ${where}${addresses.unixSocket ? ` and ${addresses.unixSocket}` : ''}; connect with: npx switchboard connect ${where}\n`);

  return new Promise((resolve) => {
    const stop = (signal: string): void => {
      log.info({ signal }, 'signal received');
      void supervisor.stop().then(() => resolve(0));
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
    process.on('SIGHUP', () => log.info('SIGHUP received: nothing to reload yet (configuration reload comes with TLS certificates)'));
  });
}
