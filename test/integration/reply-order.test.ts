import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Msg, TestClient } from '../helpers/client';
import { PASSWORD, login, register, welcomed } from '../helpers/requests';
import { startServer, type RunningServer } from '../helpers/server';

/**
 * Replies come in the order of the requests (docs/PROTOCOL.md, "Framing"): a line the worker
 * answers itself (an `error`, `pong`) waits behind the replies to the session's earlier
 * requests still in the hub (a `register` hashing its password, a `dm` or `history` waiting for
 * the store). A client without request ids can only match replies by their order.
 */

/** The next `n` messages of `types` (others, such as a login's `contacts` push, skipped), in arrival order. */
async function nextN(c: TestClient, n: number, types: string[]): Promise<Msg[]> {
  const got: Msg[] = [];
  for (let i = 0; i < n; i++) got.push(await c.waitFor((m) => types.includes(m.type), 10_000));
  return got;
}

/** A reply's kind: its type, and its code for an error. */
const kindOf = (m: Msg): string => (m.type === 'error' ? `error ${String(m.code)}` : m.type);

describe('reply order', () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer({ args: ['--workers', '1', '--max-line-bytes', '1024'] });
  });
  after(() => server?.stop());

  test('a refused line after a slow register is answered after it, in request order', async () => {
    const { c } = await welcomed(server.port);
    try {
      c.send(
        [
          JSON.stringify({ type: 'register', username: 'orderly', password: PASSWORD }),
          'not json',
          JSON.stringify({ type: 'list' }),
          JSON.stringify({ type: 'ping' }),
          JSON.stringify({ type: 'nosuchtype' }),
          JSON.stringify({ type: 'status', text: 5 }),
          JSON.stringify({ type: 'ping' }),
        ].join('\n') + '\n',
      );
      const replies = (await nextN(c, 7, ['registered', 'roomlist', 'pong', 'error'])).map(kindOf);
      assert.deepEqual(replies, ['registered', 'error INVALID_JSON', 'roomlist', 'pong', 'error UNKNOWN_TYPE', 'error INVALID_FIELD', 'pong']);
    } finally {
      await c.close();
    }
  });

  test('an invalid field after a dm or a history request is answered after its reply', async () => {
    const bob = await welcomed(server.port);
    const alice = await welcomed(server.port);
    try {
      await register(bob.c, 'bob');
      await register(alice.c, 'alice');
      await login(alice, 'alice');
      alice.c.send(
        [
          JSON.stringify({ type: 'dm', to: 'bob', content: 'lunch?' }),
          JSON.stringify({ type: 'dm', to: 5, content: 'no one' }),
          JSON.stringify({ type: 'history', roomid: 'MainHall', limit: 5 }),
          JSON.stringify({ type: 'history', roomid: 7 }),
          JSON.stringify({ type: 'dmhistory', with: 'bob' }),
          '{"type":',
        ].join('\n') + '\n',
      );
      const replies = await nextN(alice.c, 6, ['dm', 'history', 'dmhistory', 'error']);
      assert.deepEqual(replies.map(kindOf), ['dm', 'error INVALID_FIELD', 'history', 'error INVALID_FIELD', 'dmhistory', 'error INVALID_JSON']);
      assert.equal(replies[0]!.content, 'lunch?');
    } finally {
      await alice.c.close();
      await bob.c.close();
    }
  });

  test('a close for abuse stays immediate: its error is the last line', async () => {
    const { c } = await welcomed(server.port);
    try {
      c.send(JSON.stringify({ type: 'register', username: 'cut', password: PASSWORD }) + '\nnot json\n' + 'x'.repeat(2048));
      await c.closed;
      const last = c.received.at(-1);
      assert.equal(last?.type, 'error', JSON.stringify(c.received));
      assert.equal(last?.code, 'LINE_TOO_LONG');
    } finally {
      await c.close();
    }
  });
});
