/**
 * Failed-login limits per account and per remote address: after `maxFailures` failures within
 * `windowMs`, further attempts are refused until the oldest failure ages out. In memory in the
 * hub, which sees every login of the node.
 */
export class LoginThrottle {
  private readonly failures = new Map<string, number[]>();

  constructor(
    private readonly maxFailures: number,
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** True when `key` (e.g. "user:alice" or "addr:1.2.3.4") may try now. */
  allows(key: string): boolean {
    return this.recent(key).length < this.maxFailures;
  }

  fail(key: string): void {
    const list = this.recent(key);
    list.push(this.now());
    this.failures.set(key, list);
  }

  succeed(key: string): void {
    this.failures.delete(key);
  }

  private recent(key: string): number[] {
    const cutoff = this.now() - this.windowMs;
    const list = (this.failures.get(key) ?? []).filter((t) => t > cutoff);
    if (list.length === 0) this.failures.delete(key);
    return list;
  }
}
