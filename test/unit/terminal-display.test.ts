// How the terminal client's lines look (times, day separators, colours), unread counts,
// mentions, and the pacing of what it sends.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { colourWanted, Decorator, nickColour } from '../../src/client/terminal/decorate';
import { mentions } from '../../src/client/terminal/notify';
import { Pacer } from '../../src/client/terminal/pacer';
import { Unread } from '../../src/client/terminal/unread';

test('timestamps on every line, a separator when the day changes', () => {
  let now = new Date(2026, 10, 29, 23, 58).getTime();
  const d = new Decorator({ timestamps: true, colour: false }, () => now);
  assert.deepEqual(d.decorate('first', 'plain'), ['23:58 first']);
  assert.deepEqual(d.decorate('second', 'chat', 'bob'), ['23:58 second']);
  now = new Date(2026, 10, 30, 0, 1).getTime();
  assert.deepEqual(d.decorate('after midnight', 'system'), ['--- Day changed to 2026-11-30 ---', '00:01 after midnight']);
  assert.deepEqual(new Decorator({ timestamps: false, colour: false }).decorate('plain', 'error'), ['plain']);
});

test('colours: a stable colour per nick (case-insensitive), own lines bold, system dim, errors red; off without', () => {
  assert.equal(nickColour('Alice'), nickColour('alice'));
  const colours = new Set(['alice', 'bob', 'carol', 'dave', 'eve', 'mallory', 'trent', 'peggy'].map(nickColour));
  assert.ok(colours.size >= 4, 'names spread over the palette');
  assert.ok(!colours.has('31'), 'red is for errors');
  const d = new Decorator({ timestamps: false, colour: true });
  assert.deepEqual(d.decorate('bob: hi', 'chat', 'bob'), [`\x1b[${nickColour('bob')}mbob\x1b[0m: hi`]);
  assert.deepEqual(d.decorate('me: hi', 'own', 'me'), [`\x1b[1m\x1b[${nickColour('me')}mme\x1b[0m: hi\x1b[0m`]);
  assert.deepEqual(d.decorate('Rooms: x', 'system'), ['\x1b[2mRooms: x\x1b[0m']);
  assert.deepEqual(d.decorate('No.', 'error'), ['\x1b[31mNo.\x1b[0m']);
  assert.equal(colourWanted({}, true), true);
  assert.equal(colourWanted({ NO_COLOR: '1' }, true), false);
  assert.equal(colourWanted({ NO_COLOR: '' }, true), true, 'an empty NO_COLOR does not count (no-color.org)');
  assert.equal(colourWanted({}, false), false, 'not a terminal');
});

test('mentions: the name as a word, any case', () => {
  assert.ok(mentions('hey alice, look', 'alice'));
  assert.ok(mentions('ALICE!', 'alice'));
  assert.ok(!mentions('malice aforethought', 'alice'));
  assert.ok(!mentions('anything', ''));
});

test('unread: per room until a line is typed there, per conversation until written to or read', () => {
  const u = new Unread();
  u.roomMessage('MainHall');
  u.roomMessage('MainHall');
  u.dm('bob', true);
  u.dm('carol', true);
  u.dm('carol', true);
  assert.equal(u.summary('MainHall'), 'MainHall 2, @bob 1, @carol 2');
  u.readRoom('MainHall');
  u.dm('bob', false); // we answered bob
  assert.equal(u.summary('MainHall'), '@carol 2');
  u.readDm('CAROL');
  assert.equal(u.summary('MainHall'), '');
  assert.deepEqual(u.conversations().map((c) => c.name), ['bob', 'carol'], 'most recent first: we wrote to bob last');
});

test('pacing: a burst under the advertised one, then the sustained rate; RATE_LIMITED backs off', () => {
  let now = 0;
  const p = new Pacer(() => now);
  p.configure(10, 20);
  let sent = 0;
  while (p.delay() === 0) {
    p.take();
    sent++;
  }
  assert.equal(sent, 18, '90% of the burst');
  const wait = p.delay();
  assert.ok(wait > 0 && wait <= 112, `${wait} ms for the next at 9 a second`);
  now += 1000;
  assert.equal(p.delay(), 0);
  p.refused();
  assert.ok(p.delay() >= 1000, 'a refusal empties the bucket for a second or more');
  // The account's rate, when lower, is the one kept to.
  const q = new Pacer(() => 0);
  q.configure(100, 100, 5);
  let n = 0;
  while (q.delay() === 0) {
    q.take();
    n++;
  }
  assert.equal(n, 4);
});
