import Ajv, { type ValidateFunction } from 'ajv';
import { ErrorCode } from './errors';
import type { ClientMessage, ClientMessageType } from './messages';

/**
 * Boundary validation of client lines. Pure: a line in, a typed message or a coded error out.
 * Extra fields are tolerated (clients in the wild add their own); missing or wrong-typed
 * fields are not. Field values are not checked against the naming rules here: a bad room or
 * identity is a refused request answered in the protocol's own reply type, not an error.
 */

// Plain JSON Schema, not a schema builder: workers load this at every process start.
const withString = (field: string): object => ({
  type: 'object',
  properties: { [field]: { type: 'string' } },
  required: [field],
});
const noFields = { type: 'object' };

const messageSchemas: Record<ClientMessageType, object> = {
  identitychange: withString('identity'),
  join: withString('roomid'),
  who: withString('roomid'),
  list: noFields,
  createroom: withString('roomid'),
  delete: withString('roomid'),
  message: withString('content'),
  quit: noFields,
};

const ajv = new Ajv({ allErrors: false, strict: true });
const validators = new Map<string, ValidateFunction>(
  Object.entries(messageSchemas).map(([type, schema]) => [type, ajv.compile(schema)]),
);

export type ParseResult =
  | { ok: true; message: ClientMessage }
  | { ok: false; code: ErrorCode; message: string };

export function parseClientLine(line: string): ParseResult {
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
  // Own-property lookup: "constructor" or "__proto__" as a type must not reach Object.prototype.
  const validate = validators.get(type);
  if (validate === undefined) {
    return { ok: false, code: ErrorCode.UNKNOWN_TYPE, message: `unknown message type ${JSON.stringify(type.slice(0, 40))}` };
  }
  if (!validate(value)) {
    const first = validate.errors?.[0];
    const where = first?.instancePath || (first?.params as { missingProperty?: string })?.missingProperty || '';
    const field = where.replace(/^\//, '');
    return { ok: false, code: ErrorCode.INVALID_FIELD, message: `${type}: field "${field}" ${first?.message ?? 'is invalid'}` };
  }
  return { ok: true, message: value as ClientMessage };
}
