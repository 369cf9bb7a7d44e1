import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LineSplitter } from '../../src/protocol/line-splitter';

function split(chunks: string[], max = 100): { lines: string[]; ok: boolean } {
  const splitter = new LineSplitter(max);
  const lines: string[] = [];
  let ok = true;
  for (const c of chunks) ok = splitter.push(Buffer.from(c), (l) => lines.push(l)) && ok;
  return { lines, ok };
}

test('lines split at any point come out whole, CR stripped', () => {
  const text = 'hello\r\nwörld\n\n{"a":1}\n';
  for (let cut = 0; cut <= text.length; cut++) {
    assert.deepEqual(split([text.slice(0, cut), text.slice(cut)]).lines, ['hello', 'wörld', '', '{"a":1}']);
  }
});

test('a multi-byte character split across chunks survives', () => {
  const bytes = Buffer.from('é€\n');
  const splitter = new LineSplitter(100);
  const lines: string[] = [];
  for (const b of bytes) splitter.push(Buffer.from([b]), (l) => lines.push(l));
  assert.deepEqual(lines, ['é€']);
});

test('an over-long line is refused as soon as the bound is passed, without a newline', () => {
  const splitter = new LineSplitter(10);
  assert.equal(splitter.push(Buffer.from('12345'), () => {}), true);
  assert.equal(splitter.push(Buffer.from('678901'), () => {}), false);
  assert.equal(splitter.bufferedBytes, 0);
  assert.equal(splitter.push(Buffer.from('ok\n'), () => assert.fail('closed splitter emitted')), false);
});

test('a line of exactly the bound is accepted', () => {
  assert.deepEqual(split(['x'.repeat(10) + '\n'], 10), { lines: ['x'.repeat(10)], ok: true });
  assert.equal(split(['x'.repeat(11) + '\n'], 10).ok, false);
});
