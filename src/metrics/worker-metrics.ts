import net from 'node:net';
import type { SessionSocket } from '../worker/session-socket';
import type { Registry } from 'prom-client';
import { ComputedGauge, FastCounter, register, type MetricSample } from './fast-metrics';
import { ERRORS_HELP, IPC_QUEUE_HELP } from './shared-help';

/** Which listener a client came in on: the `listener` label. */
export type ListenerKind = 'tcp' | 'tls' | 'unix' | 'websocket';

/** What the connection and byte metrics read off a client connection when scraped. */
type Tracked = Pick<SessionSocket, 'bytesRead' | 'bytesWritten' | 'writableLength'>;

/** Live client connections of this worker and their listener; bytes of closed ones are kept as totals. */
const live = new Map<Tracked, ListenerKind>();
const closedBytesIn: Record<ListenerKind, number> = { tcp: 0, tls: 0, unix: 0, websocket: 0 };
const closedBytesOut: Record<ListenerKind, number> = { tcp: 0, tls: 0, unix: 0, websocket: 0 };
/** Set once the metrics are registered (`--metrics-port` on): until then nothing is tracked. */
let tracking = false;

/** One listener shared by every tracked connection (`this` is it): no closure per connection. */
function onTrackedClose(this: Tracked): void {
  const kind = live.get(this);
  if (kind === undefined) return;
  live.delete(this);
  closedBytesIn[kind] += this.bytesRead;
  closedBytesOut[kind] += this.bytesWritten;
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
  httpErrors: new FastCounter(
    'switchboard_http_errors_total',
    'HTTP error answers (4xx, 5xx) of the workers\' gateway, by their error code (the JSON body\'s error field; never by path): RATE_LIMITED is the per-connection request rate, --http-rate-limit.',
    'code',
    ['RATE_LIMITED'],
  ),
  tlsHandshakes: new FastCounter(
    'switchboard_tls_handshakes_total',
    'TLS handshakes on the TLS listener by result: ok, or the failure (error, timeout, closed, no_certificate).',
    'result',
  ),
};

/**
 * A client connection the worker serves: counted as open until it closes; its bytes are counted
 * (a WebSocket's are its message payloads, see WebSocketTransport). Its listener: WebSocket for
 * a transport that is not a socket, TLS for a TLS socket, Unix for one without a remote
 * address, else TCP.
 */
export function trackConnection(socket: SessionSocket): void {
  if (!tracking) return;
  live.set(socket, socket instanceof net.Socket ? listenerOf(socket) : 'websocket');
  socket.on('close', onTrackedClose);
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
    new ComputedGauge('switchboard_connections', 'Client connections held by the workers, by listener (tcp, tls, unix, websocket) and state (handshake: TLS not done yet; open).', () => {
      const open: Record<ListenerKind, number> = { tcp: 0, tls: 0, unix: 0, websocket: 0 };
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
  register(registry, new BytesCounter('switchboard_client_received_bytes_total', 'Bytes received from clients, by listener (a WebSocket\'s: its message payloads).', (s) => s.bytesRead, closedBytesIn));
  register(registry, new BytesCounter('switchboard_client_sent_bytes_total', 'Bytes sent to clients, by listener (a WebSocket\'s: its message payloads).', (s) => s.bytesWritten, closedBytesOut));
  register(registry, new ComputedGauge('switchboard_ipc_queue_bytes', IPC_QUEUE_HELP, () => [{ value: hubQueueBytes(), labels: { link: 'worker_to_hub' } }]));
}

/** A byte counter by listener, read off the connections when scraped: no work per read or write. */
class BytesCounter {
  constructor(
    readonly name: string,
    readonly help: string,
    private readonly ofSocket: (s: Tracked) => number,
    /** Bytes of the connections already closed, by listener. */
    private readonly closed: Readonly<Record<ListenerKind, number>>,
  ) {}

  get(): Promise<{ name: string; help: string; type: 'counter'; aggregator: string; values: MetricSample[] }> {
    const bytes = { ...this.closed };
    for (const [s, kind] of live) bytes[kind] += this.ofSocket(s);
    const values = Object.entries(bytes).map(([listener, value]) => ({ value, labels: { listener } }));
    return Promise.resolve({ name: this.name, help: this.help, type: 'counter', aggregator: 'sum', values });
  }
}
