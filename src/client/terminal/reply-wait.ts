/**
 * Lock-step sending: the answer a session waits for before it sends its next request (its own
 * requests after a welcome, and in line mode each typed command), with a time limit, so that
 * what a script shows does not depend on timing.
 */
import { replyMatcher } from './commands';
import type { NamedTimers } from './named-timers';
import type { ClientMessage, ServerMessage } from './wire';

/** Called with the answer, or null if none came in time or the connection closed first. */
export type Answered = (reply: ServerMessage | null) => void;

interface Awaited {
  matches: (reply: ServerMessage) => boolean;
  answered?: Answered;
}

const TIMER = 'reply';

export class ReplyWait {
  private awaited: Awaited | null = null;

  /** @param timedOut called after a wait ended without an answer in time */
  constructor(
    private readonly timers: NamedTimers,
    private readonly timeoutMs: number,
    private readonly timedOut: () => void,
  ) {}

  /** An answer is being waited for: nothing more is to be sent yet. */
  get waiting(): boolean {
    return this.awaited !== null;
  }

  /**
   * Waits for the answer to `sent` (or the time limit); false, and no wait, if it has none.
   *
   * @param me our identity when `sent` was sent
   */
  expect(sent: ClientMessage, me: string, answered?: Answered): boolean {
    const matches = replyMatcher(sent, me);
    if (!matches) return false;
    this.awaited = { matches, answered };
    this.timers.start(TIMER, this.timeoutMs, () => {
      this.end(null);
      this.timedOut();
    });
    return true;
  }

  /** Ends the wait if `message` is its answer; true if it was. */
  answer(message: ServerMessage): boolean {
    if (!this.awaited || !this.awaited.matches(message)) return false;
    this.end(message);
    return true;
  }

  /** Ends the wait without an answer (the connection closed). */
  cancel(): void {
    this.end(null);
  }

  private end(reply: ServerMessage | null): void {
    const awaited = this.awaited;
    this.awaited = null;
    this.timers.clear(TIMER);
    awaited?.answered?.(reply);
  }
}
