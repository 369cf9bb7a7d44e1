import type { Msg } from './client';

/**
 * What a test client has received, in arrival order, and the reading of it that tests do:
 * `next`, `waitFor` (skipping what does not match) and `drain`. The transport (a TCP line
 * stream, a WebSocket) calls `take` for each server message and `end` when the connection
 * closes; a `hello` reply to our own `hello` is kept apart, as `helloReply`.
 */
export abstract class ReceivedMessages {
  readonly received: Msg[] = [];
  /** The server's answer to our `hello` (null for a core client, or until it arrives). */
  helloReply: Msg | null = null;
  private cursor = 0;
  private wake: (() => void) | null = null;
  private isClosed = false;

  protected constructor(private readonly saidHello: boolean) {}

  get isOpen(): boolean {
    return !this.isClosed;
  }

  /** The next message in arrival order. */
  async next(timeoutMs = 5000): Promise<Msg> {
    return this.waitFor(() => true, timeoutMs);
  }

  /** Skips messages until one matches; rejects on timeout or close. */
  async waitFor(pred: (m: Msg) => boolean, timeoutMs = 5000): Promise<Msg> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      while (this.cursor < this.received.length) {
        const m = this.received[this.cursor++]!;
        if (pred(m)) return m;
      }
      if (this.isClosed) throw new Error('connection closed while waiting for a message');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for a message; unread: ${JSON.stringify(this.received.slice(this.cursor))}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(timer);
          this.wake = null;
          resolve();
        };
      });
    }
  }

  /** Resolves with what arrives within `ms` (nothing expected: an empty array). */
  async drain(ms: number): Promise<Msg[]> {
    await new Promise((resolve) => setTimeout(resolve, ms));
    const rest = this.received.slice(this.cursor);
    this.cursor = this.received.length;
    return rest;
  }

  /** One server message arrived. */
  protected take(m: Msg): void {
    if (m.type === 'hello' && this.saidHello && this.helloReply === null) this.helloReply = m;
    else this.received.push(m);
  }

  /** Wakes a waiting reader (after one or more `take`s). */
  protected arrived(): void {
    this.wake?.();
  }

  /** The connection closed: waiting readers fail once they have read what came before. */
  protected end(): void {
    this.isClosed = true;
    this.wake?.();
  }
}
