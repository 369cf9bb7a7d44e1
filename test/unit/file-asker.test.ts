import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeWorkerToHub, Kind } from '../../src/ipc/hub-link-messages';
import { FrameDecoder } from '../../src/ipc/frame-codec';
import { FileAsker, MAX_FILE_ASKS_PER_WORKER } from '../../src/worker/file-asker';

/** The frames in `bytes`, as [kind, payload copy]. */
function decodeFrames(bytes: Buffer): Array<[number, Buffer]> {
  const out: Array<[number, Buffer]> = [];
  new FrameDecoder(1 << 20).push(bytes, (kind, payload) => out.push([kind, Buffer.from(payload)]));
  return out;
}

/** The worker's questions to the hub about files: correlation ids, the in-flight bound, a link that cannot take a frame. */

test('answers go to their ask by correlation id; unknown ids are dropped', async () => {
  const sent: Buffer[] = [];
  const asker = new FileAsker((frame) => (sent.push(frame), true));
  const one = asker.ask({ op: 'auth', token: 'a' });
  const two = asker.ask({ op: 'access', token: 'b', id: 'f'.repeat(64) });
  const asks = sent.flatMap(decodeFrames).map(([kind, payload]) => decodeWorkerToHub(kind, payload));
  assert.deepEqual(asks.map((a) => a.kind), [Kind.FILE_ASK, Kind.FILE_ASK]);
  const [a, b] = asks.map((x) => (x.kind === Kind.FILE_ASK ? x.frame : assert.fail('not a FILE_ASK')));
  assert.notEqual(a!.cid, b!.cid);
  asker.answered({ cid: 999_999, answer: { ok: false, code: 'BUSY', message: 'x' } });
  asker.answered({ cid: b!.cid, answer: { ok: false, code: 'NO_SUCH_FILE', message: 'no' } });
  asker.answered({ cid: a!.cid, answer: { ok: true, username: 'ann' } });
  assert.deepEqual(await two, { ok: false, code: 'NO_SUCH_FILE', message: 'no' });
  assert.deepEqual(await one, { ok: true, username: 'ann' });
});

test('bounded in flight: past the bound BUSY at once; a link that cannot take it BUSY', async () => {
  const asker = new FileAsker(() => true);
  const waiting = Array.from({ length: MAX_FILE_ASKS_PER_WORKER }, () => asker.ask({ op: 'auth', token: 't' }));
  const over = await asker.ask({ op: 'auth', token: 't' });
  assert.equal(over.ok, false);
  assert.equal(!over.ok && over.code, 'BUSY');
  void waiting;
  const away = new FileAsker(() => false);
  const refused = await away.ask({ op: 'auth', token: 't' });
  assert.equal(!refused.ok && refused.code, 'BUSY');
});
