/**
 * The control socket's protocol (`<data-dir>/run/control.sock`, see src/supervisor/control-server.ts):
 * newline-delimited JSON, one request line answered by one reply line, in order, any number
 * on one connection.
 *
 * @example
 * > {"op":"status"}
 * < {"ok":true,"result":{"processes":[...],"listeners":[...],"clients":2,"rooms":3,"rates":{...}}}
 * > {"op":"nope"}
 * < {"ok":false,"error":{"code":"UNKNOWN_OP","message":"unknown op \"nope\" (known: status, ...)"}}
 */

/** A request: `op` names the handler (src/supervisor/control-ops.ts); the other fields are its arguments. */
export interface ControlRequest {
  op: string;
  [arg: string]: unknown;
}

/** One reply per request line. `error.code` is one of ControlCode or a client-protocol code (src/protocol/errors.ts). */
export type ControlReply = { ok: true; result: unknown } | { ok: false; error: { code: string; message: string } };

/** The control protocol's own error codes. */
export const ControlCode = {
  /** The line is not a JSON object with a string `op`, or an argument is missing or of the wrong type. */
  BAD_REQUEST: 'BAD_REQUEST',
  /** The line is longer than MAX_CONTROL_REQUEST_BYTES: the connection is closed after this reply. */
  REQUEST_TOO_LARGE: 'REQUEST_TOO_LARGE',
  /** No handler has that `op`. */
  UNKNOWN_OP: 'UNKNOWN_OP',
  /** A process that must answer (the hub) did not within CONTROL_CHILD_TIMEOUT_MS, or is not running. */
  UNAVAILABLE: 'UNAVAILABLE',
  /** The config file could not be used (`reload`): nothing was changed. */
  CONFIG_INVALID: 'CONFIG_INVALID',
  /** A bug in a handler: logged by the server. */
  INTERNAL_ERROR: 'INTERNAL_ERROR',
} as const;

/** Longest request line accepted, bytes. */
export const MAX_CONTROL_REQUEST_BYTES = 64 * 1024;
/** Connections open at once at most; more are closed at once. */
export const MAX_CONTROL_CONNECTIONS = 16;
/** A connection silent this long is closed, ms. */
export const CONTROL_IDLE_TIMEOUT_MS = 60_000;
/** How long the supervisor waits for a child's answer (figures, a console request), ms. */
export const CONTROL_CHILD_TIMEOUT_MS = 5_000;

/** Thrown by a handler: becomes `{"ok":false,"error":{code,message}}`. */
export class ControlError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}
