import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FrameDecoder, FrameTooLargeError, encodeFrame } from '../../src/ipc/frame-codec';
import {
  Kind,
  decodeHubToWorker,
  decodeWorkerToHub,
  encodeChat,
  encodeRequest,
  encodeToRoom,
  encodeToSessions,
} from '../../src/ipc/hub-link-messages';

test('frames survive any split of the byte stream', () => {
  const frames = [encodeFrame(1, Buffer.from('a')), encodeFrame(2, Buffer.alloc(0)), encodeFrame(3, Buffer.from('xyz'.repeat(50)))];
  const stream = Buffer.concat(frames);
  for (let cut = 0; cut <= stream.length; cut++) {
    const got: Array<[number, string]> = [];
    const decoder = new FrameDecoder(1024);
    for (const part of [stream.subarray(0, cut), stream.subarray(cut)]) decoder.push(part, (k, p) => got.push([k, p.toString()]));
    assert.deepEqual(got, [
      [1, 'a'],
      [2, ''],
      [3, 'xyz'.repeat(50)],
    ]);
  }
});

test('an oversized frame length is an error, not a buffer', () => {
  const decoder = new FrameDecoder(16);
  const header = Buffer.alloc(5);
  header.writeUInt32BE(1_000_000, 0);
  assert.throws(() => decoder.push(header, () => {}), FrameTooLargeError);
});

test('hub link messages round-trip', () => {
  const line = Buffer.from('{"type":"message","identity":"bob","content":"hé"}\n');
  const decode = (frame: Buffer) => ({ kind: frame[4]!, payload: frame.subarray(5) });
  let f = decode(encodeChat(7, 'hé there'));
  assert.deepEqual(decodeWorkerToHub(f.kind, f.payload), { kind: Kind.CHAT, id: 7, content: 'hé there' });
  f = decode(encodeRequest(3, { type: 'join', roomid: 'jokes' }));
  assert.deepEqual(decodeWorkerToHub(f.kind, f.payload), { kind: Kind.REQUEST, id: 3, request: { type: 'join', roomid: 'jokes' } });
  f = decode(encodeToSessions([1, 2, 4294967295], line));
  assert.deepEqual(decodeHubToWorker(f.kind, f.payload), { kind: Kind.TO_SESSIONS, ids: [1, 2, 4294967295], line });
  const other = Buffer.from('{"type":"message","identity":"al","content":"x"}\n');
  f = decode(encodeToRoom('MainHall', [{ sender: 'bob', line }, { sender: 'al', line: other }]));
  assert.deepEqual(decodeHubToWorker(f.kind, f.payload), {
    kind: Kind.TO_ROOM,
    roomid: 'MainHall',
    senders: ['bob', 'al'],
    offsets: [0, line.length, line.length + other.length],
    lines: Buffer.concat([line, other]),
  });
});
