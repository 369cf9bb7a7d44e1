import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { TestClient, type Msg } from '../helpers/client';
import { expectFields, login, ok, refused, register, welcomed, type Conn } from '../helpers/requests';
import { startServer, type RunningServer } from '../helpers/server';

/**
 * Issue 9, items 1, 2 and 8 (text) against the real server: a pure seed-004 client (one that
 * sends only core requests and no `hello`) receives only the core server types, on every
 * refusal path and around moderation; a `hello` or any non-core type makes a connection
 * extended; a refused `createroom` lists everything but the room asked for; text that is not
 * well-formed Unicode is refused with INVALID_TEXT in every field, never altered.
 */

const CORE_TYPES = new Set(['newidentity', 'roomchange', 'roomcontents', 'roomlist', 'message']);
const CORE = { core: true } as const;

let seq = 0;
const uniq = (prefix: string): string => `${prefix}${Date.now().toString(36).slice(-4)}${++seq}`;

/** Everything the client received is of a core type, and every line was JSON. */
function assertCoreOnly(conn: Conn, what: string): void {
  const odd = conn.c.received.filter((m) => !CORE_TYPES.has(m.type));
  assert.deepEqual(odd, [], `${what}: a core client got non-core lines`);
  assert.deepEqual(conn.c.rawLines, [], `${what}: non-JSON lines`);
}

/**
 * Sends, then returns the first later message that is a reply of this kind (an `error` or a
 * line about another client would fail the checks that follow): `roomchange` and `newidentity`
 * replies are about the requester (`me`); others go by type.
 */
async function answer(conn: Conn, msg: object | string, type: string): Promise<Msg> {
  const earlier = conn.c.received.length;
  conn.c.send(msg);
  const mine = (m: Msg): boolean => (m.type === 'roomchange' ? m.identity === conn.id : m.type === 'newidentity' ? m.former === conn.id : true);
  return conn.c.waitFor((m) => conn.c.received.indexOf(m) >= earlier && (m.type === type || m.type === 'error') && mine(m));
}

/** A message that must be echoed: proves every earlier line was handled (lines are handled in order). */
async function roundTrip(conn: Conn): Promise<void> {
  const content = uniq('sync');
  await ok(conn.c, { type: 'message', content }, 'message', (m) => m.content === content && m.identity === conn.id);
}

function roomsOf(m: Msg): string[] {
  assert.equal(m.type, 'roomlist', JSON.stringify(m));
  return (m.rooms as Array<{ roomid: string }>).map((r) => r.roomid);
}

async function closedWithin(c: TestClient, ms = 5000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('not closed by the server')), ms)));
  try {
    await Promise.race([c.closed, late]);
  } finally {
    clearTimeout(timer);
  }
}

describe('core (seed-004) and extended clients', () => {
  let server: RunningServer;
  const conns: Conn[] = [];
  const connect = async (opts = {}): Promise<Conn> => {
    const conn = await welcomed(server.port, 20_000, opts);
    conns.push(conn);
    return conn;
  };

  before(async () => {
    server = await startServer({ args: ['--host', '127.0.0.1', '--workers', '2', '--admins', 'boss', '--max-rooms-per-owner', '1', '--max-content-length', '100'] });
  });
  after(async () => {
    await Promise.all(conns.map((c) => c.c.close()));
    await server.stop();
  });

  test('a core client: bad lines get no error; bad core requests get their seed refusal', async () => {
    const a = await connect(CORE);
    // Dropped without a word: not JSON, not a message, too long, not well-formed text.
    for (const line of ['not json\n', '[1]\n', '{"type":7}\n', '{"type":"message","content":5}\n', '{"type":"quit","x":"\\ud800"}\n', '{"type":"list","x":"\\ud800"}\n']) a.c.send(line);
    a.c.send({ type: 'message', content: 'x'.repeat(101) });
    a.c.send('{"type":"message","content":"\\ud800"}\n');
    a.c.socket.write(Buffer.concat([Buffer.from('{"type":"message","content":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}\n')]));
    await roundTrip(a);
    assert.deepEqual(a.c.received.filter((m) => m.type === 'message').map((m) => m.identity), [a.id], 'only the round trip was said');
    // A core request with an unusable name: the reply a name no one can have gets.
    expectFields(await answer(a, { type: 'identitychange', identity: 7 }, 'newidentity'), { type: 'newidentity', former: a.id, identity: a.id });
    expectFields(await answer(a, '{"type":"identitychange","identity":"Al\\udc00ce"}\n', 'newidentity'), { type: 'newidentity', former: a.id, identity: a.id });
    expectFields(await answer(a, { type: 'join' }, 'roomchange'), { type: 'roomchange', identity: a.id, former: 'MainHall', roomid: 'MainHall' });
    expectFields(await answer(a, '{"type":"join","roomid":"Main\\ud800"}\n', 'roomchange'), { type: 'roomchange', former: 'MainHall', roomid: 'MainHall' });
    expectFields(await answer(a, { type: 'who', roomid: ['MainHall'] }, 'roomcontents'), { type: 'roomcontents', roomid: '', identities: [], owner: '' });
    assert.ok(!roomsOf(await answer(a, { type: 'createroom', roomid: null }, 'roomlist')).includes(''));
    assert.deepEqual(roomsOf(await answer(a, '{"type":"createroom","roomid":"MainHall","x":"\\ud800"}\n', 'roomlist')).includes('MainHall'), true, 'nothing asked for by name');
    assert.ok(roomsOf(await answer(a, { type: 'delete', roomid: 1 }, 'roomlist')).includes('MainHall'));
    await roundTrip(a);
    assertCoreOnly(a, 'refusals');
    assert.ok(a.c.isOpen);
  });

  test('a refused createroom lists every room but the one asked for; over the cap no error reaches a core client', async () => {
    const [owner, a] = [await connect(CORE), await connect(CORE)];
    const room = uniq('Room');
    assert.ok(roomsOf(await answer(owner, { type: 'createroom', roomid: room }, 'roomlist')).includes(room), 'created');
    for (const roomid of [room, 'MainHall', 'x!', '']) {
      const rooms = roomsOf(await answer(a, { type: 'createroom', roomid }, 'roomlist'));
      assert.equal(rooms.includes(roomid), false, `refused ${JSON.stringify(roomid)} not listed`);
    }
    // --max-rooms-per-owner 1: the owner's second room is refused the seed way, with no error line.
    const second = uniq('Room');
    assert.equal(roomsOf(await answer(owner, { type: 'createroom', roomid: second }, 'roomlist')).includes(second), false);
    await roundTrip(owner);
    assertCoreOnly(owner, 'over the room cap');
    // The same for an extended client: the list without the room, then the error.
    const x = await connect();
    await answer(x, { type: 'createroom', roomid: uniq('Room') }, 'roomlist');
    const third = uniq('Room');
    assert.equal(roomsOf(await answer(x, { type: 'createroom', roomid: third }, 'roomlist')).includes(third), false);
    expectFields(await x.c.waitFor((m) => m.type === 'error'), { code: 'TOO_MANY_ROOMS' });
    // Other refusals still look refused: delete of a room one does not own lists it; join and
    // identitychange refusals show no change.
    assert.ok(roomsOf(await answer(a, { type: 'delete', roomid: room }, 'roomlist')).includes(room));
    expectFields(await answer(a, { type: 'identitychange', identity: owner.id }, 'newidentity'), { former: a.id, identity: a.id });
    expectFields(await answer(a, { type: 'join', roomid: 'MainHall' }, 'roomchange'), { former: 'MainHall', roomid: 'MainHall' });
    assertCoreOnly(a, 'refusals');
  });

  test('a core client in a room where moderation happens sees only core lines', async () => {
    const owner = await connect();
    const [member, banned, watcher] = [await connect(CORE), await connect(CORE), await connect(CORE)];
    const room = uniq('Club');
    await ok(owner.c, { type: 'createroom', roomid: room }, 'roomlist');
    for (const u of [owner, member, banned, watcher]) await ok(u.c, { type: 'join', roomid: room }, 'roomchange', (m) => m.identity === u.id && m.roomid === room);
    await ok(owner.c, { type: 'kick', roomid: room, identity: member.id, reason: 'out' }, 'kick');
    await member.c.waitFor((m) => m.type === 'roomchange' && m.identity === member.id && m.former === room && m.roomid === 'MainHall');
    await ok(owner.c, { type: 'ban', roomid: room, identity: banned.id, reason: 'gone' }, 'ban');
    await banned.c.waitFor((m) => m.type === 'roomchange' && m.identity === banned.id && m.roomid === 'MainHall');
    await ok(owner.c, { type: 'private', roomid: room, on: true }, 'private');
    // Refused joins: the core refusal only (no BANNED, no INVITE_ONLY).
    for (const u of [banned, member]) {
      const refusal = await ok(u.c, { type: 'join', roomid: room }, 'roomchange', (m) => m.identity === u.id);
      expectFields(refusal, { former: 'MainHall', roomid: 'MainHall' });
    }
    // A notice and a disconnect by an administrator.
    const boss = await connect();
    await register(boss.c, 'boss');
    await login(boss, 'boss');
    await ok(boss.c, { type: 'notice', content: 'maintenance' }, 'notice');
    const extended = await connect();
    await ok(boss.c, { type: 'notice', content: 'again' }, 'notice');
    await extended.c.waitFor((m) => m.type === 'notice' && m.content === 'again');
    await ok(boss.c, { type: 'disconnect', identity: watcher.id, reason: 'bye' }, 'disconnected');
    await closedWithin(watcher.c);
    for (const u of [member, banned]) await roundTrip(u);
    for (const [u, what] of [[member, 'kicked'], [banned, 'banned'], [watcher, 'watched, then disconnected']] as const) assertCoreOnly(u, what);
    assert.ok(owner.c.received.some((m) => m.type === 'kick'), 'the extended owner sees the kick');
  });

  test('hello, or any non-core type, makes a connection extended for good', async () => {
    const h = await connect(CORE);
    h.c.send({ type: 'hello', capabilities: ['extended', 'teleport'] });
    expectFields(await h.c.next(), { type: 'hello', capabilities: ['extended'] });
    await refused(h.c, 'not json\n', 'INVALID_JSON');
    await refused(h.c, { type: 'message', content: 'x'.repeat(101) }, 'CONTENT_TOO_LONG');
    await refused(h.c, { type: 'join', roomid: 5 }, 'INVALID_FIELD', ['roomchange']);

    const unknown = await connect(CORE);
    await refused(unknown.c, { type: 'dance' }, 'UNKNOWN_TYPE');
    await refused(unknown.c, { type: 'identitychange' }, 'INVALID_FIELD', ['newidentity']);
    const pinger = await connect(CORE);
    await ok(pinger.c, { type: 'ping' }, 'pong');
    await refused(pinger.c, '{}\n', 'INVALID_MESSAGE');
    // A refused non-core request (missing fields) declares it as well.
    const loginless = await connect(CORE);
    await refused(loginless.c, { type: 'login' }, 'INVALID_FIELD');
    await refused(loginless.c, { type: 'hello' }, 'INVALID_FIELD');
  });

  test('text that is not well-formed Unicode is refused in every field; well-formed text comes back exactly', async () => {
    const a = await connect();
    const b = await connect();
    await register(a.c, 'texter');
    await login(a, 'texter');
    const invalid = [
      '{"type":"message","content":"a\\ud800"}',
      '{"type":"dm","to":"texter","content":"\\udfff"}',
      '{"type":"status","text":"\\ud83d"}',
      '{"type":"register","username":"texter2","password":"password\\ud800"}',
      '{"type":"login","username":"texter","password":"password\\ud800"}',
      '{"type":"createroom","roomid":"Roomx","private":true,"note":"\\ud800"}',
      '{"type":"kick","roomid":"Nope","identity":"bob","reason":"\\ud800"}',
      '{"type":"notice","content":"\\ud800"}',
      '{"type":"presence","users":["\\ud800"]}',
    ];
    for (const line of invalid) await refused(a.c, line + '\n', 'INVALID_TEXT');
    a.c.socket.write(Buffer.concat([Buffer.from('{"type":"status","text":"caf'), Buffer.from([0xe9]), Buffer.from('"}\n')]));
    expectFields(await a.c.next(), { type: 'error', code: 'INVALID_TEXT' });
    // Well-formed: a pair written as escapes, astral characters, U+FFFD itself, all returned as sent.
    const content = '\ud83d\ude00 caf\u00e9 \ufffd \u{1f9ea}';
    const echo = await ok(a.c, '{"type":"message","content":"\\ud83d\\ude00 caf\\u00e9 \\ufffd \u{1f9ea}"}\n', 'message', (m) => m.identity === 'texter');
    assert.equal(echo.content, content);
    assert.equal((await b.c.waitFor((m) => m.type === 'message' && m.identity === 'texter')).content, content);
    const history = await ok(b.c, { type: 'history', roomid: 'MainHall', limit: 200 }, 'history');
    assert.ok((history.messages as Msg[]).some((m) => m.content === content), 'stored exactly');
    assert.ok(!(history.messages as Msg[]).some((m) => String(m.content).includes('a\ufffd')), 'nothing altered was stored');
    const status = await ok(a.c, { type: 'status', text: '\u{1f600}' }, 'profile');
    assert.equal(status.status, '\u{1f600}');
  });

  test('admission refusals are a plain close; a core client closed for abuse gets no line', async () => {
    const small = await startServer({ args: ['--host', '127.0.0.1', '--workers', '1', '--max-clients', '1', '--rate-limit', '2', '--rate-burst', '2', '--max-line-bytes', '200'] });
    try {
      const first = await welcomed(small.port, 20_000, CORE);
      const refusedConn = await TestClient.connect(small.port);
      await closedWithin(refusedConn);
      assert.deepEqual([refusedConn.received, refusedConn.rawLines], [[], []], 'closed without a line');
      // A flood: RATE_LIMITED drops say nothing; FLOODING closes without a line.
      for (let i = 0; i < 40; i++) first.c.send({ type: 'message', content: `m${i}` });
      await closedWithin(first.c);
      assertCoreOnly(first, 'flooded');
      await small.waitForLog((l) => l.reason === 'FLOODING');
      // An over-long line from a core client: closed without a line, the reason logged.
      const long = await waitAdmitted(small.port);
      long.c.send('{"type":"message","content":"' + 'x'.repeat(300) + '"}\n');
      await closedWithin(long.c);
      assertCoreOnly(long, 'line too long');
      await small.waitForLog((l) => l.reason === 'LINE_TOO_LONG');
    } finally {
      await small.stop();
    }
  });
});

/** A core client welcomed once the server has a free place again (it learns of freed ones from its worker). */
async function waitAdmitted(port: number): Promise<Conn> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      return await welcomed(port, 5000, CORE);
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}
