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
