/**
 * What each process of a server reports about itself for `switchboard status`: memory, CPU
 * and its message rates over the last few seconds. Sampled once a second into a short ring, so
 * a status request is answered at once with rates over a real window, not since the start.
 */

/** One process's figures as `status` shows them. */
export interface ProcessFigures {
  /** Resident set size, bytes. */
  rssBytes: number;
  /** V8 heap in use, bytes. */
  heapUsedBytes: number;
  /** CPU time (user + system) over the window, as a percentage of one core (can pass 100). */
  cpuPercent: number;
  /** Client lines received per second over the window (workers; 0 elsewhere). */
  messagesInPerSecond: number;
  /** Lines delivered to clients per second over the window (workers; 0 elsewhere). */
  messagesOutPerSecond: number;
  /** The window the rates are over, ms (shorter just after a start). */
  windowMs: number;
}

/** What a child (hub or worker) answers to the supervisor's `stats`. */
export interface ChildStats extends ProcessFigures {
  /** Client sessions this process holds (a worker), or the chat knows (the hub). */
  clients: number;
  /** Rooms that exist (the hub only). */
  rooms?: number;
}

/** Message counters a process keeps for its rates: only ever increased. */
export interface TrafficCounters {
  messagesIn: number;
  messagesOut: number;
}

interface Sample {
  at: number;
  /** CPU time used so far, µs. */
  cpu: number;
  messagesIn: number;
  messagesOut: number;
}

/** How far back the rates look, ms. */
export const RATE_WINDOW_MS = 5000;
const SAMPLE_EVERY_MS = 1000;

/**
 * Samples this process every second (an unref'd timer: it never keeps a process alive) and
 * turns the samples into figures on demand.
 */
export class ProcessSampler {
  private readonly ring: Sample[] = [];

  constructor(private readonly counters: TrafficCounters = { messagesIn: 0, messagesOut: 0 }) {
    this.ring.push(this.sample());
    setInterval(() => {
      this.ring.push(this.sample());
      // One more than the window's worth: the oldest kept is the window's start.
      while (this.ring.length > RATE_WINDOW_MS / SAMPLE_EVERY_MS + 1) this.ring.shift();
    }, SAMPLE_EVERY_MS).unref();
  }

  figures(): ProcessFigures {
    const now = this.sample();
    const from = this.ring[0]!;
    const memory = process.memoryUsage();
    const ms = now.at - from.at;
    // Just after the start the window is empty: the figures since the process began.
    const span = ms >= 100 ? ms : Math.max(1, process.uptime() * 1000);
    const base = ms >= 100 ? from : { at: 0, cpu: 0, messagesIn: 0, messagesOut: 0 };
    return {
      rssBytes: memory.rss,
      heapUsedBytes: memory.heapUsed,
      cpuPercent: round1(((now.cpu - base.cpu) / 1000 / span) * 100),
      messagesInPerSecond: round1(((now.messagesIn - base.messagesIn) * 1000) / span),
      messagesOutPerSecond: round1(((now.messagesOut - base.messagesOut) * 1000) / span),
      windowMs: Math.round(span),
    };
  }

  private sample(): Sample {
    const { user, system } = process.cpuUsage();
    return { at: performance.now(), cpu: user + system, messagesIn: this.counters.messagesIn, messagesOut: this.counters.messagesOut };
  }
}

function round1(n: number): number {
  return Math.round(n * 10) / 10;
}
