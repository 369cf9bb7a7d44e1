import fs from 'node:fs';
import net from 'node:net';
import { configFromParent } from '../config/from-parent';
import { leaveStopSignalsToSupervisor } from '../ipc/child-signals';
import { hubSocketPath } from '../ipc/paths';
import type { SupervisorToChild } from '../ipc/supervisor-messages';
import { createLogger } from '../log/logger';
import { WriteBatcher } from '../net/write-batcher';
import { createStore } from '../store';
import { Hub } from './hub';
import { serveOperations } from './operations';
import { WorkerLink } from './worker-link';

async function main(): Promise<void> {
  const config = configFromParent(process.env);
  const log = createLogger('hub', config.logLevel);
  // Installed before the store opens, so a Ctrl-C during the start does not kill the hub.
  let stopping = false;
  let stop = (): void => process.exit(0);
  leaveStopSignalsToSupervisor(config.shutdownTimeoutMs, (signal) => {
    log.warn({ signal }, 'stop signal to the hub alone; stopping it (the supervisor restarts it)');
    stop();
  });
  const expected = (process.env.SB_EXPECT_WORKERS ?? '').split(',').filter(Boolean).map(Number);
  // The hub is the store's only writer: sequencing and persistence in one place.
  const store = createStore(config.store, config.dataDir);
  await store.migrate();
  // A cluster node's state is the replicated log's: a restarted hub replays it, and its
  // workers' sessions are closed (their clients reconnect) rather than restored.
  const cluster = config.cluster
    ? await (await import('../cluster/node')).joinCluster(config, store, log, (err) => {
        log.fatal({ err }, 'the cluster log cannot be read; the hub stops (the supervisor restarts it)');
        process.exit(1);
      })
    : null;
  const hub = new Hub(store, cluster ? [] : expected, config.hubRecoveryTimeoutMs, log, config, cluster?.ordering);
  // Early, so a worker dying while this hub loads is not waited for until the deadline.
  process.on('message', (msg: SupervisorToChild) => {
    if (msg.type === 'worker-exited') hub.workerExited(msg.workerId);
  });
  serveOperations(hub, config, log, cluster?.nodeId ?? '');
  await hub.load();
  const socketPath = hubSocketPath(config.dataDir);

  const batcher = new WriteBatcher();
  const server = net.createServer((socket) => {
    const link = new WorkerLink(
      socket,
      batcher,
      (l, msg) => {
        try {
          hub.onMessage(l, msg);
        } catch (err) {
          // A bug in handling one request must not take the other sessions down with it.
          log.error({ err, workerId: l.workerId, kind: msg.kind }, 'failed to handle a frame; skipped');
        }
      },
      (l, err) => {
        log.error({ err, workerId: l.workerId }, 'undecodable frame from worker; dropping its link');
        socket.destroy();
      },
      cluster?.nodeId,
    );
    socket.on('error', (err) => log.warn({ err, workerId: link.workerId }, 'worker link error'));
    socket.on('close', () => hub.onLinkClosed(link));
  });

  // A previous hub of this server left its socket file behind when it died.
  fs.rmSync(socketPath, { force: true });
  server.listen(socketPath, () => {
    fs.chmodSync(socketPath, 0o600);
    log.info({ socketPath }, 'hub listening');
    process.send?.({ type: 'ready' });
  });

  stop = (): void => {
    if (stopping) return;
    stopping = true;
    log.info({ sessions: hub.sessionCount }, 'hub stopping');
    server.close();
    void hub
      .settled()
      .then(() => cluster?.stop())
      .catch((err: Error) => log.warn({ err }, 'leaving the cluster failed'))
      .finally(() => store.close().finally(() => process.exit(0)));
  };
  process.on('message', (msg: SupervisorToChild) => {
    if (msg.type === 'shutdown') stop();
  });
  // The supervisor is gone (killed): nobody will restart or stop us, so stop now.
  process.on('disconnect', () => process.exit(0));
}

main().catch((err: Error) => {
  // Without its store the hub cannot serve; the supervisor restarts it with backoff.
  createLogger('hub', 'error').fatal({ err }, 'hub failed to start');
  process.exit(1);
});
