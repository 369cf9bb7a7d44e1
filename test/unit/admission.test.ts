import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ChatState, type ChatLimits } from '../../src/core/chat-state';
import type { ServerMessage } from '../../src/protocol/messages';
import { inboxes } from '../helpers/effects';

const REPLACED: ServerMessage = { type: 'error', code: 'SESSION_REPLACED', message: 'replaced' };

function typesOf(messages: ServerMessage[] | undefined): string[] {
  return (messages ?? []).map((m) => (m.type === 'error' ? `error:${m.code}` : m.type));
}

/**
 * w:1 "owner" (a guest) owns Club and sits in it; w:2 "visitor" is a guest in MainHall.
 * Accounts Bad1, alice and root exist (root logs in as an administrator when asked). The clock
 * is the test's.
 */
function club(limits: Partial<ChatLimits> = {}) {
  let now = 1_000_000;
  const state = new ChatState({ maxRoomsPerOwner: Infinity, ...limits }, () => now);
  state.connect('w:1');
  state.connect('w:2');
  state.request('w:1', { type: 'identitychange', identity: 'owner' });
  state.request('w:2', { type: 'identitychange', identity: 'visitor' });
  state.reserve(['Bad1', 'alice', 'root']);
  state.request('w:1', { type: 'createroom', roomid: 'Club' });
  state.request('w:1', { type: 'join', roomid: 'Club' });
  return { state, advance: (ms: number) => (now += ms) };
}

/** The session was told `code`, then moved to MainHall as a join of it would (roomchange to both rooms, list, contents). */
function assertMovedOut(state: ChatState, box: Map<string, ServerMessage[]>, key: string, code: string, identity: string): void {
  const got = typesOf(box.get(key));
  const at = got.indexOf(`error:${code}`);
  assert.ok(at >= 0, `told ${code}: ${got.join(',')}`);
  assert.deepEqual(got.slice(at), [`error:${code}`, 'roomchange', 'roomlist', 'roomcontents']);
  assert.deepEqual(box.get(key)![at + 1], { type: 'roomchange', identity, former: 'Club', roomid: 'MainHall' });
  assert.ok(box.get('w:1')!.some((m) => m.type === 'roomchange' && m.identity === identity && m.roomid === 'MainHall'), 'the room sees the move');
  assert.equal(state.roomOf(key), 'MainHall');
}

describe('admission holds after every identity change', () => {
  test('the issue: a guest in Club logs in as banned account Bad1 (B1 in the issue) and is moved out; it may not read the history', () => {
    const { state } = club();
    state.moderate('w:1', { type: 'ban', roomid: 'Club', identity: 'Bad1' });
    state.request('w:2', { type: 'join', roomid: 'Club' });
    assert.equal(state.roomOf('w:2'), 'Club');
    const box = inboxes(state.login('w:2', 'Bad1', REPLACED));
    assertMovedOut(state, box, 'w:2', 'BANNED', 'Bad1');
    assert.equal(state.readRefusal('w:2', 'Club')?.code, 'BANNED');
  });

  test('a guest renaming into a banned name (in another case) inside the room is moved out', () => {
    const { state } = club();
    state.moderate('w:1', { type: 'ban', roomid: 'Club', identity: 'Troll' });
    state.request('w:2', { type: 'join', roomid: 'Club' });
    const box = inboxes(state.request('w:2', { type: 'identitychange', identity: 'tROLL' }));
    assert.deepEqual(box.get('w:2')![0], { type: 'newidentity', former: 'visitor', identity: 'tROLL' });
    assertMovedOut(state, box, 'w:2', 'BANNED', 'tROLL');
  });

  test('a private room: an invited guest that renames, and an invited account that logs out, are moved out', () => {
    const { state } = club();
    state.moderate('w:1', { type: 'private', roomid: 'Club', on: true });
    state.moderate('w:1', { type: 'invite', roomid: 'Club', identity: 'visitor' });
    state.request('w:2', { type: 'join', roomid: 'Club' });
    assert.equal(state.roomOf('w:2'), 'Club');
    assertMovedOut(state, inboxes(state.request('w:2', { type: 'identitychange', identity: 'renamed' })), 'w:2', 'INVITE_ONLY', 'renamed');

    state.moderate('w:1', { type: 'invite', roomid: 'Club', identity: 'ALICE' });
    state.login('w:2', 'alice', REPLACED);
    state.request('w:2', { type: 'join', roomid: 'Club' });
    assert.equal(state.roomOf('w:2'), 'Club', 'an invitation in another case admits');
    const out = inboxes(state.logout('w:2'));
    assertMovedOut(state, out, 'w:2', 'INVITE_ONLY', state.identityOf('w:2')!);
  });

  test('uninvite and transfer move out who may no longer be there; going private keeps the members present', () => {
    const { state } = club();
    state.request('w:2', { type: 'join', roomid: 'Club' });
    const made = inboxes(state.moderate('w:1', { type: 'private', roomid: 'Club', on: true }));
    assert.deepEqual(typesOf(made.get('w:2')), ['private'], 'stays');
    const info = inboxes(state.moderate('w:1', { type: 'roominfo', roomid: 'Club' })).get('w:1')![0];
    assert.deepEqual(info.type === 'roominfo' && info.invited, ['visitor'], 'invited as it was present');
    assertMovedOut(state, inboxes(state.moderate('w:1', { type: 'uninvite', roomid: 'Club', identity: 'visitor' })), 'w:2', 'INVITE_ONLY', 'visitor');

    // The owner hands the private room over: not invited, it may no longer be there.
    state.moderate('w:1', { type: 'invite', roomid: 'Club', identity: 'visitor' });
    state.request('w:2', { type: 'join', roomid: 'Club' });
    const handed = inboxes(state.moderate('w:1', { type: 'transfer', roomid: 'Club', identity: 'visitor' }));
    assert.equal(state.ownerOf('Club'), 'visitor');
    assert.ok(typesOf(handed.get('w:1')).includes('error:INVITE_ONLY'));
    assert.equal(state.roomOf('w:1'), 'MainHall');
    assert.equal(state.roomOf('w:2'), 'Club');
  });

  test('an administrator whose role is revoked (restored hub) leaves a private room only the role opened', () => {
    const { state } = club();
    state.moderate('w:1', { type: 'private', roomid: 'Club', on: true });
    state.connect('w:3');
    state.login('w:3', 'root', REPLACED, true);
    state.request('w:3', { type: 'join', roomid: 'Club' });
    assert.equal(state.roomOf('w:3'), 'Club');
    const box = inboxes(state.setAdmin('w:3', false));
    assert.equal(state.roomOf('w:3'), 'MainHall');
    assert.deepEqual(typesOf(box.get('w:3')).slice(0, 2), ['error:INVITE_ONLY', 'roomchange']);
  });

  test('a restarted hub restores sessions, then moves out those the stored rules now bar', () => {
    const state = new ChatState();
    state.loadPersistentRooms([{ roomid: 'Vault', owner: 'alice', modes: { private: false, invited: [], bans: [{ identity: 'bob', by: 'alice', reason: '', until: 0 }] } }]);
    const fx = state.restore([
      { key: 'a:1', identity: 'Bob', roomid: 'Vault', owned: [], username: null },
      { key: 'a:2', identity: 'carl', roomid: 'Vault', owned: [], username: null },
    ]);
    assert.equal(state.roomOf('a:1'), 'MainHall');
    assert.equal(state.roomOf('a:2'), 'Vault');
    assert.deepEqual(typesOf(inboxes(fx).get('a:1')).slice(0, 2), ['error:BANNED', 'roomchange']);
  });

  test('restore renames a guest going by a registered name (in any case)', () => {
    const state = new ChatState();
    state.reserve(['alice']);
    state.restore([{ key: 'a:1', identity: 'ALICE', roomid: 'MainHall', owned: [], username: null }]);
    assert.equal(state.identityOf('a:1'), 'guest1');
  });
});

describe('names that belong to someone are never handed out', () => {
  test('the issue: a registered guest name is skipped by the guest namer', () => {
    const state = new ChatState();
    for (let i = 1; i <= 6; i++) state.connect(`w:${i}`);
    state.connect('w:7');
    state.reserve(['guest7']); // w:7 registered its own name
    state.login('w:7', 'guest7', REPLACED);
    state.request('w:7', { type: 'quit' });
    state.connect('w:8');
    assert.equal(state.identityOf('w:8'), 'guest8');
    state.reserve(['GUEST9']);
    state.connect('w:9');
    assert.equal(state.identityOf('w:9'), 'guest10', 'a registered name in another case too');
  });

  test('identities are unique in any case; a guest may change the case of its own name', () => {
    const state = new ChatState();
    state.connect('w:1');
    state.connect('w:2');
    state.reserve(['alice']);
    for (const taken of ['ALICE', 'Alice', 'GUEST2']) {
      assert.deepEqual(inboxes(state.request('w:1', { type: 'identitychange', identity: taken })).get('w:1'), [{ type: 'newidentity', former: 'guest1', identity: 'guest1' }]);
    }
    assert.equal(state.nameTaken('aLiCe'), true);
    assert.equal(state.identityInUse('GUEST2'), true);
    const recased = inboxes(state.request('w:1', { type: 'identitychange', identity: 'Guest1' }));
    assert.deepEqual(recased.get('w:2'), [{ type: 'newidentity', former: 'guest1', identity: 'Guest1' }]);
    assert.equal(state.sessionNamed('GUEST1')?.key, 'w:1');
    // Freed under another spelling, guest1 is handed out again.
    state.request('w:1', { type: 'quit' });
    state.connect('w:3');
    assert.equal(state.identityOf('w:3'), 'guest1');
  });

  test('a room transferred to an offline account named in another case goes to the stored spelling', () => {
    const { state } = club();
    const fx = state.moderate('w:1', { type: 'transfer', roomid: 'Club', identity: 'ALICE' });
    assert.ok(fx.some((f) => f.kind === 'persist-room' && f.owner === 'alice'));
    assert.equal(state.ownerOf('Club'), 'alice');
  });

  test('a login of an account finds its session in any case; bans and invitations compare in any case', () => {
    const { state } = club();
    state.login('w:2', 'alice', REPLACED);
    assert.equal(state.sessionOfUser('ALICE'), 'w:2');
    state.moderate('w:1', { type: 'ban', roomid: 'Club', identity: 'Alice' });
    assert.deepEqual(typesOf(inboxes(state.request('w:2', { type: 'join', roomid: 'Club' })).get('w:2')), ['roomchange', 'error:BANNED']);
    assert.equal(state.roomOf('w:2'), 'MainHall');
  });
});

describe('a dropped session is held for its resume token', () => {
  const GRACE = { reconnectGraceMs: 60_000, maxHeldNames: 2 };

  test('held: nobody else gets the name; the token brings name and room back on a new connection', () => {
    const { state } = club(GRACE);
    state.request('w:2', { type: 'identitychange', identity: 'guest5' });
    state.request('w:2', { type: 'join', roomid: 'Club' });
    state.disconnect('w:2', 'hash-2');
    assert.equal(state.nameTaken('GUEST5'), true);
    state.connect('w:3');
    state.connect('w:4');
    state.connect('w:5');
    state.connect('w:6');
    assert.deepEqual(['w:3', 'w:4', 'w:5', 'w:6'].map((k) => state.identityOf(k)), ['guest1', 'guest2', 'guest3', 'guest4']);
    state.connect('w:7');
    assert.equal(state.identityOf('w:7'), 'guest6', 'the held guest5 is skipped');
    assert.deepEqual(inboxes(state.request('w:3', { type: 'identitychange', identity: 'guest5' })).get('w:3'), [{ type: 'newidentity', former: 'guest1', identity: 'guest1' }]);

    const box = inboxes(state.reclaim('w:7', 'hash-2'));
    assert.deepEqual(box.get('w:7'), [
      { type: 'newidentity', former: 'guest6', identity: 'guest5' },
      { type: 'roomchange', identity: 'guest5', former: 'MainHall', roomid: 'Club' },
      { type: 'reclaimed', identity: 'guest5', roomid: 'Club' },
    ]);
    assert.equal(state.roomOf('w:7'), 'Club');
    assert.deepEqual(typesOf(inboxes(state.reclaim('w:3', 'hash-2')).get('w:3')), ['error:NO_SUCH_SESSION'], 'once only');
  });

  test('the hold lapses after the grace period; a drop without a token, or a quit, holds nothing', () => {
    const { state, advance } = club(GRACE);
    state.disconnect('w:2', 'hash-2');
    advance(60_000);
    assert.equal(state.nameTaken('visitor'), false);
    assert.deepEqual(typesOf(inboxes(state.reclaim('w:1', 'hash-2')).get('w:1')), ['error:NO_SUCH_SESSION']);
    state.connect('w:3');
    state.request('w:3', { type: 'identitychange', identity: 'dropped' });
    state.disconnect('w:3');
    assert.equal(state.nameTaken('dropped'), false);
  });

  test('at most maxHeldNames holds: the oldest lapses first, and its guest name is free again', () => {
    const { state } = club(GRACE);
    for (const key of ['w:3', 'w:4', 'w:5']) state.connect(key);
    state.disconnect('w:3', 'h3');
    state.disconnect('w:4', 'h4');
    state.disconnect('w:5', 'h5');
    assert.deepEqual(['guest1', 'guest2', 'guest3'].map((n) => state.nameTaken(n)), [false, true, true]);
    state.connect('w:6');
    assert.equal(state.identityOf('w:6'), 'guest1');
  });

  test("a guest's hold is a guest's; an account's hold needs its login and gives back its room, if still allowed", () => {
    const { state } = club(GRACE);
    state.connect('w:3');
    state.login('w:3', 'alice', REPLACED);
    state.disconnect('w:2', 'guest-hash');
    assert.deepEqual(typesOf(inboxes(state.reclaim('w:3', 'guest-hash')).get('w:3')), ['error:NOT_ALLOWED']);
    assert.equal(state.nameTaken('visitor'), true, 'still held for its owner');

    state.request('w:3', { type: 'join', roomid: 'Club' });
    state.disconnect('w:3', 'alice-hash');
    state.connect('w:4');
    assert.deepEqual(typesOf(inboxes(state.reclaim('w:4', 'alice-hash')).get('w:4')), ['error:NOT_ALLOWED']);
    state.login('w:4', 'alice', REPLACED);
    state.moderate('w:1', { type: 'ban', roomid: 'Club', identity: 'alice' });
    const box = inboxes(state.reclaim('w:4', 'alice-hash'));
    assert.deepEqual(typesOf(box.get('w:4')), ['error:BANNED', 'reclaimed']);
    assert.equal(state.roomOf('w:4'), 'MainHall');
  });
});
