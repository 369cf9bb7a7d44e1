import net from 'node:net';
import type { SessionSocket } from '../worker/session-socket';
import type { Registry } from 'prom-client';
import { ComputedGauge, FastCounter, register, type MetricSample } from './fast-metrics';
import { ERRORS_HELP, IPC_QUEUE_HELP } from './shared-help';

/** Which listener a client came in on: the `listener` label. */
export type ListenerKind = 'tcp' | 'tls' | 'unix' | 'websocket';

/** Live client sockets of this worker and their listener; bytes of closed ones are kept as totals. */
const live = new Map<net.Socket, ListenerKind>();
/** Open WebSocket sessions (their bytes are the HTTP socket's, not counted here). */
let webSockets = 0;
let closedBytesIn = 0;
let closedBytesOut = 0;
/** Set once the metrics are registered (`--metrics-port` on): until then nothing is tracked. */
let tracking = false;

/** One listener shared by every tracked socket (`this` is the socket): no closure per connection. */
function onTrackedClose(this: net.Socket): void {
  live.delete(this);
  closedBytesIn += this.bytesRead;
  closedBytesOut += this.bytesWritten;
}

/**
 * A worker's counters. The per-message ones (`messagesIn`, `deliveries`) are one add each; the
 * rest count per connection or per refusal. Read by the supervisor on a scrape and summed over
 * the workers (see docs/OPERATIONS.md for each metric's meaning).
 */
export const workerMetrics = {
  messagesIn: new FastCounter(
    'switchboard_messages_in_total',
    'Valid client messages accepted by the workers, by kind: chat (room messages), request (anything else sent on to the hub), keepalive (ping and hello, answered by the worker).',
    'kind',
    ['chat', 'request', 'keepalive'],
  ),
  deliveries: new FastCounter('switchboard_deliveries_total', 'Lines the workers queued to client sockets from the hub: each room message counts once per member it is written to.'),
  errors: new FastCounter('switchboard_errors_total', ERRORS_HELP, 'code'),
  closed: new FastCounter(
    'switchboard_connections_closed_total',
    'Client connections that ended, by reason: the error code the server closed them with (FLOODING: over the rate limit; SLOW_CONSUMER: output queue full; SHUTTING_DOWN, LINE_TOO_LONG, ...), or client when the client went.',
    'reason',
  ),
  tlsHandshakes: new FastCounter(
    'switchboard_tls_handshakes_total',
    'TLS handshakes on the TLS listener by result: ok, or the failure (error, timeout, closed, no_certificate).',
    'result',
  ),
};

/**
 * A client socket the worker serves: counted as open until it closes; its bytes are counted.
 * Its listener: TLS for a TLS socket, Unix for one without a remote address, else TCP.
 */
export function trackConnection(socket: SessionSocket): void {
  if (!tracking) return;
  if (socket instanceof net.Socket) {
    live.set(socket, listenerOf(socket));
    socket.once('close', onTrackedClose);
    return;
  }
  webSockets++;
  socket.on('close', () => webSockets--);
}

function listenerOf(socket: net.Socket): ListenerKind {
  return (socket as { encrypted?: boolean }).encrypted === true ? 'tls' : socket.remoteAddress === undefined ? 'unix' : 'tcp';
}

/**
 * Registers the worker's metrics in `registry`. `pendingHandshakes`: TLS connections still
 * handshaking; `hubQueueBytes`: bytes waiting to reach the hub (queued while it is away, plus
 * the link socket's buffer).
 */
export function registerWorkerMetrics(registry: Registry, pendingHandshakes: () => number, hubQueueBytes: () => number): void {
  tracking = true;
  for (const m of Object.values(workerMetrics)) register(registry, m);
  register(
    registry,
    new ComputedGauge('switchboard_connections', 'Client connections held by the workers, by listener (tcp, tls, unix) and state (handshake: TLS not done yet; open).', () => {
      const open: Record<ListenerKind, number> = { tcp: 0, tls: 0, unix: 0, websocket: webSockets };
      for (const kind of live.values()) open[kind]++;
      const samples: MetricSample[] = Object.entries(open).map(([listener, value]) => ({ value, labels: { listener, state: 'open' } }));
      samples.push({ value: pendingHandshakes(), labels: { listener: 'tls', state: 'handshake' } });
      return samples;
    }),
  );
  register(
    registry,
    new ComputedGauge('switchboard_client_queue_bytes', 'Bytes written to client sockets and not yet taken by the kernel (output queues; a client over --max-outbound-bytes is closed).', () => {
      let bytes = 0;
      for (const s of live.keys()) bytes += s.writableLength;
      return [{ value: bytes, labels: {} }];
    }),
  );
  register(registry, new BytesCounter('switchboard_client_received_bytes_total', 'Bytes received from clients.', (s) => s.bytesRead, () => closedBytesIn));
  register(registry, new BytesCounter('switchboard_client_sent_bytes_total', 'Bytes sent to clients.', (s) => s.bytesWritten, () => closedBytesOut));
  register(registry, new ComputedGauge('switchboard_ipc_queue_bytes', IPC_QUEUE_HELP, () => [{ value: hubQueueBytes(), labels: { link: 'worker_to_hub' } }]));
}

/** A byte counter read off the sockets when scraped: no work per read or write. */
class BytesCounter {
  constructor(
    readonly name: string,
    readonly help: string,
    private readonly ofSocket: (s: net.Socket) => number,
    private readonly closed: () => number,
  ) {}

  get(): Promise<{ name: string; help: string; type: 'counter'; aggregator: string; values: MetricSample[] }> {
    let value = this.closed();
    for (const s of live.keys()) value += this.ofSocket(s);
    return Promise.resolve({ name: this.name, help: this.help, type: 'counter', aggregator: 'sum', values: [{ value, labels: {} }] });
  }
}
