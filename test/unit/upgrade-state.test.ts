// The pure pieces of an upgrade's hand-off (src/worker/hand-off.ts): what a session carries to
// its new worker, the hub-link frames of the protocol, and the supervisor's books.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MessageRateGuard } from '../../src/core/rate-limit';
import { FrameDecoder } from '../../src/ipc/frame-codec';
import { Kind, decodeHubToWorker, decodeWorkerToHub, encodeHanded, encodeHandoff, encodeIncoming } from '../../src/ipc/hub-link-messages';
import { LineSplitter } from '../../src/protocol/line-splitter';
import { AddressLimit } from '../../src/supervisor/address-limit';

test('a rate guard carried over keeps its empty bucket and its refusals (JSON round trip)', () => {
  const old = new MessageRateGuard(1, 2, 0, 3, 10_000);
  assert.equal(old.check(0), 'ok');
  assert.equal(old.check(0), 'ok');
  assert.equal(old.check(0), 'limited');
  assert.equal(old.check(0), 'limited');
  const moved = new MessageRateGuard(1, 2, 500, 3, 10_000);
  moved.load(JSON.parse(JSON.stringify(old.snapshot())));
  assert.equal(moved.check(500), 'limited', 'half a token after 500 ms: still limited');
  // Its third refusal in the window fills the ring: the next one is flooding, as it would have been.
  assert.equal(moved.check(600), 'flooding');
  const fresh = new MessageRateGuard(1, 2, 500, 3, 10_000);
  assert.equal(fresh.check(500), 'ok', 'without the snapshot the bucket would be full');
});

test('a snapshot of a guard of another flood setting keeps the bucket, not the ring', () => {
  const old = new MessageRateGuard(1, 1, 0, 2, 10_000);
  old.check(0);
  old.check(0);
  const moved = new MessageRateGuard(1, 1, 0, 5, 10_000);
  moved.load(old.snapshot());
  assert.equal(moved.check(0), 'limited');
});

test('the line splitter gives up its unfinished line, and goes on empty', () => {
  const s = new LineSplitter(100);
  const lines: string[] = [];
  s.push(Buffer.from('{"a":1}\n{"type":"mes'), (l) => lines.push(l));
  assert.deepEqual(lines, ['{"a":1}']);
  assert.equal(s.takeBuffered().toString(), '{"type":"mes');
  assert.equal(s.bufferedBytes, 0);
  s.push(Buffer.from('x\n'), (l) => lines.push(l));
  assert.deepEqual(lines, ['{"a":1}', 'x']);
});

test('HANDOFF, HANDED and INCOMING frames round-trip; a HANDOFF of the wrong size is refused', () => {
  const frames: Array<[number, Buffer]> = [];
  const decoder = new FrameDecoder(1024);
  const view = { identity: 'ann', roomid: 'MainHall', owned: [], username: null, blocked: ['bob'], tokenHash: null, resumeHash: 'h' };
  decoder.push(Buffer.concat([encodeHandoff(7, 3), encodeHanded(7, 0x8000_0001), encodeIncoming(0x8000_0001, view), encodeIncoming(5, null)]), (k, p) => frames.push([k, Buffer.from(p)]));
  assert.deepEqual(decodeWorkerToHub(...frames[0]!), { kind: Kind.HANDOFF, id: 7, to: 3 });
  assert.deepEqual(decodeHubToWorker(...frames[1]!), { kind: Kind.HANDED, id: 7, newId: 0x8000_0001 });
  assert.deepEqual(decodeHubToWorker(...frames[2]!), { kind: Kind.INCOMING, id: 0x8000_0001, view });
  assert.deepEqual(decodeHubToWorker(...frames[3]!), { kind: Kind.INCOMING, id: 5, view: null });
  assert.throws(() => decodeWorkerToHub(Kind.HANDOFF, Buffer.alloc(4)), /HANDOFF frame of 4 bytes/);
});

test('a connection moved to another worker is released by its new worker\'s death, not the old one\'s', () => {
  const limit = new AddressLimit<string>(2);
  const id = limit.admit('10.0.0.1')!;
  limit.placed(id, 'old');
  limit.placed(id, 'new');
  limit.releaseWorker('old');
  assert.equal(limit.count('10.0.0.1'), 1);
  limit.releaseWorker('new');
  assert.equal(limit.count('10.0.0.1'), 0);
});
