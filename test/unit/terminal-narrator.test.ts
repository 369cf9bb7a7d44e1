// What the client says a server reply means for the request it sent (one sentence per
// refusal), and the history pager.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HistoryPager } from '../../src/client/terminal/history-pager';
import { Narrator } from '../../src/client/terminal/narrator';
import type { RoomMessage } from '../../src/client/terminal/wire';

const rooms = (...ids: string[]) => ({ type: 'roomlist' as const, rooms: ids.map((roomid) => ({ roomid, count: 0 })) });

test('a refused join and the error that follows it: one sentence; no error: the seed meaning', () => {
  const n = new Narrator();
  n.sent({ type: 'join', roomid: 'secret' }, 'me', '/join secret');
  const seed = n.narrate({ type: 'roomchange', identity: 'me', former: 'MainHall', roomid: 'MainHall' }, 'me', 'MainHall');
  assert.deepEqual(seed, { lines: [], refused: true, deferred: true });
  assert.deepEqual(n.narrate({ type: 'error', code: 'INVITE_ONLY', message: 'x' }, 'me', 'MainHall'), {
    lines: ['You cannot join secret: it is private and you are not invited. (INVITE_ONLY)'],
    refused: true,
  });
  n.sent({ type: 'join', roomid: 'nowhere' }, 'me', '/join nowhere');
  n.narrate({ type: 'roomchange', identity: 'me', former: 'MainHall', roomid: 'MainHall' }, 'me', 'MainHall');
  assert.equal(n.settle(), 'There is no room named nowhere (/list shows the rooms; /createroom nowhere makes one).');
  n.sent({ type: 'join', roomid: 'mainhall' }, 'me', '/join mainhall');
  assert.deepEqual(n.narrate({ type: 'roomchange', identity: 'me', former: 'MainHall', roomid: 'MainHall' }, 'me', 'MainHall'), {
    lines: ['You are already in MainHall.'],
    refused: true,
  });
});

test('createroom and delete judged by the room list; the session\'s own requests are not counted', () => {
  const n = new Narrator();
  n.narrate(rooms('MainHall', 'jokes'), 'me', 'MainHall');
  n.sent({ type: 'createroom', roomid: 'jokes' }, 'me', '/createroom jokes');
  assert.equal(n.narrate(rooms('MainHall'), 'me', 'MainHall').refused, true);
  assert.equal(n.settle(), 'A room named jokes already exists: choose another name.');
  n.sent({ type: 'createroom', roomid: 'fresh' }, 'me', '/createroom fresh');
  assert.deepEqual(n.narrate(rooms('MainHall', 'jokes', 'fresh'), 'me', 'MainHall').after, ['Room fresh created; you are its owner.']);
  n.sent({ type: 'delete', roomid: 'jokes' }, 'me', '/delete jokes');
  assert.deepEqual(n.narrate(rooms('MainHall', 'jokes', 'fresh'), 'me', 'MainHall'), {
    after: ['You cannot delete jokes: you are not its owner (nor an administrator).'],
    refused: true,
  });
  n.sent({ type: 'delete', roomid: 'fresh' }, 'me', '/delete fresh');
  assert.deepEqual(n.narrate(rooms('MainHall', 'jokes'), 'me', 'MainHall').after, ['Room fresh deleted.']);
  // A login of the session's own (no typed line) refused: told, not counted.
  n.sent({ type: 'login', token: 't' }, 'me');
  assert.deepEqual(n.narrate({ type: 'error', code: 'BAD_CREDENTIALS', message: 'x' }, 'me', 'MainHall'), {
    lines: ['The saved login was refused: log in with your password. (BAD_CREDENTIALS)'],
    refused: false,
  });
});

test('a transfer and a room closed under us are said in words; a rename is no transfer', () => {
  const n = new Narrator();
  n.narrate({ type: 'roomcontents', roomid: 'Attic', identities: ['alice', 'me'], owner: 'alice' }, 'me', 'Attic');
  n.narrate({ type: 'newidentity', former: 'alice', identity: 'alicia' }, 'me', 'Attic');
  assert.deepEqual(n.narrate({ type: 'roomcontents', roomid: 'Attic', identities: ['alicia', 'me'], owner: 'alicia' }, 'me', 'Attic'), {});
  assert.deepEqual(n.narrate({ type: 'roomcontents', roomid: 'Attic', identities: ['alicia', 'me'], owner: 'root' }, 'me', 'Attic').after, [
    'root is now the owner of Attic (was alicia).',
  ]);
  n.narrate({ type: 'roomchange', identity: 'me', former: 'Attic', roomid: 'MainHall' }, 'me', 'Attic');
  assert.deepEqual(n.narrate(rooms('MainHall'), 'me', 'MainHall').after, ['Room Attic was closed: you are back in MainHall.']);
  // Kicked: the kick is the explanation; no "closed".
  n.narrate({ type: 'kick', roomid: 'Den', identity: 'me', by: 'x', reason: '' }, 'me', 'Den');
  n.narrate({ type: 'roomchange', identity: 'me', former: 'Den', roomid: 'MainHall' }, 'me', 'Den');
  assert.equal(n.narrate(rooms('MainHall', 'Den'), 'me', 'MainHall').after, undefined);
});

test('RATE_LIMITED: the typed line is to be sent again, not shown as refused', () => {
  const n = new Narrator();
  n.sent({ type: 'message', content: 'hi' }, 'me', 'hi');
  assert.deepEqual(n.narrate({ type: 'error', code: 'RATE_LIMITED', message: 'x' }, 'me', 'MainHall'), { lines: [], resend: 'hi' });
});

const msg = (seq: number): RoomMessage => ({ type: 'message', identity: 'a', content: `m${seq}`, roomid: 'R', seq, id: `id${seq}` });
const page = (from: number, to: number, next: number | null) => ({
  type: 'history' as const,
  roomid: 'R',
  messages: Array.from({ length: to - from + 1 }, (_, i) => msg(from + i)),
  next,
});

test('the pager: a long read in pages of 200 following next, /more from where it stopped, the start said', () => {
  const p = new HistoryPager();
  assert.match(p.more() as string, /^Nothing to page back in/);
  assert.deepEqual(p.start({ type: 'history', roomid: 'R', limit: 250 }), { type: 'history', roomid: 'R', limit: 200 });
  assert.deepEqual(p.onReply(page(101, 300, 101)), { kind: 'fetch', request: { type: 'history', roomid: 'R', before: 101, limit: 50 } });
  const done = p.onReply(page(51, 100, 51));
  assert.equal(done.kind, 'done');
  assert.deepEqual(done.kind === 'done' && done.reply.type === 'history' && done.reply.messages.map((m) => m.seq), Array.from({ length: 250 }, (_, i) => i + 51));
  assert.deepEqual(p.more(), { type: 'history', roomid: 'R', before: 51, limit: 20 });
  const last = p.onReply(page(31, 50, 31));
  assert.equal(last.kind === 'done' && last.atStart, false);
  p.more();
  const start = p.onReply(page(1, 30, null));
  assert.equal(start.kind === 'done' && start.atStart, true);
  assert.equal(p.more(), 'You are at the start of R: there is nothing older.');
  assert.deepEqual(p.onReply(page(1, 2, null)), { kind: 'pass' }, 'no read under way');
});
