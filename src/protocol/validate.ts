import type { default as AjvClass, ValidateFunction } from 'ajv';
import { ErrorCode } from './errors';
import { describeFieldError } from './field-errors';
import { exceedsJsonDepth } from './json-depth';
import type { ClientMessage, ClientMessageType } from './messages';
import { hasLoneSurrogate } from './text';

export const MAX_REASON_LENGTH = 200;

/**
 * Boundary validation of client lines. Pure: a line in, a typed message or a coded error out.
 * Extra fields are tolerated (clients in the wild add their own); missing or wrong-typed
 * fields are not. Field values are not checked against the naming rules here: a bad room or
 * identity is a refused request answered in the protocol's own reply type, not an error.
 */

// Plain JSON Schema, not a schema builder: workers load this at every process start.
const str = { type: 'string' };
const seq = { type: 'integer', minimum: 0 };
const bool = { type: 'boolean' };
/** Why a client was kicked, banned or disconnected: shown to others, so kept short. */
const reason = { type: 'string', maxLength: MAX_REASON_LENGTH };
/** A file id is the hex SHA-256 its upload answered. */
const attachment = { type: 'object', properties: { id: { type: 'string', pattern: '^[0-9a-f]{64}$' } }, required: ['id'] };
const object = (properties: Record<string, object>, required: string[] = Object.keys(properties)): object => ({
  type: 'object',
  properties,
  required,
});

/** Each request type's schema (exported for the test that every keyword used has its sentence in field-errors). */
export const messageSchemas: Readonly<Record<ClientMessageType, object>> = {
  identitychange: object({ identity: str }),
  join: object({ roomid: str }),
  who: object({ roomid: str }),
  list: object({}),
  createroom: object({ roomid: str, private: bool }, ['roomid']),
  delete: object({ roomid: str }),
  message: object({ content: str, attachment }, ['content']),
  quit: object({}),
  register: object({ username: str, password: str }),
  login: {
    type: 'object',
    properties: { username: str, password: str, token: str },
    anyOf: [{ required: ['username', 'password'] }, { required: ['token'] }],
  },
  logout: object({}),
  dm: object({ to: str, content: str, attachment }, ['to', 'content']),
  history: object({ roomid: str, before: seq, limit: { type: 'integer', minimum: 1 } }, ['roomid']),
  dmhistory: object({ with: str, before: { type: 'number' }, cursor: seq, limit: { type: 'integer', minimum: 1 } }, ['with']),
  resume: object({ roomid: str, since: seq, limit: { type: 'integer', minimum: 1 }, epoch: str }, ['roomid', 'since']),
  recall: object({ id: str }),
  ack: object({ inbox: seq }),
  block: object({ user: str }),
  unblock: object({ user: str }),
  dnd: object({ on: { type: 'boolean' } }),
  status: object({ text: { type: 'string', maxLength: 140 } }),
  presence: object({ users: { type: 'array', items: str, maxItems: 100 } }),
  private: object({ roomid: str, on: bool }),
  invite: object({ roomid: str, identity: str }),
  uninvite: object({ roomid: str, identity: str }),
  kick: object({ roomid: str, identity: str, reason }, ['roomid', 'identity']),
  // At most ten years: a longer ban is "until unban" (0) in all but name.
  ban: object({ roomid: str, identity: str, seconds: { type: 'integer', minimum: 0, maximum: 315_360_000 }, reason }, ['roomid', 'identity']),
  unban: object({ roomid: str, identity: str }),
  roominfo: object({ roomid: str }),
  transfer: object({ roomid: str, identity: str }),
  disconnect: object({ identity: str, reason }, ['identity']),
  notice: object({ content: str }),
  ping: object({}),
  session: object({}),
  reclaim: object({ token: str }),
  // Capability names are short words; a client of a later version may list ones we do not know.
  hello: object({ capabilities: { type: 'array', items: { type: 'string', maxLength: 64 }, maxItems: 32 } }),
  contacts: object({ action: { type: 'string', enum: ['add', 'remove', 'list'] }, username: { type: 'string', maxLength: 64 } }, ['action']),
  // A username is at most 16 characters: a longer prefix matches nobody.
  search: object({ prefix: { type: 'string', minLength: 1, maxLength: 16 } }),
  away: object({ on: bool }),
  blocklist: object({}),
};

/** Every request type a client may send, in the order of the schema table. */
export const CLIENT_MESSAGE_TYPES = Object.keys(messageSchemas) as ClientMessageType[];

/**
 * Validators are compiled on first use of their type, and Ajv is loaded with the first: loading
 * and compiling all of them took a worker ~100 ms of CPU before it could be ready, paid by
 * every dedicated-placement worker at start, for types its one client may never send.
 * (test/unit/validate-schemas.test.ts compiles every one, so a bad schema still fails the tests.)
 */
let ajv: AjvClass | null = null;
const validators = new Map<string, ValidateFunction>();

function validatorFor(type: string): ValidateFunction | undefined {
  // Own-property lookup: "constructor" or "__proto__" as a type must not reach Object.prototype.
  if (!Object.hasOwn(messageSchemas, type)) return undefined;
  let validate = validators.get(type);
  if (validate === undefined) {
    ajv ??= new (require('ajv') as typeof import('ajv')).default({ allErrors: false, strict: true, strictRequired: false });
    validate = ajv.compile(messageSchemas[type as ClientMessageType]);
    validators.set(type, validate);
  }
  return validate;
}

/**
 * A typed message, or a coded error. `type`: the message's `type` when the line got as far as
 * naming one (a known or unknown type), so the caller can tell a core request from an extended
 * one even when it is refused (src/protocol/capabilities.ts).
 */
export type ParseResult =
  | { ok: true; message: ClientMessage }
  | { ok: false; code: ErrorCode; message: string; type?: string };

/** Bounds on a line's shape beyond its schema (the `maxJsonDepth` and `maxContentLength` settings). */
export interface ParseLimits {
  /** Deepest nesting of arrays/objects, checked before parsing (`TOO_DEEP`). */
  maxJsonDepth: number;
  /** Longest `message`/`dm` content, in characters (code points) (`CONTENT_TOO_LONG`). */
  maxContentLength: number;
}

const UNLIMITED: ParseLimits = { maxJsonDepth: Infinity, maxContentLength: Infinity };

/**
 * Validates one client line. `utf8`: false when the line's bytes were not valid UTF-8 (so the
 * decoded text holds U+FFFD where the client sent something else): refused as `INVALID_TEXT`
 * once the line is known to be a message, as is any string holding a lone surrogate.
 */
export function parseClientLine(line: string, limits: ParseLimits = UNLIMITED, utf8 = true): ParseResult {
  if (exceedsJsonDepth(line, limits.maxJsonDepth)) {
    return { ok: false, code: ErrorCode.TOO_DEEP, message: `arrays/objects nested deeper than ${limits.maxJsonDepth}` };
  }
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return { ok: false, code: ErrorCode.INVALID_JSON, message: 'line is not valid JSON' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, code: ErrorCode.INVALID_MESSAGE, message: 'a message must be a JSON object' };
  }
  const type = (value as { type?: unknown }).type;
  if (typeof type !== 'string') {
    return { ok: false, code: ErrorCode.INVALID_MESSAGE, message: 'a message needs a string "type"' };
  }
  const validate = validatorFor(type);
  if (validate === undefined) {
    return { ok: false, code: ErrorCode.UNKNOWN_TYPE, message: `unknown message type ${JSON.stringify(type.slice(0, 40))}`, type };
  }
  if (!validate(value)) {
    return { ok: false, code: ErrorCode.INVALID_FIELD, message: describeFieldError(type, validate.errors, messageSchemas[type as ClientMessageType]), type };
  }
  if (!utf8) return { ok: false, code: ErrorCode.INVALID_TEXT, message: `${type}: the line is not valid UTF-8`, type };
  if (hasLoneSurrogate(line, value)) {
    return { ok: false, code: ErrorCode.INVALID_TEXT, message: `${type}: a string holds a lone surrogate (not well-formed Unicode)`, type };
  }
  const message = value as ClientMessage;
  if ((message.type === 'message' || message.type === 'dm' || message.type === 'notice') && longerThan(message.content, limits.maxContentLength)) {
    return { ok: false, code: ErrorCode.CONTENT_TOO_LONG, message: `${type}: content longer than ${limits.maxContentLength} characters`, type };
  }
  return { ok: true, message };
}

/** Counts characters as code points (as `maxLength` does above), not UTF-16 units. */
function longerThan(text: string, max: number): boolean {
  if (text.length <= max) return false;
  let n = 0;
  for (const _ of text) if (++n > max) return true;
  return false;
}
