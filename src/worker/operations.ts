import type { Logger } from 'pino';
import { ProcessSampler } from '../ipc/process-figures';
import type { SupervisorToChild } from '../ipc/supervisor-messages';
import { workerMetrics } from '../metrics/worker-metrics';
import type { TlsAcceptor } from '../net/tls';
import type { HttpGateway } from './http-gateway';
import type { Worker } from './worker';

/**
 * A worker's answers to the supervisor's operations messages: its figures for `switchboard
 * status` and a settings reload (the live limits, its log level, the TLS handshake timeout, the
 * HTTP request rate of `gateway`, null when HTTP is off).
 */
export function serveWorkerOperations(worker: Worker, tls: TlsAcceptor, gateway: HttpGateway | null, log: Logger): void {
  // The rates come from the counters the metrics keep anyway: nothing more counted per message.
  const sampler = new ProcessSampler({
    get messagesIn() {
      return workerMetrics.messagesIn.sum;
    },
    get messagesOut() {
      return workerMetrics.deliveries.sum;
    },
  });
  process.on('message', (msg: SupervisorToChild) => {
    if (msg.type === 'stats') {
      process.send?.({ type: 'stats', id: msg.id, stats: { ...sampler.figures(), clients: worker.sessionCount } });
    } else if (msg.type === 'reload-config') {
      log.level = msg.config.logLevel;
      tls.handshakeTimeoutMs = msg.config.tlsHandshakeTimeoutMs;
      worker.reconfigure(msg.config);
      gateway?.reconfigure(msg.config);
    } else if (msg.type === 'listening') {
      worker.advertiseHttp(msg.http);
    }
  });
}
