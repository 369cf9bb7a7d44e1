import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { TestClient, Msg } from '../helpers/client';
import { ask, login, ok, register, welcomed, type Conn } from '../helpers/requests';
import { startServer, type RunningServer } from '../helpers/server';
import { sleep, until } from '../helpers/wait';
import { runTag, uniqueNames } from '../helpers/unique-names';

/**
 * Item 5 and 6 of issue 9 through the real server: every paged read (history, resume,
 * dmhistory, the offline inbox) reaches every visible item exactly once at page sizes 1, 7 and
 * 20, with blocks filtering most items and many DMs of one millisecond; every queue kept for
 * someone (the inbox, its delivery, a session's waiting requests) is bounded, and the inbox is
 * delivered at the reader's pace. The server runs with small limits so the bounds are reached.
 */

const WINDOW = 7;
const OUTBOUND = 65536;
const INBOX_MESSAGES = 45;
const INBOX_BYTES = 600_000;
const QUEUED = 256;
const ARGS = [
  '--workers', '2',
  '--rate-limit', '5000', '--rate-burst', '5000', '--account-rate-limit', '5000',
  '--max-inbox-messages', String(INBOX_MESSAGES), '--max-inbox-bytes', String(INBOX_BYTES),
  '--inbox-window', String(WINDOW), '--max-outbound-bytes', String(OUTBOUND), '--max-queued-requests', String(QUEUED),
];
/** Long enough for the server to have sent anything it was going to send. */
const QUIET_MS = 300;

const uniq = uniqueNames(runTag(3));

async function account(port: number, prefix: string): Promise<Conn & { username: string }> {
  const conn = await welcomed(port);
  const username = uniq(prefix);
  await register(conn.c, username);
  await login(conn, username);
  return { ...conn, username };
}

/**
 * Sends `contents` as room messages, 100 to a write (room traffic is held to the small output
 * bound of this server); resolves once the sender has its last echo.
 */
async function post(conn: Conn, contents: string[]): Promise<void> {
  for (let i = 0; i < contents.length; i += 100) {
    const batch = contents.slice(i, i + 100);
    conn.c.send(batch.map((content) => JSON.stringify({ type: 'message', content }) + '\n').join(''));
    const last = batch[batch.length - 1];
    await conn.c.waitFor((m) => m.type === 'message' && m.identity === conn.id && m.content === last, 20_000);
  }
}

/** Pages `history` back from the newest with `next`; returns every content received, oldest first. */
async function historyPages(c: TestClient, roomid: string, limit: number): Promise<{ contents: string[]; pages: number }> {
  const pages: Msg[][] = [];
  let next: number | null = null;
  do {
    const request: Record<string, unknown> = { type: 'history', roomid, limit };
    if (next !== null) request.before = next;
    const page = await ok(c, request, 'history', (m) => m.roomid === roomid, 10_000);
    const messages = page.messages as Msg[];
    assert.ok(messages.length <= limit);
    assert.ok(page.next === null || (typeof page.next === 'number' && page.next <= (messages[0]?.seq as number ?? Infinity)), `next ${String(page.next)} below the page`);
    pages.unshift(messages);
    next = page.next as number | null;
    assert.ok(pages.length < 5000, 'paging ends');
  } while (next !== null);
  return { contents: pages.flat().map((m) => m.content as string), pages: pages.length };
}

/** Resumes from `since` 0 page by page (`limit`), following `resumed.seq` until `more` is false. */
async function resumePages(c: TestClient, roomid: string, limit: number | undefined): Promise<string[]> {
  const got: string[] = [];
  let since = 0;
  for (let i = 0; ; i++) {
    assert.ok(i < 5000, 'resuming ends');
    const earlier = new Set(c.received);
    c.send(limit === undefined ? { type: 'resume', roomid, since } : { type: 'resume', roomid, since, limit });
    const done = await c.waitFor((m) => !earlier.has(m) && (m.type === 'resumed' || m.type === 'error'), 10_000);
    assert.equal(done.type, 'resumed', JSON.stringify(done));
    const lines = c.received.filter((m) => !earlier.has(m) && m.type === 'message' && m.roomid === roomid && (m.seq as number) > since && (m.seq as number) <= (done.seq as number));
    if (limit !== undefined) assert.ok(lines.length <= limit, `${lines.length} > ${limit}`);
    got.push(...lines.map((m) => m.content as string));
    assert.ok((done.seq as number) >= since);
    since = done.seq as number;
    if (done.more === false) return got;
    assert.equal(done.more, true);
  }
}

describe('paging and bounded queues', { timeout: 120_000 }, () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer({ args: ARGS });
  });
  after(async () => {
    await server?.stop();
  });

  test('history and resume of a room whose reader blocks most senders: every visible message once, at limits 1, 7, 20', { timeout: 60_000 }, async () => {
    const reader = await account(server.port, 'Reader');
    const other = await welcomed(server.port);
    const guest = await welcomed(server.port);
    const roomid = uniq('Hall');
    await ok(reader.c, { type: 'createroom', roomid }, 'roomlist');
    for (const conn of [reader, other]) await ok(conn.c, { type: 'join', roomid }, 'roomchange', (m) => m.identity === conn.id && m.roomid === roomid);
    // The example: the reader posts one, another user posts 30, the reader blocks them. Then
    // more than one request's scan bound of blocked messages, and a few of the reader's own.
    await post(reader, ['r0']);
    await post(other, Array.from({ length: 30 }, (_, i) => `o${i}`));
    await post(reader, ['r1']);
    await post(other, Array.from({ length: 1100 }, (_, i) => `p${i}`));
    const mine = Array.from({ length: 7 }, (_, i) => `r${i + 2}`);
    for (const content of mine) await post(reader, [content]);
    const visible = ['r0', 'r1', ...mine];
    await ok(reader.c, { type: 'block', user: other.id }, 'blocklist');

    const first = await ok(reader.c, { type: 'history', roomid, limit: 20 }, 'history');
    assert.deepEqual((first.messages as Msg[]).map((m) => m.content), mine, 'blocked senders do not empty a page');
    for (const limit of [1, 7, 20]) {
      const { contents } = await historyPages(reader.c, roomid, limit);
      assert.deepEqual(contents, visible, `history, limit ${limit}`);
      assert.deepEqual(await resumePages(reader.c, roomid, limit), visible, `resume, limit ${limit}`);
    }
    assert.deepEqual(await resumePages(reader.c, roomid, undefined), visible, 'resume without a limit: all, more false');
    // A reader who blocks nobody gets all of it, the same way.
    const everything = (await historyPages(guest.c, roomid, 200)).contents;
    assert.equal(everything.length, visible.length + 1130);
    assert.equal(new Set(everything).size, everything.length);
    for (const conn of [reader, other, guest]) await conn.c.close();
  });

  test('dmhistory pages by cursor: many DMs of one millisecond each once, in order; `before` still accepted', { timeout: 30_000 }, async (t) => {
    const al = await account(server.port, 'Al');
    const bo = await account(server.port, 'Bo');
    const contents = Array.from({ length: 60 }, (_, i) => `dm${i}`);
    al.c.send(contents.map((content) => JSON.stringify({ type: 'dm', to: bo.username, content }) + '\n').join(''));
    const echoes = await until('60 echoes', () => {
      const mine = al.c.received.filter((m) => m.type === 'dm' && m.to === bo.username);
      return mine.length === 60 && mine;
    }, 15_000);
    const sameMs = echoes.length - new Set(echoes.map((m) => m.ts)).size;
    t.diagnostic(`${sameMs} of 60 DMs shared a millisecond with an earlier one`);
    for (const limit of [1, 7, 20]) {
      const pages: Msg[][] = [];
      let cursor: number | null = null;
      do {
        const request: Record<string, unknown> = { type: 'dmhistory', with: al.username, limit };
        if (cursor !== null) request.cursor = cursor;
        const page = await ok(bo.c, request, 'dmhistory');
        assert.ok((page.messages as Msg[]).length <= limit);
        pages.unshift(page.messages as Msg[]);
        cursor = page.next as number | null;
      } while (cursor !== null);
      assert.deepEqual(pages.flat().map((m) => m.content), contents, `limit ${limit}`);
      assert.deepEqual(pages.flat().map((m) => m.id), echoes.map((m) => m.id));
    }
    const newest = echoes[echoes.length - 1]!.ts as number;
    const byTs = await ok(bo.c, { type: 'dmhistory', with: al.username, before: newest + 1, limit: 5 }, 'dmhistory');
    assert.deepEqual((byTs.messages as Msg[]).map((m) => m.content), contents.slice(55));
    const older = await ok(bo.c, { type: 'dmhistory', with: al.username, before: newest + 1, cursor: byTs.next, limit: 5 }, 'dmhistory');
    assert.deepEqual((older.messages as Msg[]).map((m) => m.content), contents.slice(50, 55), 'the cursor goes on where `before` started');
    for (const conn of [al, bo]) await conn.c.close();
  });

  test('a full inbox refuses with INBOX_FULL; a login drains it across windows paced by acks, nothing lost, no SLOW_CONSUMER', { timeout: 60_000 }, async () => {
    const bob = await account(server.port, 'Bob');
    await bob.c.close();
    const senders = await Promise.all(Array.from({ length: 5 }, (_, i) => account(server.port, `S${i}`)));
    const big = 'x'.repeat(16_000);
    const stored: string[] = [];
    const dm = async (from: Conn, content: string): Promise<Msg> =>
      ask(from.c, { type: 'dm', to: bob.username, content }, (m) => m.type === 'dm' && m.content === content);
    // Round robin over five senders until the bytes cap refuses a 16 KB DM.
    for (let i = 0; ; i++) {
      const content = `${i}:${big}`;
      const reply = await dm(senders[i % 5]!, content);
      if (reply.type === 'error') {
        assert.equal(reply.code, 'INBOX_FULL', JSON.stringify(reply));
        break;
      }
      stored.push(content);
      assert.ok(stored.length <= INBOX_BYTES / 16_000, 'the bytes cap holds');
    }
    assert.equal(stored.length, Math.floor(INBOX_BYTES / 16_006), 'filled to the bytes cap');
    // Small DMs fit the bytes left, up to the entries cap.
    for (;;) {
      const content = `small${stored.length}`;
      const reply = await dm(senders[0]!, content);
      if (reply.type === 'error') {
        assert.equal(reply.code, 'INBOX_FULL');
        break;
      }
      stored.push(content);
    }
    assert.equal(stored.length, INBOX_MESSAGES, 'filled to the entries cap');

    // A session that never acks gets one window and no more; it leaves without acking.
    const first = await welcomed(server.port);
    await login(first, bob.username);
    await until('the first window', () => first.c.received.some((m) => m.type === 'dm'), 10_000);
    await sleep(QUIET_MS);
    const window = first.c.received.filter((m) => m.type === 'dm');
    assert.ok(window.length >= 1 && window.length <= WINDOW, `one window: ${window.length}`);
    assert.ok(window.reduce((n, m) => n + JSON.stringify(m).length + 1, 0) <= OUTBOUND || window.length === 1, 'within the output bound');
    await first.c.close();

    // The next login gets the same window again (never acknowledged), acks it with the numbers
    // the first session got, and reads on at its own pace.
    const reader = await welcomed(server.port);
    await login(reader, bob.username);
    let acked = window[window.length - 1]!.inbox as number;
    reader.c.send({ type: 'ack', inbox: acked });
    const seen = new Map<string, Msg>(window.map((m) => [m.id as string, m]));
    for (let rounds = 0; seen.size < INBOX_MESSAGES; rounds++) {
      assert.ok(rounds < 100, `still missing ${INBOX_MESSAGES - seen.size}`);
      await until('more DMs', () => reader.c.received.some((m) => m.type === 'dm' && (m.inbox as number) > acked), 10_000);
      await sleep(QUIET_MS);
      const unacked = reader.c.received.filter((m) => m.type === 'dm' && (m.inbox as number) > acked);
      assert.ok(unacked.length <= WINDOW, `at most a window in flight: ${unacked.length}`);
      for (const m of unacked) seen.set(m.id as string, m);
      acked = Math.max(...unacked.map((m) => m.inbox as number));
      reader.c.send({ type: 'ack', inbox: acked });
    }
    const delivered = [...seen.values()].sort((a, b) => (a.inbox as number) - (b.inbox as number)).map((m) => m.content);
    assert.equal(delivered.length, stored.length, 'one entry per inbox number');
    assert.ok(delivered.every((content, i) => content === stored[i]), 'everything, in order');
    assert.ok(reader.c.isOpen, 'not closed');
    assert.ok(!reader.c.received.some((m) => m.type === 'error'), JSON.stringify(reader.c.received.filter((m) => m.type === 'error')));
    const profile = await ok(reader.c, { type: 'status', text: 'done' }, 'profile');
    assert.equal(profile.inbox, 0, 'the inbox is empty');
    assert.equal((await dm(senders[1]!, 'room again')).type, 'dm', 'room again for DMs');
    for (const conn of [reader, ...senders]) await conn.c.close();
  });

  test('dnd: the recipient sees how many wait; turning it off delivers them, paced like a login', { timeout: 30_000 }, async () => {
    const carol = await account(server.port, 'Carol');
    const al = await account(server.port, 'Al');
    assert.equal((await ok(carol.c, { type: 'dnd', on: true }, 'profile')).inbox, 0);
    const contents = Array.from({ length: 10 }, (_, i) => `held${i}`);
    for (const content of contents) await ok(al.c, { type: 'dm', to: carol.username, content }, 'dm', (m) => m.content === content);
    await sleep(QUIET_MS);
    assert.deepEqual(carol.c.received.filter((m) => m.type === 'dm'), [], 'held while dnd is on');
    const count = await ok(carol.c, { type: 'dnd', on: true }, 'profile');
    assert.equal(count.inbox, 10, 'the count of waiting DMs');
    const off = await ok(carol.c, { type: 'dnd', on: false }, 'profile');
    assert.equal(off.dnd, false);
    await until('a window', () => carol.c.received.filter((m) => m.type === 'dm').length >= WINDOW, 5000);
    await sleep(QUIET_MS);
    const firstWindow = carol.c.received.filter((m) => m.type === 'dm');
    assert.equal(firstWindow.length, WINDOW, 'one window until acked');
    carol.c.send({ type: 'ack', inbox: firstWindow[WINDOW - 1]!.inbox });
    await until('the rest', () => carol.c.received.filter((m) => m.type === 'dm').length >= 10, 5000);
    assert.deepEqual(carol.c.received.filter((m) => m.type === 'dm').map((m) => m.content), contents);
    for (const conn of [carol, al]) await conn.c.close();
  });

  test('requests waiting behind a slow one are bounded: beyond the bound each is refused with BUSY, none lost silently', { timeout: 30_000 }, async () => {
    const conn = await welcomed(server.port);
    const username = uniq('Queue');
    await register(conn.c, username);
    const earlier = new Set(conn.c.received);
    const N = QUEUED + 100;
    // A login (a password hash: slow) then N requests in one write: they wait behind it.
    conn.c.send(JSON.stringify({ type: 'login', username, password: 'correct horse' }) + '\n' + JSON.stringify({ type: 'list' }).concat('\n').repeat(N));
    const answers = (): Msg[] => conn.c.received.filter((m) => !earlier.has(m) && (m.type === 'roomlist' || (m.type === 'error' && m.code === 'BUSY')));
    await until(`${N} answers`, () => answers().length >= N, 15_000);
    await sleep(QUIET_MS);
    const busy = answers().filter((m) => m.type === 'error').length;
    assert.equal(answers().length, N, 'each request answered once');
    assert.ok(busy >= 1, 'the bound was reached');
    assert.ok(N - busy >= QUEUED, `at least the bound was served: ${N - busy}`);
    await conn.c.close();
  });
});
