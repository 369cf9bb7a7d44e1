import { TokenBucket } from '../core/rate-limit';

/**
 * `accountRateLimit`: room messages and DMs a second per account, across all its connections
 * and reconnections (a worker's per-connection limit resets with each new connection; this one
 * does not). Burst: one second's worth. Guests are limited per connection only.
 */
export class AccountRateLimiter {
  private readonly buckets = new Map<string, TokenBucket>();
  /** `burst`: what may be spent at once; one second's worth unless given. */
  constructor(
    public rate: number,
    private burst = Math.max(1, rate),
  ) {}

  /** A reload: the new rate applies to every account now, its budget so far kept (capped by the new burst). */
  setRate(rate: number): void {
    this.rate = rate;
    this.burst = Math.max(1, rate);
    for (const bucket of this.buckets.values()) bucket.retune(rate, this.burst);
  }

  /** Takes one message from `username`'s budget; false when it is spent. */
  allows(username: string, now: number): boolean {
    let bucket = this.buckets.get(username);
    if (!bucket) this.buckets.set(username, (bucket = new TokenBucket(this.rate, this.burst, now)));
    return bucket.take(now);
  }

  /** Forgets accounts whose budget has refilled: a full bucket is the same as none. */
  sweep(now: number): void {
    for (const [username, bucket] of this.buckets) if (bucket.isFull(now)) this.buckets.delete(username);
  }

  get size(): number {
    return this.buckets.size;
  }
}
