import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseClientLine } from '../../src/protocol/validate';

test('valid core messages parse; extra fields are tolerated', () => {
  assert.deepEqual(parseClientLine('{"type":"join","roomid":"jokes","extra":1}'), {
    ok: true,
    message: { type: 'join', roomid: 'jokes', extra: 1 },
  });
  assert.equal(parseClientLine('{"type":"list"}').ok, true);
  assert.equal(parseClientLine('{"type":"quit"}').ok, true);
});

test('each kind of bad input gets its code', () => {
  const code = (line: string) => {
    const r = parseClientLine(line);
    return r.ok ? 'ok' : r.code;
  };
  assert.equal(code('not json'), 'INVALID_JSON');
  assert.equal(code('[1,2]'), 'INVALID_MESSAGE');
  assert.equal(code('42'), 'INVALID_MESSAGE');
  assert.equal(code('null'), 'INVALID_MESSAGE');
  assert.equal(code('{"roomid":"x"}'), 'INVALID_MESSAGE');
  assert.equal(code('{"type":7}'), 'INVALID_MESSAGE');
  assert.equal(code('{"type":"fly"}'), 'UNKNOWN_TYPE');
  assert.equal(code('{"type":"constructor"}'), 'UNKNOWN_TYPE');
  assert.equal(code('{"type":"__proto__"}'), 'UNKNOWN_TYPE');
  assert.equal(code('{"type":"toString"}'), 'UNKNOWN_TYPE');
  assert.equal(code('{"type":"join"}'), 'INVALID_FIELD');
  assert.equal(code('{"type":"join","roomid":5}'), 'INVALID_FIELD');
  assert.equal(code('{"type":"message","content":null}'), 'INVALID_FIELD');
});

test('the error message names the field', () => {
  const r = parseClientLine('{"type":"identitychange"}');
  assert.equal(r.ok, false);
  assert.match(!r.ok ? r.message : '', /identity/);
});
