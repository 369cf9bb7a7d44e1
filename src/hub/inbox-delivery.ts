/** How much of an inbox may be on its way to a client, unacknowledged, at once. */
export interface InboxWindow {
  /** Entries sent and not yet acknowledged, at most (`inboxWindow`). */
  entries: number;
  /** Their encoded bytes at most (`maxOutboundBytes`); one entry always fits. */
  bytes: number;
}

/**
 * One logged-in session's delivery of its account's offline inbox: a sliding window, as MQTT's
 * receive maximum bounds unacknowledged QoS 1 messages. Entries go out in inbox order while
 * the window has room; each `ack` frees room, so the client's acks pace the delivery and no
 * more than the window is ever queued for it, however large the inbox. Pure bookkeeping: the
 * caller reads the store and sends.
 */
export class InboxDelivery {
  /** Highest inbox number sent in this session: the next read starts after it. */
  private sentUpTo = 0;
  /** Sent and not yet acknowledged, in order. */
  private readonly inFlight: Array<{ seq: number; bytes: number }> = [];
  private inFlightBytes = 0;
  /** Fills of this session run one after another (login, acks, dnd off, a hub restart). */
  private queue: Promise<void> = Promise.resolve();

  constructor(
    readonly username: string,
    private readonly window: InboxWindow,
  ) {}

  /** Where the next read of the inbox starts (exclusive). */
  get after(): number {
    return this.sentUpTo;
  }

  /** Entries that may still be sent now. */
  get room(): number {
    return this.window.entries - this.inFlight.length;
  }

  /** Whether an entry of `bytes` may go now: the window has room, or nothing is in flight. */
  fits(bytes: number): boolean {
    if (this.inFlight.length === 0) return true;
    return this.room > 0 && this.inFlightBytes + bytes <= this.window.bytes;
  }

  sent(seq: number, bytes: number): void {
    this.sentUpTo = seq;
    this.inFlight.push({ seq, bytes });
    this.inFlightBytes += bytes;
  }

  /** The client has every entry up to `upto`: they leave the window. */
  acked(upto: number): void {
    let n = 0;
    while (n < this.inFlight.length && this.inFlight[n]!.seq <= upto) this.inFlightBytes -= this.inFlight[n++]!.bytes;
    this.inFlight.splice(0, n);
  }

  /** Runs `fill` after the fills queued before it; never two at once for one session. */
  serially(fill: () => Promise<void>): Promise<void> {
    const run = this.queue.then(fill);
    this.queue = run.catch(() => undefined);
    return run;
  }
}
