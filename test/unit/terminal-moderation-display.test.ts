// How the terminal client reads and shows the roles and moderation messages: lenient decoding
// (fields it needs checked, extra fields ignored), the lines shown, ban ends in UTC, notices
// marked, and the new error codes shown like any error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { utcTime } from '../../src/client/terminal/display-text';
import { formatDisconnect, formatServerEvent } from '../../src/client/terminal/format';
import type { ViewState } from '../../src/client/terminal/state';
import { decodeServerLine, type ServerMessage } from '../../src/client/terminal/wire';

const me: ViewState = { identity: 'bob', room: 'Attic', welcomed: true, account: 'bob' };
/** What the client shows for one line from the server. */
const shown = (line: object | string): string[] =>
  formatServerEvent(decodeServerLine(typeof line === 'string' ? line : JSON.stringify(line)), me, '127.0.0.1:4444');

// 2024-05-20 10:33:20 UTC
const UNTIL = Date.UTC(2024, 4, 20, 10, 33, 20);

test('every moderation message is decoded with the fields the client needs, extra fields ignored', () => {
  const messages: ServerMessage[] = [
    { type: 'private', roomid: 'Attic', on: true, by: 'alice' },
    { type: 'invite', roomid: 'Attic', identity: 'bob', by: 'alice' },
    { type: 'uninvite', roomid: 'Attic', identity: 'bob', by: 'alice' },
    { type: 'kick', roomid: 'Attic', identity: 'bob', by: 'alice', reason: '' },
    { type: 'ban', roomid: 'Attic', identity: 'bob', by: 'alice', reason: 'spam', until: UNTIL },
    { type: 'unban', roomid: 'Attic', identity: 'bob', by: 'alice' },
    {
      type: 'roominfo', roomid: 'Attic', owner: 'alice', private: true, invited: ['bob'],
      bans: [{ identity: 'eve', by: 'alice', reason: '', until: 0 }],
    },
    { type: 'disconnected', identity: 'eve', by: 'alice', reason: 'flood' },
    { type: 'notice', from: 'alice', content: 'hi all', ts: UNTIL },
    { type: 'loggedin', identity: 'alice', token: 't', admin: true },
  ];
  for (const message of messages) {
    assert.deepEqual(decodeServerLine(JSON.stringify({ ...message, extra: 1 })), { kind: 'known', message });
  }
  // A server without roles sends no `admin`: still a login.
  assert.deepEqual(decodeServerLine('{"type":"loggedin","identity":"a","token":"t"}'), {
    kind: 'known',
    message: { type: 'loggedin', identity: 'a', token: 't' },
  });
});

test('a moderation message missing a field, or with one of the wrong type, is shown raw', () => {
  const bad = [
    { type: 'private', roomid: 'Attic', on: 'yes', by: 'alice' },
    { type: 'invite', roomid: 'Attic', by: 'alice' },
    { type: 'kick', roomid: 'Attic', identity: 'bob', by: 'alice' },
    { type: 'ban', roomid: 'Attic', identity: 'bob', by: 'alice', reason: '', until: -1 },
    { type: 'ban', roomid: 'Attic', identity: 'bob', by: 'alice', reason: '', until: 1.5 },
    { type: 'roominfo', roomid: 'Attic', owner: '', private: false, invited: [], bans: [{ identity: 'eve' }] },
    { type: 'roominfo', roomid: 'Attic', owner: '', private: false, invited: [1], bans: [] },
    { type: 'disconnected', identity: 'eve', by: 'alice' },
    { type: 'notice', from: 'alice', content: 'hi' },
  ];
  for (const message of bad) {
    const line = JSON.stringify(message);
    assert.deepEqual(decodeServerLine(line), { kind: 'other', type: message.type, line }, line);
    assert.deepEqual(shown(line), [line]);
  }
});

test('login says when the account is an administrator', () => {
  assert.deepEqual(shown({ type: 'loggedin', identity: 'alice', token: 't', admin: true }), ['Logged in as alice (administrator)']);
  assert.deepEqual(shown({ type: 'loggedin', identity: 'alice', token: 't', admin: false }), ['Logged in as alice']);
  assert.deepEqual(shown({ type: 'loggedin', identity: 'alice', token: 't' }), ['Logged in as alice']);
});

test('room rule changes, told as done to "you" when they are', () => {
  assert.deepEqual(shown({ type: 'private', roomid: 'Attic', on: true, by: 'alice' }), ['alice made Attic private (invitation only)']);
  assert.deepEqual(shown({ type: 'private', roomid: 'Attic', on: false, by: 'alice' }), ['alice opened Attic to everyone']);
  assert.deepEqual(shown({ type: 'invite', roomid: 'Attic', identity: 'bob', by: 'alice' }), ['alice invited you to Attic']);
  assert.deepEqual(shown({ type: 'invite', roomid: 'Attic', identity: 'carol', by: 'bob' }), ['bob invited carol to Attic']);
  assert.deepEqual(shown({ type: 'uninvite', roomid: 'Attic', identity: 'carol', by: 'bob' }), ['bob withdrew the invitation of carol to Attic']);
  assert.deepEqual(shown({ type: 'kick', roomid: 'Attic', identity: 'bob', by: 'alice', reason: '' }), ['alice kicked you out of Attic']);
  assert.deepEqual(shown({ type: 'kick', roomid: 'Attic', identity: 'eve', by: 'alice', reason: 'too loud' }), ['alice kicked eve out of Attic: too loud']);
  assert.deepEqual(shown({ type: 'unban', roomid: 'Attic', identity: 'eve', by: 'alice' }), ['alice lifted the ban of eve from Attic']);
  assert.deepEqual(shown({ type: 'disconnected', identity: 'eve', by: 'bob', reason: '' }), ['eve was disconnected by bob']);
  assert.deepEqual(shown({ type: 'disconnected', identity: 'eve', by: 'bob', reason: 'flood' }), ['eve was disconnected by bob: flood']);
});

test('bans show their end in UTC, or "until unbanned"', () => {
  assert.equal(utcTime(UNTIL), '2024-05-20 10:33:20 UTC');
  assert.equal(utcTime(8.64e15 + 1), '8640000000000001 ms after 1970');
  assert.deepEqual(shown({ type: 'ban', roomid: 'Attic', identity: 'eve', by: 'alice', reason: 'spam', until: UNTIL }), [
    'alice banned eve from Attic until 2024-05-20 10:33:20 UTC: spam',
  ]);
  assert.deepEqual(shown({ type: 'ban', roomid: 'Attic', identity: 'bob', by: 'alice', reason: '', until: 0 }), [
    'alice banned you from Attic until unbanned',
  ]);
});

test('roominfo: owner, mode, invitations, one line per ban', () => {
  assert.deepEqual(shown({ type: 'roominfo', roomid: 'Attic', owner: 'alice', private: false, invited: [], bans: [] }), [
    'Room Attic: owner alice, open',
    '  invited: nobody',
    '  banned: nobody',
  ]);
  assert.deepEqual(
    shown({
      type: 'roominfo', roomid: 'Attic', owner: '', private: true, invited: ['bob', 'carol'],
      bans: [
        { identity: 'eve', by: 'alice', reason: 'spam', until: UNTIL },
        { identity: 'mallory', by: 'bob', reason: '', until: 0 },
      ],
    }),
    [
      'Room Attic: no owner, private (invitation only)',
      '  invited: bob, carol',
      '  banned: eve by alice until 2024-05-20 10:33:20 UTC: spam',
      '  banned: mallory by bob until unbanned',
    ],
  );
});

test('notices stand out; server text is made terminal-safe everywhere', () => {
  const [line] = shown({ type: 'notice', from: 'alice', content: 'Restart at noon', ts: UNTIL });
  assert.match(line!, /^\*\*\* Notice from alice at \d\d:\d\d: Restart at noon$/);
  assert.match(shown({ type: 'notice', from: 'alice', content: 'a\nb\x1b[2J', ts: 0 })[0]!, /: a\\nb\\x1b\[2J$/);
  assert.deepEqual(shown({ type: 'kick', roomid: 'Attic', identity: 'eve', by: 'al\x07', reason: 'x\ry' }), ['al\\x07 kicked eve out of Attic: x\\ry']);
});

test('the new error codes are shown like any error; DISCONNECTED explains the close', () => {
  for (const code of ['NO_SUCH_ROOM', 'INVITE_ONLY', 'BANNED', 'DISCONNECTED']) {
    assert.deepEqual(shown({ type: 'error', code, message: 'why' }), [`error ${code}: why`]);
  }
  const last = decodeServerLine('{"type":"error","code":"DISCONNECTED","message":"disconnected by alice: flood"}');
  assert.equal(formatDisconnect(last), 'Disconnected by server: disconnected by alice: flood (DISCONNECTED)');
});
