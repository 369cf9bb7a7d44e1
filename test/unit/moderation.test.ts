import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ChatState } from '../../src/core/chat-state';
import { MAX_RULE_ENTRIES } from '../../src/core/moderation';
import { inboxes } from '../helpers/effects';
import type { ServerMessage } from '../../src/protocol/messages';

function typesOf(messages: ServerMessage[] | undefined): string[] {
  return (messages ?? []).map((m) => (m.type === 'error' ? `error:${m.code}` : m.type));
}

/**
 * owner (w:1, guest "owner") owns Den and sits in it; w:2 "bob" and w:3 "carol" are guests in
 * MainHall; w:4 is logged in as account "root", an administrator. The clock is under test control.
 */
function scene(opts: { maxRoomsPerOwner?: number } = {}) {
  let now = 1_000_000;
  const state = new ChatState({ maxRoomsPerOwner: opts.maxRoomsPerOwner ?? Infinity }, () => now);
  for (const key of ['w:1', 'w:2', 'w:3', 'w:4']) state.connect(key);
  state.request('w:1', { type: 'identitychange', identity: 'owner' });
  state.request('w:2', { type: 'identitychange', identity: 'bob' });
  state.request('w:3', { type: 'identitychange', identity: 'carol' });
  state.reserve(['root', 'dave']);
  state.login('w:4', 'root', { type: 'error', code: 'SESSION_REPLACED', message: '' }, true);
  state.request('w:1', { type: 'createroom', roomid: 'Den' });
  state.request('w:1', { type: 'join', roomid: 'Den' });
  return { state, advance: (ms: number) => (now += ms), now: () => now };
}

describe('Moderation', () => {
  test('a private room refuses the uninvited the core way, then INVITE_ONLY; an invitation opens it', () => {
    const { state } = scene();
    const made = inboxes(state.moderate('w:1', { type: 'private', roomid: 'Den', on: true }));
    assert.deepEqual(made.get('w:1'), [{ type: 'private', roomid: 'Den', on: true, by: 'owner' }]);
    const refused = inboxes(state.request('w:2', { type: 'join', roomid: 'Den' }));
    assert.deepEqual(refused.get('w:2')![0], { type: 'roomchange', identity: 'bob', former: 'MainHall', roomid: 'MainHall' });
    assert.deepEqual(typesOf(refused.get('w:2')), ['roomchange', 'error:INVITE_ONLY']);
    assert.equal(state.roomOf('w:2'), 'MainHall');

    const invited = inboxes(state.moderate('w:1', { type: 'invite', roomid: 'Den', identity: 'bob' }));
    assert.deepEqual(invited.get('w:2'), [{ type: 'invite', roomid: 'Den', identity: 'bob', by: 'owner' }]);
    assert.deepEqual(typesOf(invited.get('w:1')), ['invite']);
    state.request('w:2', { type: 'join', roomid: 'Den' });
    assert.equal(state.roomOf('w:2'), 'Den');
    // An administrator needs no invitation.
    state.request('w:4', { type: 'join', roomid: 'Den' });
    assert.equal(state.roomOf('w:4'), 'Den');
  });

  test('only the owner or an administrator may moderate; MainHall and unknown rooms cannot be', () => {
    const { state } = scene();
    assert.deepEqual(typesOf(inboxes(state.moderate('w:2', { type: 'private', roomid: 'Den', on: true })).get('w:2')), ['error:NOT_ALLOWED']);
    assert.deepEqual(typesOf(inboxes(state.moderate('w:1', { type: 'private', roomid: 'MainHall', on: true })).get('w:1')), ['error:NO_SUCH_ROOM']);
    assert.deepEqual(typesOf(inboxes(state.moderate('w:4', { type: 'roominfo', roomid: 'Nope' })).get('w:4')), ['error:NO_SUCH_ROOM']);
    assert.deepEqual(typesOf(inboxes(state.moderate('w:4', { type: 'private', roomid: 'Den', on: true })).get('w:4')), ['private']);
    assert.deepEqual(typesOf(inboxes(state.moderate('w:1', { type: 'notice', content: 'hi' })).get('w:1')), ['error:NOT_ALLOWED']);
    assert.deepEqual(typesOf(inboxes(state.moderate('w:1', { type: 'disconnect', identity: 'bob' })).get('w:1')), ['error:NOT_ALLOWED']);
  });

  test('kick tells the room, moves the member to MainHall as a join would, and allows a rejoin', () => {
    const { state } = scene();
    state.request('w:2', { type: 'join', roomid: 'Den' });
    const box = inboxes(state.moderate('w:1', { type: 'kick', roomid: 'Den', identity: 'bob', reason: 'spam' }));
    const kick = { type: 'kick', roomid: 'Den', identity: 'bob', by: 'owner', reason: 'spam' };
    assert.deepEqual(box.get('w:1'), [kick, { type: 'roomchange', identity: 'bob', former: 'Den', roomid: 'MainHall' }]);
    assert.deepEqual(typesOf(box.get('w:2')), ['kick', 'roomchange', 'roomlist', 'roomcontents']);
    assert.deepEqual(typesOf(box.get('w:3')), ['roomchange']);
    assert.equal(state.roomOf('w:2'), 'MainHall');
    state.request('w:2', { type: 'join', roomid: 'Den' });
    assert.equal(state.roomOf('w:2'), 'Den');
    assert.deepEqual(typesOf(inboxes(state.moderate('w:1', { type: 'kick', roomid: 'Den', identity: 'carol' })).get('w:1')), ['error:NO_SUCH_USER']);
  });

  test('a timed ban kicks, refuses joins with BANNED until it runs out, then lets in', () => {
    const { state, advance, now } = scene();
    state.request('w:2', { type: 'join', roomid: 'Den' });
    const box = inboxes(state.moderate('w:1', { type: 'ban', roomid: 'Den', identity: 'bob', seconds: 60, reason: 'rude' }));
    const ban = { type: 'ban', roomid: 'Den', identity: 'bob', by: 'owner', reason: 'rude', until: now() + 60_000 };
    assert.deepEqual(box.get('w:2')![0], ban);
    assert.equal(state.roomOf('w:2'), 'MainHall');
    assert.deepEqual(typesOf(inboxes(state.request('w:2', { type: 'join', roomid: 'Den' })).get('w:2')), ['roomchange', 'error:BANNED']);
    const info = inboxes(state.moderate('w:1', { type: 'roominfo', roomid: 'Den' })).get('w:1')![0];
    assert.deepEqual(info, { type: 'roominfo', roomid: 'Den', owner: 'owner', private: false, invited: [], bans: [{ identity: 'bob', by: 'owner', reason: 'rude', until: ban.until }] });
    advance(60_000);
    state.request('w:2', { type: 'join', roomid: 'Den' });
    assert.equal(state.roomOf('w:2'), 'Den');
  });

  test('a ban without seconds lasts until unban; a ban also withdraws the invitation', () => {
    const { state, advance } = scene();
    state.moderate('w:1', { type: 'private', roomid: 'Den', on: true });
    state.moderate('w:1', { type: 'invite', roomid: 'Den', identity: 'carol' });
    const banned = inboxes(state.moderate('w:1', { type: 'ban', roomid: 'Den', identity: 'carol' }));
    assert.equal((banned.get('w:3')![0] as { until: number }).until, 0);
    advance(10 * 365 * 86_400_000);
    assert.deepEqual(typesOf(inboxes(state.request('w:3', { type: 'join', roomid: 'Den' })).get('w:3')), ['roomchange', 'error:BANNED']);
    assert.deepEqual(typesOf(inboxes(state.moderate('w:1', { type: 'unban', roomid: 'Den', identity: 'carol' })).get('w:1')), ['unban']);
    // Unbanned, but the invitation went with the ban: the private room stays shut.
    assert.deepEqual(typesOf(inboxes(state.request('w:3', { type: 'join', roomid: 'Den' })).get('w:3')), ['roomchange', 'error:INVITE_ONLY']);
    assert.deepEqual(typesOf(inboxes(state.moderate('w:1', { type: 'unban', roomid: 'Den', identity: 'carol' })).get('w:1')), ['error:NO_SUCH_USER']);
  });

  test('a room holds at most MAX_RULE_ENTRIES bans; expired ones make room again', () => {
    const { state, advance } = scene();
    for (let i = 0; i < MAX_RULE_ENTRIES; i++) state.moderate('w:1', { type: 'ban', roomid: 'Den', identity: `x${i}yz`, seconds: i === 0 ? 10 : 0 });
    assert.deepEqual(typesOf(inboxes(state.moderate('w:1', { type: 'ban', roomid: 'Den', identity: 'onemore' })).get('w:1')), ['error:NOT_ALLOWED']);
    // Re-banning a banned name changes it, it adds nothing.
    assert.deepEqual(typesOf(inboxes(state.moderate('w:1', { type: 'ban', roomid: 'Den', identity: 'x5yz', reason: 'again' })).get('w:1')), ['ban']);
    advance(10_000);
    assert.deepEqual(typesOf(inboxes(state.moderate('w:1', { type: 'ban', roomid: 'Den', identity: 'onemore' })).get('w:1')), ['ban']);
  });

  test('the owner and administrators cannot be kicked or banned', () => {
    const { state } = scene();
    state.request('w:4', { type: 'join', roomid: 'Den' });
    assert.deepEqual(typesOf(inboxes(state.moderate('w:4', { type: 'ban', roomid: 'Den', identity: 'owner' })).get('w:4')), ['error:NOT_ALLOWED']);
    assert.deepEqual(typesOf(inboxes(state.moderate('w:1', { type: 'kick', roomid: 'Den', identity: 'root' })).get('w:1')), ['error:NOT_ALLOWED']);
    assert.deepEqual(typesOf(inboxes(state.moderate('w:1', { type: 'ban', roomid: 'Den', identity: 'x' })).get('w:1')), ['error:NO_SUCH_USER']);
  });

  test('transfer to a guest hands over the guest room; the old owner loses its rights', () => {
    const { state } = scene();
    const box = inboxes(state.moderate('w:1', { type: 'transfer', roomid: 'Den', identity: 'bob' }));
    assert.deepEqual(box.get('w:2'), [{ type: 'roomcontents', roomid: 'Den', identities: ['owner'], owner: 'bob' }]);
    assert.deepEqual(state.view('w:2')!.owned, ['Den']);
    assert.deepEqual(state.view('w:1')!.owned, []);
    assert.deepEqual(typesOf(inboxes(state.moderate('w:1', { type: 'private', roomid: 'Den', on: true })).get('w:1')), ['error:NOT_ALLOWED']);
  });

  test('transfer to an offline account makes the room stored; a stored room cannot go to a guest', () => {
    const { state } = scene();
    const fx = state.moderate('w:1', { type: 'transfer', roomid: 'Den', identity: 'dave' });
    assert.ok(fx.some((e) => e.kind === 'persist-room' && e.owner === 'dave'));
    assert.equal(state.ownerOf('Den'), 'dave');
    assert.deepEqual(typesOf(inboxes(state.moderate('w:4', { type: 'transfer', roomid: 'Den', identity: 'bob' })).get('w:4')), ['error:NOT_ALLOWED']);
    assert.deepEqual(typesOf(inboxes(state.moderate('w:4', { type: 'transfer', roomid: 'Den', identity: 'nobody' })).get('w:4')), ['error:NO_SUCH_USER']);
  });

  test("transfer respects the new owner's room limit", () => {
    const { state } = scene({ maxRoomsPerOwner: 1 });
    state.request('w:2', { type: 'createroom', roomid: 'BobsRoom' });
    assert.deepEqual(typesOf(inboxes(state.moderate('w:1', { type: 'transfer', roomid: 'Den', identity: 'bob' })).get('w:1')), ['error:TOO_MANY_ROOMS']);
    assert.equal(state.ownerOf('Den'), 'owner');
  });

  test("an administrator deletes another's room; its guest owner's mirror drops it", () => {
    const { state } = scene();
    const fx = state.request('w:4', { type: 'delete', roomid: 'Den' });
    assert.equal(state.ownerOf('Den'), undefined);
    assert.ok(fx.some((e) => e.kind === 'state' && e.session === 'w:1'));
    assert.deepEqual(state.view('w:1')!.owned, []);
    assert.equal(state.roomOf('w:1'), 'MainHall');
  });

  test('disconnect ends the target with DISCONNECTED; notice reaches everyone', () => {
    const { state } = scene();
    const fx = state.moderate('w:4', { type: 'disconnect', identity: 'bob', reason: 'bye' });
    const box = inboxes(fx);
    assert.deepEqual(box.get('w:2'), [{ type: 'error', code: 'DISCONNECTED', message: 'disconnected by an administrator: bye' }]);
    assert.ok(fx.some((e) => e.kind === 'end' && e.session === 'w:2'));
    assert.deepEqual(box.get('w:4')!.at(-1), { type: 'disconnected', identity: 'bob', by: 'root', reason: 'bye' });
    assert.equal(state.has('w:2'), false);
    assert.deepEqual(typesOf(inboxes(state.moderate('w:4', { type: 'disconnect', identity: 'root' })).get('w:4')), ['error:NOT_ALLOWED']);

    const notice = inboxes(state.moderate('w:4', { type: 'notice', content: 'restart at noon' }));
    assert.deepEqual([...notice.keys()].sort(), ['w:1', 'w:3', 'w:4']);
    assert.equal((notice.get('w:3')![0] as { content: string }).content, 'restart at noon');
  });

  test('a logged-out administrator is a guest again; createroom with private:true starts private', () => {
    const { state } = scene();
    state.logout('w:4');
    assert.equal(state.isAdmin('w:4'), false);
    state.request('w:2', { type: 'createroom', roomid: 'Hide', private: true });
    assert.deepEqual(typesOf(inboxes(state.request('w:3', { type: 'join', roomid: 'Hide' })).get('w:3')), ['roomchange', 'error:INVITE_ONLY']);
    state.request('w:2', { type: 'join', roomid: 'Hide' });
    assert.equal(state.roomOf('w:2'), 'Hide');
  });
});
