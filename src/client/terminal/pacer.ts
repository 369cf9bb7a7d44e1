/**
 * Pacing of what the client sends to the server's rate limit (docs/PROTOCOL.md, "Limits"): a
 * token bucket like the server's, filled at the advertised rate (the `hello` reply's `limits`;
 * the protocol's defaults until then), kept a little under it so that the two clocks never
 * disagree. A `RATE_LIMITED` refusal empties the bucket and halves the rate for a while.
 */

/** The protocol's defaults (`--rate-limit`, `--rate-burst`), used until the server tells its own. */
export const DEFAULT_RATE = 20;
export const DEFAULT_BURST = 40;

/** The share of the advertised rate used: the server's clock and ours drift apart a little. */
const MARGIN = 0.9;

export class Pacer {
  private rate = DEFAULT_RATE * MARGIN;
  private burst = Math.max(1, Math.floor(DEFAULT_BURST * MARGIN));
  private tokens: number;
  private at: number;

  constructor(private readonly now: () => number = Date.now) {
    this.tokens = this.burst;
    this.at = now();
  }

  /** The server's limits: `rate` lines a second, `burst` at once (and `accountRate` messages a second). */
  configure(rate: number, burst: number, accountRate?: number): void {
    const sustained = Math.min(rate, accountRate ?? rate);
    this.rate = Math.max(0.1, sustained * MARGIN);
    this.burst = Math.max(1, Math.floor(Math.min(burst, accountRate ?? burst) * MARGIN));
    this.tokens = Math.min(this.tokens, this.burst);
  }

  /** Milliseconds to wait before the next line may be sent; 0: now. */
  delay(): number {
    this.refill();
    return this.tokens >= 1 ? 0 : Math.ceil(((1 - this.tokens) / this.rate) * 1000);
  }

  /** One line is sent. */
  take(): void {
    this.refill();
    this.tokens -= 1;
  }

  /** The server said `RATE_LIMITED`: nothing more for a second's worth of tokens. */
  refused(): void {
    this.refill();
    this.tokens = Math.min(this.tokens, 0) - this.rate;
  }

  private refill(): void {
    const now = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.at) / 1000) * this.rate);
    this.at = now;
  }
}
