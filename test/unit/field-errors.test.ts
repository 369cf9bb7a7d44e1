import assert from 'node:assert/strict';
import { test } from 'node:test';
import { messageSchemas, parseClientLine } from '../../src/protocol/validate';

/**
 * `INVALID_FIELD` messages read as sentences about the request, one per schema keyword, never
 * Ajv's text about the schema ("must have required property 'content'", "must match a schema
 * in anyOf", "must NOT have more than 140 characters").
 */

/** A line the server refuses with INVALID_FIELD, and the message it must carry, by keyword. */
const cases: Record<string, Array<[line: object, message: string]>> = {
  required: [
    [{ type: 'message' }, 'message: field "content" is required'],
    [{ type: 'join' }, 'join: field "roomid" is required'],
    [{ type: 'message', content: 'hi', attachment: {} }, 'message: field "attachment.id" is required'],
  ],
  type: [
    [{ type: 'join', roomid: 5 }, 'join: field "roomid" must be string'],
    [{ type: 'history', roomid: 'a', limit: 1.5 }, 'history: field "limit" must be integer'],
    [{ type: 'dnd', on: 'yes' }, 'dnd: field "on" must be boolean'],
    [{ type: 'presence', users: ['al', 7] }, 'presence: field "users[1]" must be string'],
    [{ type: 'presence', users: 'al' }, 'presence: field "users" must be array'],
    [{ type: 'message', content: 'hi', attachment: 'x' }, 'message: field "attachment" must be object'],
    [{ type: 'dmhistory', with: 'al', before: 'x' }, 'dmhistory: field "before" must be number'],
  ],
  minimum: [[{ type: 'history', roomid: 'a', limit: 0 }, 'history: field "limit" must be at least 1']],
  maximum: [[{ type: 'ban', roomid: 'a', identity: 'b', seconds: 315_360_001 }, 'ban: field "seconds" must be at most 315360000']],
  minLength: [[{ type: 'search', prefix: '' }, 'search: field "prefix" must be at least 1 character']],
  maxLength: [
    [{ type: 'status', text: 'x'.repeat(141) }, 'status: field "text" must be at most 140 characters'],
    [{ type: 'hello', capabilities: ['x'.repeat(65)] }, 'hello: field "capabilities[0]" must be at most 64 characters'],
  ],
  maxItems: [[{ type: 'presence', users: Array(101).fill('a') }, 'presence: field "users" must have at most 100 items']],
  pattern: [[{ type: 'message', content: 'hi', attachment: { id: 'nothex' } }, 'message: field "attachment.id" must match the pattern ^[0-9a-f]{64}$']],
  enum: [[{ type: 'contacts', action: 'drop' }, 'contacts: field "action" must be one of "add", "remove", "list"']],
  anyOf: [
    [{ type: 'login' }, 'login: needs fields "username" and "password", or "token"'],
    [{ type: 'login', username: 'al' }, 'login: needs fields "username" and "password", or "token"'],
  ],
};

/** Keywords that shape a schema or annotate it and cannot fail a request by themselves. */
const STRUCTURAL = new Set(['properties', 'items']);

/** Every keyword used anywhere in the request schemas. */
function keywordsIn(schema: unknown, out = new Set<string>()): Set<string> {
  if (Array.isArray(schema)) for (const s of schema) keywordsIn(s, out);
  else if (typeof schema === 'object' && schema !== null) {
    for (const [k, v] of Object.entries(schema)) {
      out.add(k);
      if (k === 'properties') for (const p of Object.values(v as object)) keywordsIn(p, out);
      else if (k === 'items' || k === 'anyOf') keywordsIn(v, out);
    }
  }
  return out;
}

test('every keyword the request schemas use has a sentence tested here', () => {
  const used = [...keywordsIn(Object.values(messageSchemas))].filter((k) => !STRUCTURAL.has(k));
  for (const k of used) assert.ok(cases[k], `schema keyword "${k}" has no INVALID_FIELD sentence case: add one here and in src/protocol/field-errors.ts`);
});

test('each keyword: the request type, the field as a client writes it, and what it must be', () => {
  for (const [keyword, lines] of Object.entries(cases)) {
    for (const [line, message] of lines) {
      const r = parseClientLine(JSON.stringify(line));
      assert.equal(r.ok, false, `${keyword}: ${JSON.stringify(line)} accepted`);
      if (r.ok) continue;
      assert.equal(r.code, 'INVALID_FIELD', `${keyword}: ${JSON.stringify(line)}`);
      assert.equal(r.message, message, `${keyword}: ${JSON.stringify(line)}`);
      assert.doesNotMatch(r.message, /property|schema|must NOT|anyOf|'/, 'no validator jargon');
    }
  }
});

test('the example in docs/PROTOCOL.md (Errors) is what the server says', () => {
  const r = parseClientLine('{"type":"join","roomid":5}');
  assert.deepEqual(r, { ok: false, code: 'INVALID_FIELD', message: 'join: field "roomid" must be string', type: 'join' });
});
