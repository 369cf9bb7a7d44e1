import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatDisconnect, formatServerEvent, promptFor, sanitize } from '../../src/client/terminal/format';
import { applyServerMessage, initialViewState, type ViewState } from '../../src/client/terminal/state';
import { decodeServerLine, type ServerMessage } from '../../src/client/terminal/wire';

const TARGET = '127.0.0.1:4444';
const me: ViewState = { identity: 'guest1', room: 'MainHall', welcomed: true };
const show = (message: ServerMessage, state: ViewState = me): string =>
  formatServerEvent({ kind: 'known', message }, state, TARGET);

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
    'jokes contains guest1 bob*',
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
  assert.equal(formatServerEvent(decodeServerLine(line), me, TARGET), line);
  assert.equal(formatServerEvent(decodeServerLine('hello there'), me, TARGET), 'hello there');
  // a known type missing a field is not trusted: shown raw too
  const partial = '{"type":"roomchange","identity":"bob"}';
  assert.equal(formatServerEvent(decodeServerLine(partial), me, TARGET), partial);
});

test('server text cannot drive the terminal', () => {
  assert.equal(sanitize('a\u001b[2Jb'), 'a\\x1b[2Jb');
  assert.equal(sanitize('one\ntwo\r'), 'one\\ntwo\\r');
  assert.equal(sanitize('tab\tkept, é ok'), 'tab\tkept, é ok');
  assert.equal(show({ type: 'message', identity: 'x\u0007', content: '\u009bhi' }), 'x\\x07: \\x9bhi');
});

test('decodeServerLine classifies lines and tolerates extra fields', () => {
  assert.deepEqual(decodeServerLine('{"type":"message","identity":"bob","content":"hi","seq":4}'), {
    kind: 'known',
    message: { type: 'message', identity: 'bob', content: 'hi' },
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
  assert.deepEqual(s, { identity: 'guest1', room: '', welcomed: true });
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
  assert.deepEqual(s, { identity: 'bob', room: 'jokes', welcomed: true });
});

test('prompt and disconnect lines', () => {
  assert.equal(promptFor(initialViewState), '');
  assert.equal(promptFor(me), '[MainHall] guest1> ');
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
