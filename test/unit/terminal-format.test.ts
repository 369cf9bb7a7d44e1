import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  clock,
  formatDisconnect,
  formatReconnecting,
  formatRetry,
  formatServerEvent,
  promptFor,
  sanitize,
  shortId,
} from '../../src/client/terminal/format';
import { applyServerMessage, initialViewState, type ViewState } from '../../src/client/terminal/state';
import { decodeServerLine, type ServerMessage } from '../../src/client/terminal/wire';

const TARGET = '127.0.0.1:4444';
const me: ViewState = { identity: 'guest1', room: 'MainHall', welcomed: true, account: '' };
const lines = (message: ServerMessage, state: ViewState = me): string[] =>
  formatServerEvent({ kind: 'known', message }, state, TARGET);
const show = (message: ServerMessage, state: ViewState = me): string => lines(message, state).join('\n');

test('the first newidentity is the welcome', () => {
  assert.equal(
    show({ type: 'newidentity', former: '', identity: 'guest1' }, initialViewState),
    'Connected to 127.0.0.1:4444 as guest1',
  );
});

test('identity changes and refusals', () => {
  assert.equal(show({ type: 'newidentity', former: 'guest1', identity: 'bob' }), 'guest1 is now bob');
  assert.equal(show({ type: 'newidentity', former: 'guest2', identity: 'alice' }), 'guest2 is now alice');
  assert.equal(
    show({ type: 'newidentity', former: 'guest1', identity: 'guest1' }),
    'Requested identity invalid or in use',
  );
});

test('room changes: move, arrive, leave, refusal', () => {
  assert.equal(
    show({ type: 'roomchange', identity: 'guest1', former: 'MainHall', roomid: 'jokes' }),
    'guest1 moves from MainHall to jokes',
  );
  assert.equal(show({ type: 'roomchange', identity: 'guest1', former: '', roomid: 'MainHall' }), 'guest1 moves to MainHall');
  assert.equal(show({ type: 'roomchange', identity: 'guest1', former: 'MainHall', roomid: '' }), 'guest1 leaves MainHall');
  assert.equal(
    show({ type: 'roomchange', identity: 'guest1', former: 'MainHall', roomid: 'MainHall' }),
    'The requested room is invalid or non existent',
  );
});

test('room contents mark the owner with *', () => {
  assert.equal(
    show({ type: 'roomcontents', roomid: 'jokes', identities: ['guest1', 'bob'], owner: 'bob' }),
    'jokes contains guest1 bob* (* owner)',
  );
  assert.equal(
    show({ type: 'roomcontents', roomid: 'MainHall', identities: ['guest1'], owner: '' }),
    'MainHall contains guest1',
  );
  assert.equal(show({ type: 'roomcontents', roomid: 'jokes', identities: [], owner: 'bob' }), 'jokes is empty');
});

test('room list, messages, errors', () => {
  assert.equal(
    show({ type: 'roomlist', rooms: [{ roomid: 'MainHall', count: 3 }, { roomid: 'jokes', count: 1 }] }),
    'Rooms: MainHall 3, jokes 1',
  );
  assert.equal(show({ type: 'roomlist', rooms: [] }), 'Rooms: none');
  assert.equal(show({ type: 'message', identity: 'bob', content: 'hello' }), 'bob: hello');
  assert.equal(show({ type: 'error', code: 'E_RATE', message: 'slow down' }), 'error E_RATE: slow down');
});

test('unknown types and non-JSON lines are shown as they came', () => {
  const line = '{"type":"ping","id":7}';
  assert.deepEqual(formatServerEvent(decodeServerLine(line), me, TARGET), [line]);
  assert.deepEqual(formatServerEvent(decodeServerLine('hello there'), me, TARGET), ['hello there']);
  // a known type missing a field is not trusted: shown raw too
  for (const partial of [
    '{"type":"roomchange","identity":"bob"}',
    '{"type":"dm","from":"a","to":"b"}',
    '{"type":"history","roomid":"x","messages":[{"identity":"a"}]}',
    '{"type":"presence","users":[{"username":"a","online":"yes","status":"","dnd":false}]}',
  ]) {
    assert.deepEqual(formatServerEvent(decodeServerLine(partial), me, TARGET), [partial]);
  }
});

test('server text cannot drive the terminal', () => {
  assert.equal(sanitize('a\u001b[2Jb'), 'a\\x1b[2Jb');
  assert.equal(sanitize('one\ntwo\r'), 'one\\ntwo\\r');
  assert.equal(sanitize('tab\tkept, é ok'), 'tab\tkept, é ok');
  assert.equal(show({ type: 'message', identity: 'x\u0007', content: '\u009bhi' }), 'x\\x07: \\x9bhi');
});

test('decodeServerLine classifies lines and tolerates extra fields', () => {
  assert.deepEqual(decodeServerLine('{"type":"message","identity":"bob","content":"hi","extra":4}'), {
    kind: 'known',
    message: { type: 'message', identity: 'bob', content: 'hi' },
  });
  // the fields of the accounts extension are kept when well-typed, dropped when not
  assert.deepEqual(
    decodeServerLine('{"type":"message","identity":"bob","content":"hi","roomid":"r","id":"m1","seq":4,"ts":5,"recalled":true}'),
    { kind: 'known', message: { type: 'message', identity: 'bob', content: 'hi', roomid: 'r', id: 'm1', seq: 4, ts: 5, recalled: true } },
  );
  assert.deepEqual(decodeServerLine('{"type":"message","identity":"bob","content":"hi","seq":"4","id":7,"recalled":1}'), {
    kind: 'known',
    message: { type: 'message', identity: 'bob', content: 'hi' },
  });
  assert.deepEqual(decodeServerLine('{"type":"dm","id":"d1","from":"a","to":"b","content":"c","ts":1,"inbox":3}'), {
    kind: 'known',
    message: { type: 'dm', id: 'd1', from: 'a', to: 'b', content: 'c', ts: 1, inbox: 3 },
  });
  assert.deepEqual(decodeServerLine('{"type":"error","code":42,"message":"m"}'), {
    kind: 'known',
    message: { type: 'error', code: '42', message: 'm' },
  });
  assert.equal(decodeServerLine('[1,2]').kind, 'raw');
  assert.equal(decodeServerLine('null').kind, 'raw');
  assert.equal(decodeServerLine('{"type":"roomlist","rooms":[{"roomid":"a"}]}').kind, 'other');
});

test('the state follows our own identity and room only', () => {
  let s = applyServerMessage(initialViewState, { type: 'newidentity', former: '', identity: 'guest1' });
  assert.deepEqual(s, { identity: 'guest1', room: '', welcomed: true, account: '' });
  s = applyServerMessage(s, { type: 'roomchange', identity: 'guest1', former: '', roomid: 'MainHall' });
  assert.equal(s.room, 'MainHall');
  s = applyServerMessage(s, { type: 'roomchange', identity: 'guest2', former: 'MainHall', roomid: 'jokes' });
  assert.equal(s.room, 'MainHall');
  s = applyServerMessage(s, { type: 'roomchange', identity: 'guest1', former: 'MainHall', roomid: 'MainHall' });
  assert.equal(s.room, 'MainHall');
  s = applyServerMessage(s, { type: 'newidentity', former: 'guest2', identity: 'alice' });
  assert.equal(s.identity, 'guest1');
  s = applyServerMessage(s, { type: 'newidentity', former: 'guest1', identity: 'bob' });
  assert.equal(s.identity, 'bob');
  s = applyServerMessage(s, { type: 'roomchange', identity: 'bob', former: 'MainHall', roomid: 'jokes' });
  assert.deepEqual(s, { identity: 'bob', room: 'jokes', welcomed: true, account: '' });
});

test('login and logout set the identity and account, whichever of loggedin and newidentity comes first', () => {
  const guest: ViewState = { identity: 'guest3', room: 'MainHall', welcomed: true, account: '' };
  let s = applyServerMessage(guest, { type: 'loggedin', identity: 'alice', token: 't' });
  assert.deepEqual(s, { ...guest, identity: 'alice', account: 'alice' });
  assert.equal(applyServerMessage(s, { type: 'newidentity', former: 'guest3', identity: 'alice' }), s);
  s = applyServerMessage(guest, { type: 'newidentity', former: 'guest3', identity: 'alice' });
  s = applyServerMessage(s, { type: 'loggedin', identity: 'alice', token: 't' });
  assert.deepEqual(s, { ...guest, identity: 'alice', account: 'alice' });
  s = applyServerMessage(s, { type: 'loggedout', identity: 'guest7' });
  assert.deepEqual(s, { ...guest, identity: 'guest7', account: '' });
});

test('prompt and disconnect lines', () => {
  assert.equal(promptFor(initialViewState), '');
  assert.equal(promptFor(me), '[MainHall] guest1> ');
  assert.equal(promptFor({ ...me, room: '' }), 'guest1> ');
  assert.equal(formatDisconnect(null), 'Disconnected by server');
  assert.equal(
    formatDisconnect({ kind: 'known', message: { type: 'error', code: 'E_IDLE', message: 'idle too long' } }),
    'Disconnected by server: idle too long (E_IDLE)',
  );
  assert.equal(
    formatDisconnect({ kind: 'known', message: { type: 'message', identity: 'a', content: 'b' } }),
    'Disconnected by server',
  );
});

test('a welcome after a reconnection says so', () => {
  assert.deepEqual(
    formatServerEvent({ kind: 'known', message: { type: 'newidentity', former: '', identity: 'guest4' } }, initialViewState, TARGET, true),
    ['Reconnected to 127.0.0.1:4444 as guest4'],
  );
});

test('accounts: registered, logged in, logged out', () => {
  assert.equal(show({ type: 'registered', username: 'alice' }), 'Registered alice');
  assert.equal(show({ type: 'loggedin', identity: 'alice', token: 'secret' }), 'Logged in as alice');
  assert.equal(show({ type: 'loggedout', identity: 'guest3' }), 'Logged out; now guest3');
});

test('room messages: our own show the short id, others not', () => {
  const alice: ViewState = { ...me, identity: 'alice', account: 'alice' };
  const m = { type: 'message', identity: 'alice', content: 'hi', roomid: 'MainHall', id: '01HZX7K9ABCDEFGH', seq: 3, ts: 0 } as const;
  assert.equal(show(m, alice), 'alice: hi [ABCDEFGH]');
  assert.equal(show({ ...m, identity: 'bob' }, alice), 'bob: hi');
  assert.equal(show({ ...m, id: 'm7' }, alice), 'alice: hi [m7]');
  assert.equal(show({ type: 'message', identity: 'alice', content: 'hi' }, alice), 'alice: hi');
  assert.equal(shortId('0123456789'), '23456789');
});

test('direct messages, live and from the inbox', () => {
  const alice: ViewState = { ...me, identity: 'alice', account: 'alice' };
  const dm = { type: 'dm', id: 'dm-000042', from: 'bob', to: 'alice', content: 'hi', ts: 0 } as const;
  assert.equal(show(dm, alice), '[dm] bob -> alice: hi');
  assert.equal(show({ ...dm, inbox: 4 }, alice), '[dm offline] bob -> alice: hi');
  assert.equal(show({ ...dm, from: 'alice', to: 'bob' }, alice), '[dm] alice -> bob: hi [m-000042]');
  assert.equal(show({ ...dm, content: 'a\u001b[31m' }, alice), '[dm] bob -> alice: a\\x1b[31m');
});

test('history and dm history: HH:MM, the id on every line, recalled ones marked', () => {
  const ts = new Date(2024, 4, 6, 9, 5).getTime(); // local time
  assert.equal(clock(ts), '09:05');
  assert.equal(clock(undefined), '--:--');
  assert.deepEqual(
    lines({
      type: 'history',
      roomid: 'jokes',
      messages: [
        { type: 'message', identity: 'bob', content: 'one', roomid: 'jokes', id: 'aaaa1111', seq: 1, ts },
        { type: 'message', identity: 'guest1', content: '', roomid: 'jokes', id: 'bbbb2222', seq: 2, ts, recalled: true },
      ],
    }),
    ['History of jokes: 2 messages', '2024-05-06 09:05 bob: one [aaaa1111]', '2024-05-06 09:05 guest1: (recalled) [bbbb2222]'],
  );
  assert.deepEqual(lines({ type: 'history', roomid: 'jokes', messages: [] }), ['History of jokes: 0 messages']);
  assert.deepEqual(
    lines({ type: 'dmhistory', with: 'bob', messages: [{ type: 'dm', id: 'cccc3333', from: 'bob', to: 'guest1', content: 'yo', ts }] }),
    ['Direct messages with bob: 1 message', '2024-05-06 09:05 [dm] bob -> guest1: yo [cccc3333]'],
  );
});

test('recall, block list, profile, presence', () => {
  assert.equal(
    show({ type: 'recalled', id: '01HZX7K9ABCDEFGH', roomid: 'jokes', seq: 4, by: 'alice' }),
    'message ABCDEFGH recalled by alice',
  );
  assert.equal(show({ type: 'blocklist', users: ['bob', 'carol'] }), 'You block: bob, carol');
  assert.equal(show({ type: 'blocklist', users: [] }), 'You have blocked no one.');
  assert.equal(show({ type: 'profile', username: 'alice', status: 'out to lunch', dnd: true }), 'Profile of alice: dnd on, status "out to lunch"');
  assert.equal(show({ type: 'profile', username: 'alice', status: '', dnd: false }), 'Profile of alice: dnd off, no status');
  assert.deepEqual(
    lines({
      type: 'presence',
      users: [
        { username: 'alice', online: true, status: 'out to lunch', dnd: true },
        { username: 'bob', online: false, status: '', dnd: false },
      ],
    }),
    ['alice: online, dnd, "out to lunch"', 'bob: offline'],
  );
  assert.deepEqual(lines({ type: 'presence', users: [] }), ['Presence: nobody']);
  // The `state` of a server with the devices feature: away is said.
  const states = '{"type":"presence","users":[{"username":"cy","online":true,"status":"","dnd":false,"state":"away"},{"username":"di","online":true,"status":"","dnd":false,"state":"online"}]}';
  assert.deepEqual(formatServerEvent(decodeServerLine(states), me, TARGET), ['cy: online, away', 'di: online']);
  assert.deepEqual(lines({ type: 'resumed', roomid: 'jokes', seq: 9 }), []);
});

test('reconnection lines', () => {
  assert.equal(formatReconnecting(null, 250), 'Connection lost; reconnecting in 0.3s\u2026');
  assert.equal(
    formatReconnecting({ kind: 'known', message: { type: 'error', code: 'SHUTTING_DOWN', message: 'stopping' } }, 5000),
    'Disconnected by server: stopping (SHUTTING_DOWN); reconnecting in 5.0s\u2026',
  );
  const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
  assert.equal(formatRetry(refused, 1000), 'Reconnect failed (ECONNREFUSED); retrying in 1.0s\u2026');
});
