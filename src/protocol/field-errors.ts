import type { ErrorObject } from 'ajv';

/**
 * Schema failures as sentences for the `INVALID_FIELD` error's `message`: the request type, the
 * field as a client would write it, and what it must be, e.g. `message: field "content" is
 * required`, `join: field "roomid" must be string` (the form docs/PROTOCOL.md, "Errors", shows).
 * Ajv's own texts are not passed on: they describe the schema ("must have required property
 * 'content'"), not the request. Pure; knows only the keywords the request schemas use
 * (src/protocol/validate.ts), and test/unit/field-errors.test.ts fails when one is added without
 * its sentence here.
 */

/** The schema shape this reads for an `anyOf` of alternative required sets (`login`). */
interface Alternatives {
  anyOf?: Array<{ required?: string[] }>;
}

/**
 * One sentence for a request that failed its schema. `errors`: Ajv's, from a validator compiled
 * with `allErrors: false`, so the last one is the keyword that failed the request (those before
 * it are an `anyOf`'s branches); `schema`: the request's schema, which names an `anyOf`'s
 * alternatives (Ajv reports only the first missing field of each).
 */
export function describeFieldError(type: string, errors: readonly ErrorObject[] | null | undefined, schema: object): string {
  const error = errors?.[errors.length - 1];
  if (!error) return `${type}: a field is invalid`;
  if (error.keyword === 'required') return `${type}: field "${fieldName(error.instancePath, (error.params as { missingProperty: string }).missingProperty)}" is required`;
  if (error.keyword === 'anyOf' && error.instancePath === '') return `${type}: needs ${alternatives(schema as Alternatives)}`;
  return `${type}: field "${fieldName(error.instancePath)}" ${requirement(error)}`;
}

/** What a value must be, for every keyword but `required` and `anyOf`. */
function requirement({ keyword, params }: ErrorObject): string {
  const p = params as { type?: string | string[]; limit?: number; pattern?: string; allowedValues?: unknown[] };
  switch (keyword) {
    case 'type':
      return `must be ${[p.type].flat().join(' or ')}`;
    case 'minimum':
      return `must be at least ${p.limit}`;
    case 'maximum':
      return `must be at most ${p.limit}`;
    case 'minLength':
      return `must be at least ${count(p.limit!, 'character')}`;
    case 'maxLength':
      return `must be at most ${count(p.limit!, 'character')}`;
    case 'maxItems':
      return `must have at most ${count(p.limit!, 'item')}`;
    case 'pattern':
      return `must match the pattern ${p.pattern}`;
    case 'enum':
      return `must be one of ${p.allowedValues!.map((v) => JSON.stringify(v)).join(', ')}`;
    default:
      // A keyword added to a schema without its sentence here (the unit test catches it).
      return 'is invalid';
  }
}

/** `"username" and "password", or "token"`: each alternative's required fields. */
function alternatives(schema: Alternatives): string {
  const sets = (schema.anyOf ?? []).map((branch) => (branch.required ?? []).map((f) => `"${f}"`).join(' and '));
  return sets.length > 0 ? `fields ${sets.join(', or ')}` : 'other fields';
}

/** A JSON pointer (`/attachment`, `/users/3`) and a child, as `attachment.id`, `users[3]`. */
function fieldName(pointer: string, child?: string): string {
  const parts = pointer.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (child !== undefined) parts.push(child);
  return parts.reduce((name, part) => (/^\d+$/.test(part) ? `${name}[${part}]` : name ? `${name}.${part}` : part), '');
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}
