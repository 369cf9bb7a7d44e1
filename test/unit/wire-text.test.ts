import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HELLO_REPLY_LINE, coreServerLines, isCoreClientType } from '../../src/protocol/capabilities';
import { LineSplitter } from '../../src/protocol/line-splitter';
import { hasLoneSurrogate } from '../../src/protocol/text';
import { parseClientLine } from '../../src/protocol/validate';

/** Item 8 (text fields) and item 1 (core/extended) of issue 9, at the protocol boundary. */

const code = (line: string, utf8 = true): string => {
  const r = parseClientLine(line, undefined, utf8);
  return r.ok ? 'ok' : r.code;
};

test('a lone surrogate in any string of any message is INVALID_TEXT; well-formed pairs pass', () => {
  // Every text field of every kind, and extra fields, nested values and keys.
  const lines = [
    '{"type":"message","content":"a\\ud800b"}',
    '{"type":"message","content":"\\udfff"}',
    '{"type":"message","content":"x\\ud83d"}',
    '{"type":"dm","to":"bob","content":"\\ud800"}',
    '{"type":"status","text":"\\udc00"}',
    '{"type":"register","username":"alice","password":"secret\\ud800pass"}',
    '{"type":"login","username":"alice","password":"secret\\ud800pass"}',
    '{"type":"identitychange","identity":"Al\\ud800"}',
    '{"type":"join","roomid":"R\\ud800"}',
    '{"type":"createroom","roomid":"R\\ud800"}',
    '{"type":"kick","roomid":"Room","identity":"bob","reason":"\\ud800"}',
    '{"type":"ban","roomid":"Room","identity":"bob","reason":"\\udbff"}',
    '{"type":"disconnect","identity":"bob","reason":"\\ud800"}',
    '{"type":"notice","content":"\\ud800"}',
    '{"type":"presence","users":["ok","\\ud800"]}',
    '{"type":"hello","capabilities":["\\ud800"]}',
    '{"type":"list","extra":{"deep":["\\ud800"]}}',
    '{"type":"quit","\\ud800":1}',
  ];
  for (const line of lines) assert.equal(code(line), 'INVALID_TEXT', line);
  for (const line of ['{"type":"message","content":"\\ud83d\\ude00 \\u00e9 😀 \\\\ud800"}', '{"type":"message","content":"\\uFFFD"}']) {
    assert.equal(code(line), 'ok', line);
  }
  const parsed = parseClientLine('{"type":"message","content":"\\ud83d\\ude00"}');
  assert.ok(parsed.ok && parsed.message.type === 'message' && parsed.message.content === '😀');
});

test('INVALID_TEXT keeps the type it refused (for the core/extended decision); earlier errors come first', () => {
  const r = parseClientLine('{"type":"dm","to":"bob","content":"\\ud800"}');
  assert.deepEqual(r.ok ? null : [r.code, r.type], ['INVALID_TEXT', 'dm']);
  assert.equal(code('{"type":"join","roomid":5,"x":"\\ud800"}'), 'INVALID_FIELD');
  assert.equal(code('{"type":"message","content":"\\ud800'), 'INVALID_JSON');
});

test('bytes that are not UTF-8: the splitter flags the line, which is refused as INVALID_TEXT', () => {
  const seen: Array<[string, boolean]> = [];
  const splitter = new LineSplitter(1000);
  const bad = Buffer.concat([Buffer.from('{"type":"message","content":"a'), Buffer.from([0xff, 0xed, 0xa0, 0x80]), Buffer.from('"}\r\n')]);
  splitter.push(Buffer.concat([bad, Buffer.from('{"type":"message","content":"\uFFFD é"}\n')]), (line, utf8) => seen.push([line, utf8]));
  assert.deepEqual(seen.map(([, utf8]) => utf8), [false, true], 'a real U+FFFD is valid UTF-8');
  assert.equal(code(seen[0]![0], seen[0]![1]), 'INVALID_TEXT');
  assert.equal(code(seen[1]![0], seen[1]![1]), 'ok');
  // Outside a string, a bad byte is bad JSON.
  assert.equal(code('{"type":"list"}\uFFFD', false), 'INVALID_JSON');
});

test('hasLoneSurrogate: only lines with a \\u escape are walked', () => {
  assert.equal(hasLoneSurrogate('{"a":"b"}', { a: '\ud800' }), false, 'no escape in the text: not walked');
  assert.equal(hasLoneSurrogate('{"a":"\\ud800"}', { a: '\ud800' }), true);
  assert.equal(hasLoneSurrogate('{"a":"\\ud800\\udc00"}', { a: '\ud800\udc00' }), false);
});

test('core client types are the eight seed-004 requests', () => {
  for (const t of ['identitychange', 'join', 'who', 'list', 'createroom', 'delete', 'message', 'quit']) assert.equal(isCoreClientType(t), true, t);
  for (const t of ['hello', 'ping', 'login', 'dm', 'dance', 'constructor', '']) assert.equal(isCoreClientType(t), false, t);
});

test('coreServerLines keeps the seed-004 lines only, in order, and the same buffer when all are', () => {
  const line = (m: object): string => JSON.stringify(m) + '\n';
  const core = [
    line({ type: 'roomchange', identity: 'a', former: 'X', roomid: 'X' }),
    line({ type: 'roomlist', rooms: [] }),
    line({ type: 'message', identity: 'a', content: '{"type":"error"}', roomid: 'R', id: 'i', seq: 1, ts: 2 }),
    line({ type: 'newidentity', former: 'a', identity: 'a' }),
    line({ type: 'roomcontents', roomid: 'R', identities: [], owner: '' }),
  ];
  const all = Buffer.from(core.join(''));
  assert.equal(coreServerLines(all), all);
  const mixed = Buffer.from(
    line({ type: 'error', code: 'BANNED', message: 'x' }) + core[0] + line({ type: 'kick', roomid: 'R', identity: 'a', by: 'b', reason: '' }) + core[1] + line({ type: 'notice', from: 'a', content: 'c', ts: 1 }),
  );
  assert.equal(coreServerLines(mixed).toString(), core[0]! + core[1]!);
  assert.equal(coreServerLines(Buffer.from(line({ type: 'error', code: 'X', message: '' }))).length, 0);
  // A line not written type-first is read by parsing it.
  assert.equal(coreServerLines(Buffer.from('{"identity":"a","type":"kick"}\n{"rooms":[],"type":"roomlist"}\n')).toString(), '{"rooms":[],"type":"roomlist"}\n');
  assert.equal(coreServerLines(Buffer.from('{}\n')).length, 0);
  assert.deepEqual(JSON.parse(HELLO_REPLY_LINE), { type: 'hello', capabilities: ['extended'] });
});
