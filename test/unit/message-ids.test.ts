import assert from 'node:assert/strict';
import { test } from 'node:test';
import { newMessageId } from '../../src/hub/message-ids';

test('message ids are UUIDv7, unique and increasing, within and across milliseconds', () => {
  const ids = [];
  for (let ms = 1_700_000_000_000; ms < 1_700_000_000_005; ms++) for (let i = 0; i < 1000; i++) ids.push(newMessageId(ms));
  for (const id of ids) assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.equal(new Set(ids).size, ids.length);
  for (let i = 1; i < ids.length; i++) assert.ok(ids[i - 1]! < ids[i]!, `${ids[i - 1]} < ${ids[i]}`);
});

test('the timestamp is in the first 48 bits', () => {
  const id = newMessageId(1_800_000_000_000);
  assert.ok(parseInt(id.replace(/-/g, '').slice(0, 12), 16) >= 1_800_000_000_000);
});
