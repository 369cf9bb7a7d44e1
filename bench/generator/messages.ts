/**
 * The messages between the bench runner (parent) and its generator processes, a
 * discriminated union on `type` each way. Times are wall-clock milliseconds
 * (`performance.timeOrigin + performance.now()`), comparable across processes of one machine.
 */

/**
 * Which server protocol the generator's clients speak: Switchboard's NDJSON, or Socket.IO
 * through socket.io-client (`socketio`) or through the lean wire-level client (`socketio-lean`).
 */
export type Protocol = 'ndjson' | 'socketio' | 'socketio-lean';

export interface ClientPlan {
  /** Room to join after the welcome; none: stay in MainHall. */
  room?: string;
  /** Create the room first (ndjson only: Socket.IO rooms need no creation). */
  create?: boolean;
}

export interface ConnectJob {
  type: 'connect';
  protocol: Protocol;
  host: string;
  port: number;
  clients: ClientPlan[];
  /** Connects in flight at once in this process (0: all at once). */
  concurrency: number;
  /**
   * Spread this process's connects evenly over this many ms from the job's start (client k of
   * n starts at k·arriveOverMs/n), instead of as fast as `concurrency` allows. 0 or absent: no spread.
   */
  arriveOverMs?: number;
  /** Source addresses to spread connections over (loopback targets only), to widen the port space. */
  localAddresses?: string[];
}

export interface RunJob {
  type: 'run';
  /** Local indices (into this process's clients) that send. */
  senders: number[];
  /**
   * Messages per second per sender; 0: burst, closed loop: as fast as the server takes them
   * with at most `inflight` messages sent and not yet back at their sender (every sender is
   * a member of its room), so the server's queues stay bounded and latency means something.
   */
  ratePerSender: number;
  inflight: number;
  /** Bytes of each message's content (timestamp + padding). */
  size: number;
  /** Wall-clock start of sending, then warm-up, then the measured window. */
  startAt: number;
  warmupMs: number;
  durationMs: number;
  /** After the window: wait until no delivery arrived for quietMs, at most drainMaxMs. */
  quietMs: number;
  drainMaxMs: number;
}

/** Close every client at `startAt`, then connect them all again. */
export interface ReconnectJob {
  type: 'reconnect';
  startAt: number;
  concurrency: number;
}

export interface CloseJob {
  type: 'close';
}

export type ParentToGenerator = ConnectJob | RunJob | ReconnectJob | CloseJob;

export interface Failure {
  count: number;
  /** A few distinct error texts. */
  samples: string[];
}

export interface ConnectResult {
  type: 'connected';
  requested: number;
  connected: number;
  failures: Failure;
  /** First connect attempt to the last identity, ms. */
  elapsedMs: number;
  firstStartAt: number;
  lastIdentityAt: number;
  /** Encoded histograms (µs): connect() to TCP/handshake open, to identity, to end of welcome (and room joined). */
  open: string;
  identity: string;
  ready: string;
  cpuUserUs: number;
  cpuSystemUs: number;
}

export interface RunResult {
  type: 'ran';
  /** Messages sent with a timestamp inside the window. */
  sentInWindow: number;
  sentTotal: number;
  /** Sends skipped because the socket's unsent backlog passed the cap (server not reading). */
  skipped: number;
  /** Deliveries received inside the window (throughput). */
  deliveriesInWindow: number;
  /** Deliveries of messages sent inside the window, whenever received (completeness, latency). */
  deliveriesOfWindow: number;
  deliveriesTotal: number;
  /** Encoded histogram (µs) of end-to-end latency of deliveries of window messages. */
  latency: string;
  /** Generator CPU inside the window, µs. */
  cpuUserUs: number;
  cpuSystemUs: number;
  /** Clients the server closed during the run, with a few reasons. */
  disconnects: Failure;
  /** Largest lateness of the send loop behind its schedule, ms. */
  sendLagMaxMs: number;
  drainedMs: number;
}

export interface ErrorReport {
  type: 'error';
  message: string;
}

export type GeneratorToParent = ConnectResult | RunResult | ErrorReport | { type: 'closed' };
