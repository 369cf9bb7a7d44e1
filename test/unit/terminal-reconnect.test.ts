import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Delivery } from '../../src/client/terminal/delivery';
import { backoffDelay, restoreRequests, shouldReconnect } from '../../src/client/terminal/reconnect';
import { SeenMessages, ShownIds } from '../../src/client/terminal/seen';
import type { RoomMessage, ServerEvent } from '../../src/client/terminal/wire';

test('backoff: 0.25 s doubling to 5 s, less up to a quarter of jitter', () => {
  assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 50].map((n) => backoffDelay(n, undefined, 0)), [250, 500, 1000, 2000, 4000, 5000, 5000, 5000]);
  assert.equal(backoffDelay(0, undefined, 0.999), 188);
  assert.equal(backoffDelay(5, undefined, 0.5), 4375);
  for (let i = 0; i < 100; i++) {
    const d = backoffDelay(3);
    assert.ok(d >= 1500 && d <= 2000, String(d));
  }
  assert.equal(backoffDelay(2, { initialMs: 10, maxMs: 30 }, 0), 30);
});

const error = (code: string): ServerEvent => ({ kind: 'known', message: { type: 'error', code, message: 'm' } });

test('reconnect after a plain drop or a temporary reason; not when the server means it', () => {
  assert.equal(shouldReconnect(null), true);
  assert.equal(shouldReconnect({ kind: 'known', message: { type: 'message', identity: 'a', content: 'b' } }), true);
  assert.equal(shouldReconnect({ kind: 'raw', line: 'bye' }), true);
  for (const code of ['SHUTTING_DOWN', 'SLOW_CONSUMER', 'TOO_MANY_USERS', 'NO_SUCH_USER', 'NOT_LOGGED_IN', 'BUSY']) {
    assert.equal(shouldReconnect(error(code)), true, code);
  }
  for (const code of ['SESSION_REPLACED', 'LINE_TOO_LONG', 'E_KICKED']) {
    assert.equal(shouldReconnect(error(code)), false, code);
  }
});

test('restoring: log in again, reclaim the dropped session, go back to the room, resume it', () => {
  assert.deepEqual(restoreRequests({ token: 'tok', resumeToken: 'res', room: 'jokes', lastSeq: 7 }), [
    { type: 'login', token: 'tok' },
    { type: 'reclaim', token: 'res' },
    { type: 'join', roomid: 'jokes' },
    { type: 'resume', roomid: 'jokes', since: 7 },
  ]);
  assert.deepEqual(restoreRequests({ token: null, resumeToken: null, room: 'MainHall', lastSeq: 3 }), [
    { type: 'resume', roomid: 'MainHall', since: 3 },
  ]);
  assert.deepEqual(restoreRequests({ token: null, resumeToken: 'res', room: 'jokes', lastSeq: undefined }), [
    { type: 'reclaim', token: 'res' },
    { type: 'join', roomid: 'jokes' },
  ]);
  assert.deepEqual(restoreRequests({ token: 'tok', resumeToken: null, room: '', lastSeq: undefined }), [{ type: 'login', token: 'tok' }]);
});

test('seen room messages: each (room, seq) once, last seq per room, bounded', () => {
  const seen = new SeenMessages(3);
  assert.equal(seen.lastSeq('a'), undefined);
  assert.equal(seen.addRoomMessage('a', 5), true);
  assert.equal(seen.addRoomMessage('a', 5), false);
  assert.equal(seen.addRoomMessage('b', 5), true);
  assert.equal(seen.addRoomMessage('a', 3), true);
  assert.equal(seen.lastSeq('a'), 5);
  seen.addRoomMessage('a', 6);
  seen.addRoomMessage('a', 7); // 5 is forgotten: only 3 kept per room
  assert.equal(seen.hasRoomMessage('a', 5), false);
  assert.equal(seen.hasRoomMessage('a', 7), true);
  assert.equal(seen.lastSeq('a'), 7);
  assert.equal(seen.addDirectMessage('d1'), true);
  assert.equal(seen.addDirectMessage('d1'), false);
});

test('shown ids: the short form resolves when it is unambiguous', () => {
  const ids = new ShownIds((id) => id.slice(-4), 3);
  ids.remember('xxxx1234');
  ids.remember('yyyy5678');
  ids.remember('zzzz5678');
  assert.equal(ids.resolve('1234'), 'xxxx1234');
  assert.equal(ids.resolve('5678'), '5678', 'ambiguous: passed on as typed');
  assert.equal(ids.resolve('xxxx1234'), 'xxxx1234');
  assert.equal(ids.resolve('9999'), '9999');
  ids.remember('wwww0000'); // the oldest is forgotten
  assert.equal(ids.resolve('1234'), '1234');
});

const msg = (roomid: string, seq: number): RoomMessage => ({
  type: 'message',
  identity: 'bob',
  content: String(seq),
  roomid,
  id: `${roomid}-${seq}`,
  seq,
  ts: 0,
});

test('delivery: repeats dropped; a resumed room held and released in seq order, once each', () => {
  const d = new Delivery();
  assert.equal(d.admit(msg('jokes', 1)), true);
  assert.equal(d.admit(msg('jokes', 2)), true);
  assert.equal(d.admit(msg('jokes', 2)), false);
  assert.equal(d.admit({ type: 'message', identity: 'old', content: 'no seq' }), true);
  assert.equal(d.admit({ type: 'message', identity: 'old', content: 'no seq' }), true);

  d.hold('jokes');
  assert.equal(d.holding, 'jokes');
  // live ones come first, then the replay (which repeats some of them and some shown before)
  for (const seq of [5, 6, 2, 3, 4, 5]) assert.equal(d.admit(msg('jokes', seq)), false);
  assert.equal(d.admit(msg('MainHall', 1)), true, 'another room is not held');
  assert.deepEqual(d.release().map((m) => m.seq), [3, 4, 5, 6]);
  assert.equal(d.holding, null);
  assert.equal(d.lastSeq('jokes'), 6);
  assert.equal(d.admit(msg('jokes', 6)), false);
  assert.equal(d.admit(msg('jokes', 7)), true);

  d.hold('jokes');
  d.admit(msg('jokes', 8));
  d.discard(); // the connection dropped again: not shown, so not seen
  assert.equal(d.lastSeq('jokes'), 7);
  assert.equal(d.admit(msg('jokes', 8)), true);

  const dm = { type: 'dm', id: 'd1', from: 'a', to: 'b', content: 'c', inbox: 1 } as const;
  assert.equal(d.admit(dm), true);
  assert.equal(d.admit(dm), false);
  assert.equal(d.admit({ type: 'dm', from: 'a', to: 'b', content: 'no id' }), true);
});

test('seen room messages and epochs: a new epoch forgets the room\'s seqs; an id shown before is not shown again', () => {
  const seen = new SeenMessages(10);
  assert.equal(seen.addRoomMessage('a', 1, 'e1', 'm1'), true);
  assert.equal(seen.addRoomMessage('a', 2, 'e1', 'm2'), true);
  assert.equal(seen.addRoomMessage('b', 9, 'b1', 'b9'), true);
  assert.deepEqual([seen.lastSeq('a'), seen.epochOf('a')], [2, 'e1']);
  assert.equal(seen.hasRoomMessage('a', 2, 'e2'), false, 'seq 2 of another epoch is another message');
  // A restored server: the same messages under a new epoch, then new ones with seqs seen before.
  assert.equal(seen.addRoomMessage('a', 1, 'e2', 'm1'), false, 'shown already (same id)');
  assert.deepEqual([seen.lastSeq('a'), seen.epochOf('a')], [1, 'e2']);
  assert.equal(seen.addRoomMessage('a', 2, 'e2', 'm3'), true, 'a new message that reuses seq 2');
  assert.equal(seen.addRoomMessage('a', 2, 'e2', 'm3'), false);
  seen.noteEpoch('a', 'e3');
  assert.equal(seen.lastSeq('a'), 0, 'resumed with a new epoch: nothing of it shown yet');
  assert.equal(seen.epochOf('b'), 'b1', 'other rooms untouched');
  assert.equal(seen.addRoomMessage('c', 4), true, 'a server without epochs: by seq as before');
  assert.equal(seen.addRoomMessage('c', 4), false);
});

test('restore requests pass the epoch the last seq counts in', () => {
  assert.deepEqual(restoreRequests({ token: null, resumeToken: null, room: 'jokes', lastSeq: 7, epoch: 'e1' }), [
    { type: 'join', roomid: 'jokes' },
    { type: 'resume', roomid: 'jokes', since: 7, epoch: 'e1' },
  ]);
});

test('delivery: a resume answered in a new epoch releases the new sequence, reusing seqs shown in the old one', () => {
  const d = new Delivery();
  const m = (seq: number, epoch: string, id: string): RoomMessage => ({ type: 'message', identity: 'al', content: id, roomid: 'jokes', seq, epoch, id });
  for (const [seq, id] of [[1, 'a'], [2, 'b'], [3, 'c'], [4, 'd']] as const) assert.equal(d.admit(m(seq, 'old', id)), true);
  d.hold('jokes');
  // The restored server has a, b under a new epoch, and a new message at seq 3.
  for (const [seq, id] of [[3, 'new'], [1, 'a'], [2, 'b'], [3, 'new']] as const) assert.equal(d.admit(m(seq, 'fresh', id)), false);
  d.noteEpoch('jokes', 'fresh');
  assert.deepEqual(d.release().map((x) => x.id), ['new'], 'a and b were shown under the old epoch; new is shown');
  assert.deepEqual([d.lastSeq('jokes'), d.epochOf('jokes')], [3, 'fresh']);
  assert.equal(d.admit(m(4, 'fresh', 'later')), true, 'seq 4 of the new epoch is not the old seq 4');
});
