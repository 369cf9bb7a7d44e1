/**
 * Automatic reconnection, the pure parts: when to try again, how long to wait, and what to send
 * once the new connection is welcomed so that the session looks as before.
 */
import type { ClientMessage, ServerEvent } from './wire';

export const MAIN_HALL = 'MainHall';

/** Backoff of reconnection attempts, in milliseconds. */
export interface Backoff {
  /** The first delay. */
  initialMs: number;
  /** The delay doubles up to this. */
  maxMs: number;
  /** Attempts in a row after which reconnecting is given up (`--retries`); absent: never. */
  maxAttempts?: number;
}

export const defaultBackoff: Backoff = { initialMs: 250, maxMs: 5_000 };

/**
 * The delay before attempt `attempt` (0 for the first): `initialMs` doubling up to `maxMs`,
 * less a random part of up to a quarter, so that clients dropped together do not all come back
 * in the same instant.
 *
 * @param random a number in [0, 1), `Math.random()` by default
 */
export function backoffDelay(attempt: number, backoff: Backoff = defaultBackoff, random: number = Math.random()): number {
  const nominal = Math.min(backoff.maxMs, backoff.initialMs * 2 ** Math.min(attempt, 30));
  return Math.round(nominal * (1 - 0.25 * random));
}

/**
 * Disconnect reasons (the `error` the server sends just before it closes) after which coming
 * back is pointless or wrong: we sent a line too long, our account was logged in elsewhere
 * (coming back would take it back, and the two clients would chase each other), or an
 * administrator disconnected us (coming straight back would undo it).
 */
const FINAL_REASONS = new Set(['LINE_TOO_LONG', 'SESSION_REPLACED', 'DISCONNECTED']);

/**
 * Codes that answer a request and do not explain a close: a connection closed after one of
 * them was lost for another reason.
 */
const REQUEST_ERRORS = new Set([
  'INVALID_JSON',
  'INVALID_MESSAGE',
  'UNKNOWN_TYPE',
  'INVALID_FIELD',
  'BUSY',
  'INTERNAL_ERROR',
  'STORE_FAILED',
  'STORE_UNREACHABLE',
  'NOT_LOGGED_IN',
  'BAD_CREDENTIALS',
  'LOGIN_THROTTLED',
  'USERNAME_TAKEN',
  'INVALID_USERNAME',
  'WEAK_PASSWORD',
  'NO_SUCH_USER',
  'NO_SUCH_MESSAGE',
  'NOT_ALLOWED',
  'NO_SUCH_ROOM',
  'INVITE_ONLY',
  'BANNED',
]);

/** Temporary conditions: the server stopping, full, or finding us slow. */
const TRANSIENT_REASONS = new Set(['SHUTTING_DOWN', 'TOO_MANY_USERS', 'SLOW_CONSUMER']);

/**
 * Whether a connection closed without our `quit` is worth reconnecting: yes when it just
 * dropped (a reset, a crashed server process, no reason given) or for a temporary reason; no
 * when the server closed it on purpose for a reason that would hold again (including codes
 * this client does not know).
 *
 * @param lastEvent the last line received before the close
 */
export function shouldReconnect(lastEvent: ServerEvent | null): boolean {
  if (!lastEvent || lastEvent.kind !== 'known' || lastEvent.message.type !== 'error') return true;
  const { code } = lastEvent.message;
  if (FINAL_REASONS.has(code)) return false;
  return TRANSIENT_REASONS.has(code) || REQUEST_ERRORS.has(code);
}

/** What the session was when the connection dropped. */
export interface SessionSnapshot {
  /** The token of our login, or null for a guest. */
  token: string | null;
  /** The resume token of the dropped connection (`session`), or null if the server gave none. */
  resumeToken: string | null;
  /** Our room ("" if none). */
  room: string;
  /** The highest seq shown of `room`, if any message of it was shown. */
  lastSeq: number | undefined;
  /** The epoch of `room` that `lastSeq` counts in, if the server gave one. */
  epoch?: string;
}

/**
 * The requests that put a fresh connection back where `before` was, in order: log in again,
 * reclaim the dropped connection's identity and room (held by the server for a grace period:
 * a guest's chosen name comes back), go back to the room (the welcome puts us in MainHall; a
 * no-op once reclaimed), then replay what was missed there. Each is sent once the previous one
 * is answered.
 *
 * Only the room we were in is resumed: messages posted in rooms we had left were never due
 * to us.
 */
export function restoreRequests(before: SessionSnapshot): ClientMessage[] {
  const requests: ClientMessage[] = [];
  if (before.token !== null) requests.push({ type: 'login', token: before.token });
  if (before.resumeToken !== null) requests.push({ type: 'reclaim', token: before.resumeToken });
  if (before.room !== '' && before.room !== MAIN_HALL) requests.push({ type: 'join', roomid: before.room });
  if (before.room !== '' && before.lastSeq !== undefined) {
    // With the epoch, a server whose sequence restarted (a restore, a new room of the same
    // name) replays the new sequence from its start instead of skipping up to lastSeq.
    const resume: ClientMessage = { type: 'resume', roomid: before.room, since: before.lastSeq };
    if (before.epoch !== undefined) resume.epoch = before.epoch;
    requests.push(resume);
  }
  return requests;
}
