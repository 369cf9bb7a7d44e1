/**
 * The WebSocket link, without chat semantics: opens it, reopens it after a drop with a growing,
 * jittered delay, keeps it alive with `ping`, and hands every text frame up. The socket comes
 * from an injected factory so the same code runs on the browser's WebSocket and, in node tests,
 * on `ws` or an in-memory fake.
 */

/** The part of the WebSocket API used here (the browser's WebSocket and `ws` both fit). */
export interface SocketLike {
  send(data: string): void;
  close(): void;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: unknown) => void) | null;
  onerror: ((ev: unknown) => void) | null;
}

/** Timer functions (injected so tests can drive time). */
export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface ConnectionOptions {
  url: string;
  createSocket: (url: string) => SocketLike;
  timers?: Timers;
  /** First reconnect delay, ms (default 250); doubles up to `maxDelayMs` (default 5000). */
  initialDelayMs?: number;
  maxDelayMs?: number;
  /** A socket not open within this many ms is given up and tried again (default 10000). */
  openTimeoutMs?: number;
  /** Interval of keepalive pings while open, ms (default 25000; 0: none). */
  pingMs?: number;
  random?: () => number;
}

export interface ConnectionEvents {
  /** A socket opened; `reconnect` is false for the first one. */
  open(reconnect: boolean): void;
  /** One text frame. */
  frame(text: string): void;
  /** The socket closed; `willRetry` says whether a reconnect is scheduled. */
  down(willRetry: boolean): void;
}

/**
 * The delay before reconnect attempt `attempt` (0 first): `initial` doubling up to `max`, less
 * up to a quarter at random so clients dropped together do not return in the same instant.
 */
export function reconnectDelay(attempt: number, initial: number, max: number, random: number): number {
  const nominal = Math.min(max, initial * 2 ** Math.min(attempt, 20));
  return Math.round(nominal * (1 - 0.25 * random));
}

const defaultTimers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

export class Connection {
  private socket: SocketLike | null = null;
  private attempt = 0;
  private opened = false;
  private everOpened = false;
  private stopped = false;
  private retryTimer: unknown = null;
  private pingTimer: unknown = null;
  private readonly timers: Timers;

  constructor(
    private readonly options: ConnectionOptions,
    private readonly events: ConnectionEvents,
  ) {
    this.timers = options.timers ?? defaultTimers;
  }

  /** Opens the first socket. */
  start(): void {
    this.stopped = false;
    this.open();
  }

  /** Whether a socket is open now. */
  get isOpen(): boolean {
    return this.opened;
  }

  /** Sends one protocol object as a text frame; false (dropped) while no socket is open. */
  send(message: object): boolean {
    if (!this.socket || !this.opened) return false;
    this.socket.send(JSON.stringify(message));
    return true;
  }

  /** Closes for good: no reconnect. */
  stop(): void {
    this.stopped = true;
    this.clearTimers();
    const s = this.socket;
    this.socket = null;
    this.opened = false;
    s?.close();
  }

  private open(): void {
    const socket = this.options.createSocket(this.options.url);
    this.socket = socket;
    // A handshake that neither succeeds nor fails (a connection lost inside the server) would
    // leave the user "reconnecting" forever: give up on it and try a new one.
    const giveUp = this.timers.setTimeout(() => {
      if (this.socket !== socket || this.opened) return;
      this.socket = null;
      socket.onopen = socket.onmessage = socket.onclose = null;
      socket.close();
      this.events.down(!this.stopped);
      if (!this.stopped) this.scheduleRetry();
    }, this.options.openTimeoutMs ?? 10_000);
    socket.onopen = () => {
      this.timers.clearTimeout(giveUp);
      if (this.socket !== socket) return;
      this.opened = true;
      this.attempt = 0;
      const reconnect = this.everOpened;
      this.everOpened = true;
      this.schedulePing();
      this.events.open(reconnect);
    };
    socket.onmessage = (ev) => {
      if (this.socket !== socket) return;
      if (typeof ev.data === 'string') this.events.frame(ev.data);
    };
    socket.onerror = () => {
      /* a close follows */
    };
    socket.onclose = () => {
      this.timers.clearTimeout(giveUp);
      if (this.socket !== socket) return;
      this.socket = null;
      this.opened = false;
      this.clearTimers();
      const retry = !this.stopped;
      this.events.down(retry);
      if (retry) this.scheduleRetry();
    };
  }

  private scheduleRetry(): void {
    const o = this.options;
    const delay = reconnectDelay(this.attempt++, o.initialDelayMs ?? 250, o.maxDelayMs ?? 5000, (o.random ?? Math.random)());
    this.retryTimer = this.timers.setTimeout(() => {
      this.retryTimer = null;
      if (!this.stopped) this.open();
    }, delay);
  }

  private schedulePing(): void {
    const every = this.options.pingMs ?? 25_000;
    if (every <= 0) return;
    this.pingTimer = this.timers.setTimeout(() => {
      this.pingTimer = null;
      if (this.send({ type: 'ping' })) this.schedulePing();
    }, every);
  }

  private clearTimers(): void {
    if (this.retryTimer !== null) this.timers.clearTimeout(this.retryTimer);
    if (this.pingTimer !== null) this.timers.clearTimeout(this.pingTimer);
    this.retryTimer = null;
    this.pingTimer = null;
  }
}
