/**
 * The error catalogue: every `error` message and every disconnect reason the server sends
 * carries one of these stable codes. Clients switch on `code`; `message` is for humans.
 */
export const ErrorCode = {
  /** The line is not valid JSON. */
  INVALID_JSON: 'INVALID_JSON',
  /** The line is JSON but not an object with a string `type`. */
  INVALID_MESSAGE: 'INVALID_MESSAGE',
  /** `type` names no message this server knows. */
  UNKNOWN_TYPE: 'UNKNOWN_TYPE',
  /** A field is missing or has the wrong type. */
  INVALID_FIELD: 'INVALID_FIELD',
  /**
   * A string in the message is not well-formed Unicode (a lone surrogate such as `"\ud800"`, or
   * bytes that are not UTF-8): refused rather than stored or relayed altered (as U+FFFD).
   */
  INVALID_TEXT: 'INVALID_TEXT',
  /** The line exceeds `maxLineBytes`; the connection is closed. */
  LINE_TOO_LONG: 'LINE_TOO_LONG',
  /** The server holds `maxClients` connections (or its process cap); the connection is closed. */
  TOO_MANY_USERS: 'TOO_MANY_USERS',
  /** The client does not read fast enough; its output queue passed `maxOutboundBytes`. */
  SLOW_CONSUMER: 'SLOW_CONSUMER',
  /** The server is stopping; the connection is closed. */
  SHUTTING_DOWN: 'SHUTTING_DOWN',
  /** The server cannot take this request right now (internal queue full); retry later. */
  BUSY: 'BUSY',
  /** The server failed to handle this request (a bug, logged); the connection stays usable. */
  INTERNAL_ERROR: 'INTERNAL_ERROR',
  /** The store could not record the request (e.g. disk full); nothing was delivered or changed. */
  STORE_FAILED: 'STORE_FAILED',
  /**
   * The store's database server (PostgreSQL) cannot be reached right now: stopped,
   * restarting or failing over. Handled as STORE_FAILED (nothing delivered or changed), but
   * transient: the server serves again by itself once its database is back; send it again later.
   */
  STORE_UNREACHABLE: 'STORE_UNREACHABLE',
  /** A clustered server does not serve this request type yet (docs/CLUSTER.md lists what it serves); nothing changed. */
  CLUSTER_UNSUPPORTED: 'CLUSTER_UNSUPPORTED',
  /** A clustered server could not get the request committed to its replicated log in time (NATS unreachable); nothing changed, retry. */
  CLUSTER_UNAVAILABLE: 'CLUSTER_UNAVAILABLE',
  /** The request needs a logged-in account (`login` first). */
  NOT_LOGGED_IN: 'NOT_LOGGED_IN',
  /** Wrong username/password, or an unknown or revoked token. */
  BAD_CREDENTIALS: 'BAD_CREDENTIALS',
  /** Too many failed logins for this account or from this address; wait and retry. */
  LOGIN_THROTTLED: 'LOGIN_THROTTLED',
  /** The username is registered already, or used by a connected client right now. */
  USERNAME_TAKEN: 'USERNAME_TAKEN',
  /** The username does not follow the identity rule. */
  INVALID_USERNAME: 'INVALID_USERNAME',
  /** The password is shorter than 8 or longer than 256 characters. */
  WEAK_PASSWORD: 'WEAK_PASSWORD',
  /** No registered user has that name. */
  NO_SUCH_USER: 'NO_SUCH_USER',
  /** No message has that id. */
  NO_SUCH_MESSAGE: 'NO_SUCH_MESSAGE',
  /** The request is understood but this client may not do it (e.g. recall another's message). */
  NOT_ALLOWED: 'NOT_ALLOWED',
  /** A moderation request names a room that does not exist, or MainHall. */
  NO_SUCH_ROOM: 'NO_SUCH_ROOM',
  /** `join` of a private room without an invitation (after the core refusal). */
  INVITE_ONLY: 'INVITE_ONLY',
  /** `join` of a room this identity is banned from (after the core refusal). */
  BANNED: 'BANNED',
  /** `reclaim`: no session is held for that token (unknown, reclaimed already, or its grace period is over). */
  NO_SUCH_SESSION: 'NO_SUCH_SESSION',
  /** An administrator closed this connection; the reason is in the message. */
  DISCONNECTED: 'DISCONNECTED',
  /** The account logged in on more than `maxDevices` connections: this one, its oldest, is closed. */
  SESSION_REPLACED: 'SESSION_REPLACED',
  /**
   * Over `rateLimit`/`rateBurst` messages a second on this connection, or over `accountRateLimit`
   * room messages and DMs a second for this account: the message was dropped (not delivered).
   */
  RATE_LIMITED: 'RATE_LIMITED',
  /** The connection kept sending far over its rate (more than `rateBurst` × 4 refusals in 10 s); it is closed. */
  FLOODING: 'FLOODING',
  /** The line nests arrays/objects deeper than `maxJsonDepth`; checked before it is parsed. */
  TOO_DEEP: 'TOO_DEEP',
  /** `message` or `dm` content is longer than `maxContentLength` characters. */
  CONTENT_TOO_LONG: 'CONTENT_TOO_LONG',
  /** `createroom`: the client (or its account) owns `maxRoomsPerOwner` rooms already. */
  TOO_MANY_ROOMS: 'TOO_MANY_ROOMS',
  /**
   * `dm` to an account whose offline inbox holds `maxInboxMessages` entries or would pass
   * `maxInboxBytes`: the DM is not stored (the sender may try again once the recipient reads).
   */
  INBOX_FULL: 'INBOX_FULL',
  /** On connect: `maxConnectionsPerAddress` connections from this address are open; this one is closed. */
  TOO_MANY_CONNECTIONS: 'TOO_MANY_CONNECTIONS',
  /** A started line was not ended within `lineTimeoutMs` (a slow-sending client); the connection is closed. */
  LINE_TIMEOUT: 'LINE_TIMEOUT',
  /** No valid message within `firstMessageTimeoutMs` of the welcome; the connection is closed. */
  FIRST_MESSAGE_TIMEOUT: 'FIRST_MESSAGE_TIMEOUT',
  /** Nothing received for `idleTimeoutMs` (keep alive with `{"type":"ping"}`); the connection is closed. */
  IDLE_TIMEOUT: 'IDLE_TIMEOUT',
  /** An `attachment` names a file the sender did not upload, or one not stored (any more); HTTP: a file not visible to the caller. */
  NO_SUCH_FILE: 'NO_SUCH_FILE',
  /** HTTP upload: the body is larger than `maxFileBytes` (413). */
  FILE_TOO_LARGE: 'FILE_TOO_LARGE',
  /** HTTP upload: the account's stored uploads would pass `fileQuotaBytes` (413). */
  QUOTA_EXCEEDED: 'QUOTA_EXCEEDED',
  /** A WebSocket client sent a binary frame: protocol messages are text frames. The connection is closed (1003). */
  BINARY_FRAME: 'BINARY_FRAME',
  /** `contacts` add: the list holds `maxContacts` accounts already. */
  TOO_MANY_CONTACTS: 'TOO_MANY_CONTACTS',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** The wire shape of an error. */
export interface ErrorMessage {
  type: 'error';
  code: ErrorCode;
  message: string;
}

export function errorMessage(code: ErrorCode, message: string): ErrorMessage {
  return { type: 'error', code, message };
}

/** One encoded error line, ready to write. */
export function errorLine(code: ErrorCode, message: string): string {
  return JSON.stringify(errorMessage(code, message)) + '\n';
}
