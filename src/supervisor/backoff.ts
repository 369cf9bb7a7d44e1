/**
 * Restart delay for a child that keeps crashing: doubles per quick crash, and starts over
 * once a child has stayed up for `stableMs`.
 */
export class Backoff {
  private delay = 0;

  constructor(
    private readonly minMs = 100,
    private readonly maxMs = 5000,
    private readonly stableMs = 10_000,
  ) {}

  /** The delay before the next start, given how long the last one ran. */
  next(ranForMs: number): number {
    if (ranForMs >= this.stableMs) this.delay = 0;
    this.delay = this.delay === 0 ? this.minMs : Math.min(this.delay * 2, this.maxMs);
    return this.delay;
  }
}
