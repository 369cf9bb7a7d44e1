/**
 * The one error type every Store implementation throws, so callers switch on a stable `code`
 * and never on a driver's error (SQLite codes, PostgreSQL SQLSTATEs). The driver's error is
 * kept as `cause` for the log.
 */
export type StoreErrorCode =
  /** A unique key is taken (room seq, message id): nothing of the request was stored. */
  | 'STORE_CONFLICT'
  /** The request names an account (owner, sender, recipient, blocker) that does not exist. */
  | 'STORE_UNKNOWN_ACCOUNT'
  /** The request names a stored room that does not exist (room rules). */
  | 'STORE_UNKNOWN_ROOM'
  /** A DM to queue would take its recipient's inbox over the limits given: nothing was stored. */
  | 'STORE_INBOX_FULL'
  /** Another process holds the lock longer than the busy timeout; retry later. */
  | 'STORE_BUSY'
  /** The storage itself failed (disk full, I/O error, unreadable or corrupt file). */
  | 'STORE_UNAVAILABLE'
  /**
   * The store's database server cannot be reached right now: the connection was refused,
   * reset or timed out, or the server is shutting down or starting (PostgreSQL stopped,
   * restarting, failing over). Transient: the same call succeeds once the server is back, and
   * the store reconnects by itself.
   */
  | 'STORE_UNREACHABLE'
  /** The file is not a Switchboard store (not SQLite, or no schema_migrations). */
  | 'STORE_NOT_A_STORE'
  /** The store was written by a newer Switchboard (a migration this build does not know). */
  | 'STORE_SCHEMA_TOO_NEW'
  /**
   * The implementation does not offer this operation: `backup(file)` on PostgreSQL, whose
   * databases are backed up with PostgreSQL's own tools. The message says what to use.
   */
  | 'STORE_UNSUPPORTED'
  /** The store is closed, or was used before `migrate()`. */
  | 'STORE_NOT_OPEN'
  /** Anything else: a bug. */
  | 'STORE_FAILED';

export class StoreError extends Error {
  override readonly name = 'StoreError';

  constructor(
    readonly code: StoreErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** True when `err` is a StoreError, optionally with the given code. */
export function isStoreError(err: unknown, code?: StoreErrorCode): err is StoreError {
  return err instanceof StoreError && (code === undefined || err.code === code);
}
