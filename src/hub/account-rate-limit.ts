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
    readonly rate: number,
    private readonly burst = Math.max(1, rate),
  ) {}

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
