/**
 * Rate limiting as pure state: the caller passes the time (milliseconds), so nothing here reads
 * a clock or sets a timer, and tests drive it with plain numbers.
 */

/**
 * A token bucket: refills at `rate` tokens a second and holds at most `burst`. Starts full.
 *
 * @example
 * const bucket = new TokenBucket(20, 40, Date.now()); // 20/s sustained, 40 at once
 * if (!bucket.take(Date.now())) refuse();
 */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    public rate: number,
    public burst: number,
    now: number,
  ) {
    this.tokens = burst;
    this.last = now;
  }

  /** New rate and burst from now on (a settings reload); the tokens held are kept, up to the new burst. */
  retune(rate: number, burst: number): void {
    this.rate = rate;
    this.burst = burst;
    this.tokens = Math.min(this.tokens, burst);
  }

  /** Takes `n` tokens if the bucket holds that many; otherwise takes nothing and returns false. */
  take(now: number, n = 1): boolean {
    this.refill(now);
    if (this.tokens < n) return false;
    this.tokens -= n;
    return true;
  }

  /**
   * Takes `n` tokens even into debt (bytes already read cannot be refused) and returns how many
   * milliseconds until the balance is back to zero: 0 when it did not go below.
   */
  consume(now: number, n: number): number {
    this.refill(now);
    this.tokens -= n;
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens * 1000) / this.rate);
  }

  /** True when the bucket has refilled completely: its owner has nothing left to account for. */
  isFull(now: number): boolean {
    this.refill(now);
    return this.tokens >= this.burst;
  }

  private refill(now: number): void {
    if (now <= this.last) return;
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) * this.rate) / 1000);
    this.last = now;
  }
}

export type RateVerdict = 'ok' | 'limited' | 'flooding';

/** Refusals within this window count towards flooding. */
export const FLOOD_WINDOW_MS = 10_000;
/** A connection refused more than `rateBurst` × this many times within the window is flooding. */
export const FLOOD_BURSTS = 4;

/**
 * One connection's message rate: a token bucket, plus a count of its refusals. A client that
 * briefly overruns is told (`limited`); one that keeps going after being told, more than
 * `maxRefusals` refusals within `windowMs`, is `flooding` and should be dropped.
 */
export class MessageRateGuard {
  private readonly bucket: TokenBucket;
  /** Times of the latest refusals, a ring; allocated at the first refusal. */
  private refusals: Float64Array | null = null;
  private next = 0;
  private count = 0;

  constructor(
    rate: number,
    burst: number,
    now: number,
    private maxRefusals = burst * FLOOD_BURSTS,
    private readonly windowMs = FLOOD_WINDOW_MS,
  ) {
    this.bucket = new TokenBucket(rate, burst, now);
  }

  /** New rate and burst from now on (a settings reload): the flood allowance follows the burst, refusals so far forgotten. */
  retune(rate: number, burst: number): void {
    this.bucket.retune(rate, burst);
    if (this.maxRefusals !== burst * FLOOD_BURSTS) {
      this.maxRefusals = burst * FLOOD_BURSTS;
      this.refusals = null;
      this.next = 0;
      this.count = 0;
    }
  }

  check(now: number): RateVerdict {
    if (this.bucket.take(now)) return 'ok';
    const ring = (this.refusals ??= new Float64Array(this.maxRefusals));
    // The ring is full and its oldest refusal is in the window: this one is one too many.
    if (this.count === ring.length && ring[this.next]! > now - this.windowMs) return 'flooding';
    ring[this.next] = now;
    this.next = (this.next + 1) % ring.length;
    this.count = Math.min(this.count + 1, ring.length);
    return 'limited';
  }
}
