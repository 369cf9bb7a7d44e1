import net from 'node:net';
import { configFromParent } from '../config/from-parent';
import { leaveStopSignalsToSupervisor } from '../ipc/child-signals';
import type { SupervisorToChild } from '../ipc/supervisor-messages';
import { createLogger, type Logger } from '../log/logger';
import { answerMetricsRequests } from '../metrics/child-reporter';
import { createProcessMetrics } from '../metrics/process-metrics';
import { registerWorkerMetrics, workerMetrics } from '../metrics/worker-metrics';
import { TlsAcceptor, type HandshakeFailure } from '../net/tls';
import { HttpGateway } from './http-gateway';
import { featureRoutes } from './http-routes';
import { createStaticRoute } from './static-route';
import { Worker } from './worker';
import { serveWorkerOperations } from './operations';

function main(): void {
  const config = configFromParent(process.env);
  const workerId = Number(process.env.SB_WORKER_ID);
  const dedicated = config.placement === 'dedicated';
  const log = createLogger('worker', config.logLevel, { workerId });
  let stopping = false;
  let served = false;
  const tls = new TlsAcceptor(config.tlsHandshakeTimeoutMs);

  const sessionClosed = (remaining: number, connId: number | undefined): void => {
    process.send?.({ type: 'session-closed', connId });
    // The seeds' model: a dedicated worker lives for one client and ends with it.
    if (dedicated && served && remaining === 0 && tls.pendingCount === 0 && (gateway?.connectionCount ?? 0) === 0 && !stopping) {
      stopping = true;
      void worker.flushHub().then(() => process.exit(0));
    }
  };
  const worker = new Worker(workerId, config, log, {
    ready: () => process.send?.({ type: 'ready' }),
    sessionClosed,
  });
  // HTTP(S) connections: the web app, and WebSocket sessions on /ws (which the worker adopts).
  const gateway =
    config.httpPort !== null || config.httpsPort !== null
      ? new HttpGateway(worker.settings, log, [...featureRoutes({ config, log, askFiles: (ask) => worker.files.ask(ask) }), createStaticRoute(config.webRoot, log)], {
          webSocket: (transport, connId) => worker.adopt(transport, connId),
          closed: (connId) => sessionClosed(worker.sessionCount, connId),
        })
      : null;

  serveWorkerOperations(worker, tls, gateway, log);
  process.on('message', (msg: SupervisorToChild, handle?: net.Socket | object) => {
    // First: until it hears this, the supervisor keeps its copy, to place the client elsewhere
    // should this process die before it has the socket (src/supervisor/hand-offs.ts).
    if (msg.type === 'conn') process.send?.({ type: 'conn-taken', handOff: msg.handOff });
    if (msg.type === 'conn' && handle instanceof net.Socket) {
      served = true;
      const adopt = (socket: net.Socket): void => {
        if (!msg.http) worker.adopt(socket, msg.connId);
        else if (gateway) gateway.accept(socket, msg.connId);
        else {
          // Cannot happen (the supervisor and this worker share one config); not left hanging.
          socket.destroy();
          sessionClosed(worker.sessionCount, msg.connId);
        }
      };
      if (!msg.tls) adopt(handle);
      // The session starts once the handshake is done; a failed one closes only that socket
      // and counts as a session that ended (the supervisor counted it in).
      else tls.accept(handle, (secure) => {
        workerMetrics.tlsHandshakes.incFor('ok');
        adopt(secure);
      }, (failure) => {
        workerMetrics.tlsHandshakes.incFor(failure.reason.replace('-', '_'));
        logHandshakeFailure(log, failure);
        sessionClosed(worker.sessionCount, msg.connId);
      });
    } else if (msg.type === 'reload-tls') {
      try {
        tls.setMaterial(msg);
        log.debug('TLS certificate in use for new connections');
      } catch (err) {
        log.error({ err }, 'TLS certificate from the supervisor refused; keeping the previous one');
      }
    } else if (msg.type === 'shutdown') {
      stop();
    } else if (msg.type === 'upgrade-handoff') {
      upgradeAway(msg.to);
    } else if (msg.type === 'adopt') {
      served = true;
      // A raw TCP or Pipe handle (passed as such so that no process reads from it on the way).
      const socket = handle ? new net.Socket({ handle, readable: true, writable: true } as net.SocketConstructorOpts) : null;
      worker.adoptHanded(socket, msg.session);
    }
  });
  /** An upgrade: every plain session to worker `to`, then exit (src/worker/hand-off.ts). */
  const upgradeAway = (to: number): void => {
    if (stopping) return;
    stopping = true;
    tls.destroyPending();
    log.info({ to, sessions: worker.sessionCount }, 'upgrade: handing sessions to a new worker');
    worker.handOffAll(
      to,
      (session, raw, sent) => process.send?.({ type: 'handed', to, session }, (raw ?? undefined) as net.Socket | undefined, undefined, () => sent()),
      (result) => {
        // Plain HTTP connections (pages, files) are not sessions: closed here, browsers reconnect.
        const http = gateway?.connectionCount ?? 0;
        if (http > 0) result.closed.http = (result.closed.http ?? 0) + http;
        gateway?.closeAll();
        log.info(result, 'upgrade: sessions handed over; exiting');
        void worker.flushHub().then(() => process.send?.({ type: 'handoff-done', ...result }, undefined, undefined, () => process.exit(0)));
      },
    );
  };
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    tls.destroyPending();
    gateway?.closeAll();
    const budget = Math.max(100, config.shutdownTimeoutMs - 1000);
    void worker.shutdown(budget).then(() => process.exit(0));
  };
  leaveStopSignalsToSupervisor(config.shutdownTimeoutMs, (signal) => {
    log.warn({ signal }, 'stop signal to this worker alone; stopping it');
    process.send?.({ type: 'stopping' });
    stop();
  });
  // The supervisor is gone: our clients cannot be supervised any more; close them and go.
  process.on('disconnect', () => {
    if (stopping) return;
    stopping = true;
    tls.destroyPending();
    gateway?.closeAll();
    void worker.shutdown(1000).then(() => process.exit(0));
  });
  if (config.metricsPort !== null) {
    // One process per client (dedicated) would make per-process series without bound: only the counters then.
    const metrics = createProcessMetrics('worker', workerId, !dedicated);
    registerWorkerMetrics(metrics.app, () => tls.pendingCount, () => worker.hubQueueBytes);
    answerMetricsRequests(metrics);
  }
  worker.start();
}

function logHandshakeFailure(log: Logger, { reason, error, remoteAddress }: HandshakeFailure): void {
  const fields = { remote: remoteAddress, reason, code: (error as NodeJS.ErrnoException | null)?.code, detail: error?.message.split('\n')[0] };
  // A peer that connects and goes away (a port scan, a health check) is routine.
  if (reason === 'closed') log.debug(fields, 'TLS client left before the handshake finished');
  else if (reason === 'no-certificate') log.error(fields, 'TLS client closed: this worker has no certificate');
  else log.warn(fields, reason === 'timeout' ? 'TLS handshake timed out; client closed' : 'TLS handshake failed; client closed');
}

main();
