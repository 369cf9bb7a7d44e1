import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LineSplitter } from '../../src/client/terminal/line-splitter';

const lines = (events: ReturnType<LineSplitter['push']>) => events.map((e) => (e.kind === 'line' ? e.text : `<${e.bytes}>`));

test('splits on newlines across chunks, CRLF too', () => {
  const s = new LineSplitter(100);
  assert.deepEqual(lines(s.push(Buffer.from('a\nb'))), ['a']);
  assert.deepEqual(lines(s.push(Buffer.from('c\r\n\nd'))), ['bc', '']);
  assert.deepEqual(lines(s.end()), ['d']);
  assert.deepEqual(lines(s.end()), []);
});

test('a character split between chunks is decoded whole', () => {
  const s = new LineSplitter(100);
  const bytes = Buffer.from('é€\n');
  assert.deepEqual(lines(s.push(bytes.subarray(0, 1))), []);
  assert.deepEqual(lines(s.push(bytes.subarray(1, 3))), []);
  assert.deepEqual(lines(s.push(bytes.subarray(3))), ['é€']);
});

test('an over-long line is dropped and reported, the next line is intact', () => {
  const s = new LineSplitter(10);
  assert.deepEqual(lines(s.push(Buffer.from('0123456789'))), []);
  assert.deepEqual(lines(s.push(Buffer.from('abcdef'))), []);
  assert.deepEqual(lines(s.push(Buffer.from('gh\nok\n'))), ['<18>', 'ok']);
});

test('a long line in many small chunks is joined in linear time', () => {
  const s = new LineSplitter(64 * 1024 * 1024);
  const chunk = Buffer.alloc(1000, 'x');
  // Linear means each byte is copied a bounded number of times: count the bytes Buffer.concat
  // copies (a splitter that re-joined on every chunk would copy about 200 GB here).
  const concat = Buffer.concat;
  let copied = 0;
  Buffer.concat = ((list: readonly Uint8Array[], total?: number) => {
    copied += list.reduce((n, b) => n + b.length, 0);
    return concat(list, total);
  }) as typeof Buffer.concat;
  try {
    for (let i = 0; i < 20_000; i++) s.push(chunk);
    const [event] = s.push(Buffer.from('\n'));
    assert.equal(event?.kind === 'line' && event.text.length, 20_000_000);
  } finally {
    Buffer.concat = concat;
  }
  assert.ok(copied <= 2 * 20_000_000, `${copied} bytes copied to join a 20 MB line`);
});
