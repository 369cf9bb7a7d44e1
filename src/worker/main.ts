import type net from 'node:net';
import { configFromParent } from '../config/from-parent';
import type { SupervisorToChild } from '../ipc/supervisor-messages';
import { createLogger } from '../log/logger';
import { Worker } from './worker';

function main(): void {
  const config = configFromParent(process.env);
  const workerId = Number(process.env.SB_WORKER_ID);
  const dedicated = config.placement === 'dedicated';
  const log = createLogger('worker', config.logLevel, { workerId });
  let stopping = false;
  let served = false;

  const worker = new Worker(workerId, config, log, {
    ready: () => process.send?.({ type: 'ready' }),
    sessionClosed: (remaining) => {
      process.send?.({ type: 'session-closed' });
      // The seeds' model: a dedicated worker lives for one client and ends with it.
      if (dedicated && served && remaining === 0 && !stopping) {
        stopping = true;
        void worker.flushHub().then(() => process.exit(0));
      }
    },
  });

  process.on('message', (msg: SupervisorToChild, handle?: net.Socket) => {
    if (msg.type === 'conn' && handle) {
      served = true;
      worker.adopt(handle);
    } else if (msg.type === 'shutdown' && !stopping) {
      stopping = true;
      const budget = Math.max(100, config.shutdownTimeoutMs - 1000);
      void worker.shutdown(budget).then(() => process.exit(0));
    }
  });
  // The supervisor is gone: our clients cannot be supervised any more; close them and go.
  process.on('disconnect', () => {
    if (stopping) return;
    stopping = true;
    void worker.shutdown(1000).then(() => process.exit(0));
  });
  worker.start();
}

main();
