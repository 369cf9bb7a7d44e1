import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ChatState } from '../../src/core/chat-state';
import type { Effect } from '../../src/core/effects';
import { exceedsJsonDepth } from '../../src/protocol/json-depth';
import { parseClientLine } from '../../src/protocol/validate';

const LIMITS = { maxJsonDepth: 4, maxContentLength: 10 };
const code = (line: string, limits = LIMITS): string => {
  const r = parseClientLine(line, limits);
  return r.ok ? 'ok' : r.code;
};

describe('JSON depth scan', () => {
  test('counts arrays and objects; a top-level object is depth 1', () => {
    assert.equal(exceedsJsonDepth('{}', 1), false);
    assert.equal(exceedsJsonDepth('{"a":[]}', 1), true);
    assert.equal(exceedsJsonDepth('{"a":[{"b":[1]}]}', 4), false);
    assert.equal(exceedsJsonDepth('{"a":[{"b":[[1]]}]}', 4), true);
    assert.equal(exceedsJsonDepth('42', 0), false);
  });

  test('depth is the deepest point, not the number of brackets', () => {
    assert.equal(exceedsJsonDepth('[[],[],[],[],[],[]]', 2), false);
  });

  test('brackets inside strings, escaped quotes included, do not count', () => {
    assert.equal(exceedsJsonDepth('{"content":"[[[[[[{{{{"}', 1), false);
    assert.equal(exceedsJsonDepth('{"content":"a \\" [[[[[[ \\\\"}', 1), false);
    assert.equal(exceedsJsonDepth('{"content":"\\\\","x":[[1]]}', 2), true, 'an escaped backslash ends before the quote');
  });

  test('a hostile line is refused in one pass, long before its end', () => {
    // A million-character line of `[` that counts the characters the scan reads: the verdict
    // must come after maxDepth + 1 of them, whatever the machine's speed.
    let reads = 0;
    const evil = { length: 1_000_000, charCodeAt: () => (reads++, 0x5b) } as unknown as string;
    assert.equal(exceedsJsonDepth(evil, 8), true);
    assert.equal(reads, 9);
  });
});

describe('parseClientLine limits', () => {
  test('TOO_DEEP before parsing; at the limit is fine', () => {
    assert.equal(code('{"type":"list","x":[[[1]]]}'), 'ok');
    assert.equal(code('{"type":"list","x":[[[[1]]]]}'), 'TOO_DEEP');
    assert.equal(code('[[[[[ not even json'), 'TOO_DEEP');
  });

  test('CONTENT_TOO_LONG for message and dm content, counted in characters', () => {
    assert.equal(code('{"type":"message","content":"0123456789"}'), 'ok');
    assert.equal(code('{"type":"message","content":"0123456789x"}'), 'CONTENT_TOO_LONG');
    assert.equal(code('{"type":"dm","to":"bob","content":"0123456789x"}'), 'CONTENT_TOO_LONG');
    // Ten emoji are ten characters (twenty UTF-16 units).
    assert.equal(code(JSON.stringify({ type: 'message', content: '😀'.repeat(10) })), 'ok');
    assert.equal(code(JSON.stringify({ type: 'message', content: '😀'.repeat(11) })), 'CONTENT_TOO_LONG');
    // Other fields are not content.
    assert.equal(code(JSON.stringify({ type: 'join', roomid: 'x'.repeat(40) })), 'ok');
  });

  test('without limits, nothing is refused for size', () => {
    assert.equal(parseClientLine(JSON.stringify({ type: 'message', content: 'x'.repeat(100_000) })).ok, true);
    assert.equal(parseClientLine(`{"type":"list","x":${'['.repeat(100)}${']'.repeat(100)}}`).ok, true);
  });

  test('ping is a message of its own', () => {
    assert.deepEqual(parseClientLine('{"type":"ping"}'), { ok: true, message: { type: 'ping' } });
  });
});

describe('prototype keys in client input', () => {
  test('JSON.parse makes __proto__ an own property; nothing is inherited or polluted', () => {
    const r = parseClientLine('{"type":"list","__proto__":{"polluted":true,"type":"quit"},"constructor":{"prototype":{"polluted":true}}}');
    assert.equal(r.ok, true);
    const msg = r.ok ? (r.message as unknown as Record<string, unknown>) : {};
    assert.equal(Object.getPrototypeOf(msg), Object.prototype);
    assert.equal(msg.type, 'list');
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal((Object.prototype as Record<string, unknown>).polluted, undefined);
  });

  test('a required field cannot come from __proto__', () => {
    assert.equal(code('{"type":"message","__proto__":{"content":"hi"}}'), 'INVALID_FIELD');
    assert.equal(code('{"type":"login","__proto__":{"token":"t"}}'), 'INVALID_FIELD');
    assert.equal(code('{"type":"join","constructor":{"roomid":"x"}}'), 'INVALID_FIELD');
  });

  test('the message survives re-encoding for the hub as plain data', () => {
    const r = parseClientLine('{"type":"login","token":"t","__proto__":{"username":"admin","password":"x"}}');
    assert.equal(r.ok, true);
    const again = JSON.parse(JSON.stringify(r.ok ? r.message : null)) as Record<string, unknown>;
    assert.equal(again.username, undefined);
    assert.equal(Object.getPrototypeOf(again), Object.prototype);
  });

  test('names like __proto__ and constructor are plain keys to the room state', () => {
    const state = new ChatState();
    state.connect('w1:1');
    const roomlists = (fx: Effect[]): string[][] =>
      fx.flatMap((e) => (e.kind === 'deliver' && e.message.type === 'roomlist' ? [e.message.rooms.map((r) => r.roomid)] : []));
    assert.deepEqual(roomlists(state.request('w1:1', { type: 'createroom', roomid: 'constructor' })).at(-1), ['MainHall', 'constructor']);
    assert.deepEqual(roomlists(state.request('w1:1', { type: 'createroom', roomid: '__proto__' })).at(-1), ['MainHall', 'constructor'], 'not a room id');
    state.request('w1:1', { type: 'identitychange', identity: 'toString' });
    assert.equal(state.identityOf('w1:1'), 'toString');
    const who = state.roomContents('hasOwnProperty');
    assert.deepEqual(who, { type: 'roomcontents', roomid: 'hasOwnProperty', identities: [], owner: '' });
  });
});

describe('rooms per owner', () => {
  const createroom = (state: ChatState, key: string, roomid: string): Array<{ type: string; code?: unknown }> =>
    state.request(key, { type: 'createroom', roomid }).flatMap((e) => (e.kind === 'deliver' ? [e.message as { type: string; code?: unknown }] : []));

  test('a guest over the cap: the unchanged roomlist first, then TOO_MANY_ROOMS', () => {
    const state = new ChatState({ maxRoomsPerOwner: 2 });
    state.connect('w1:1');
    createroom(state, 'w1:1', 'RoomA');
    createroom(state, 'w1:1', 'RoomB');
    const refused = createroom(state, 'w1:1', 'RoomC');
    assert.deepEqual(refused.map((m) => m.type), ['roomlist', 'error']);
    assert.equal(refused[1]!.code, 'TOO_MANY_ROOMS');
    assert.deepEqual((state.roomList() as { rooms: Array<{ roomid: string }> }).rooms.map((r) => r.roomid), ['MainHall', 'RoomA', 'RoomB']);
    // A refusal for another reason stays a plain refusal.
    assert.deepEqual(createroom(state, 'w1:1', 'RoomA').map((m) => m.type), ['roomlist']);
    // Deleting one makes room for another.
    state.request('w1:1', { type: 'delete', roomid: 'RoomA' });
    assert.deepEqual(createroom(state, 'w1:1', 'RoomC').map((m) => m.type), ['roomlist']);
  });

  test('an account counts its stored rooms across connections, plus rooms it owned as a guest', () => {
    const state = new ChatState({ maxRoomsPerOwner: 2 });
    state.loadPersistentRooms([{ roomid: 'Kept', owner: 'alice' }]);
    state.connect('w1:1');
    createroom(state, 'w1:1', 'GuestRoom');
    state.login('w1:1', 'alice', { type: 'error', code: 'SESSION_REPLACED', message: '' });
    const refused = createroom(state, 'w1:1', 'Third');
    assert.equal(refused.at(-1)!.code, 'TOO_MANY_ROOMS');
    state.request('w1:1', { type: 'delete', roomid: 'Kept' });
    assert.deepEqual(createroom(state, 'w1:1', 'Third').map((m) => m.type), ['roomlist']);
    // Another guest is not affected by alice's count.
    state.connect('w1:2');
    assert.deepEqual(createroom(state, 'w1:2', 'Other').map((m) => m.type), ['roomlist']);
  });
});
