import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ChatState } from '../../src/core/chat-state';
import type { Effect } from '../../src/core/effects';
import { checkChatStateImage } from '../../src/core/state-image';
import type { ServerMessage } from '../../src/protocol/messages';
import { inboxes } from '../helpers/effects';

/** Several devices per account in the pure chat state (docs/PROTOCOL.md, "Devices, contacts and presence"). */

const REPLACED: ServerMessage = { type: 'error', code: 'SESSION_REPLACED', message: 'replaced' };

function state(maxDevices: number, sessions: number): ChatState {
  const s = new ChatState({ maxRoomsPerOwner: 10, maxDevices, reconnectGraceMs: 60_000, maxHeldNames: 100 }, () => 1_000);
  for (let i = 1; i <= sessions; i++) s.connect(`w:${i}`);
  return s;
}

const presence = (fx: Effect[]): string[] => fx.flatMap((e) => (e.kind === 'presence' ? [e.username] : []));

/** The sessions told a `roomchange` of `identity` by these effects, sorted. */
function toldMove(fx: Effect[], identity: string): string[] {
  return [...inboxes(fx)].filter(([, msgs]) => msgs.some((m) => m.type === 'roomchange' && m.identity === identity)).map(([k]) => k).sort();
}

describe('devices in ChatState', () => {
  test('up to maxDevices sessions share the account name; one more replaces the oldest', () => {
    const s = state(3, 5);
    s.reserve(['alice']);
    assert.deepEqual(presence(s.login('w:1', 'alice', REPLACED)), ['alice'], 'the first device brings the account online');
    assert.deepEqual(presence(s.login('w:2', 'alice', REPLACED)), [], 'a second device changes no presence');
    s.login('w:3', 'alice', REPLACED);
    assert.deepEqual(s.sessionsOfUser('ALICE'), ['w:1', 'w:2', 'w:3']);
    for (const k of ['w:1', 'w:2', 'w:3']) assert.equal(s.identityOf(k), 'alice');
    assert.deepEqual(s.roomContents('MainHall'), { type: 'roomcontents', roomid: 'MainHall', identities: ['alice', 'guest4', 'guest5'], owner: '' });
    assert.deepEqual(s.roomList(), { type: 'roomlist', rooms: [{ roomid: 'MainHall', count: 3 }] }, 'roomlist counts names, not connections');
    s.request('w:2', { type: 'createroom', roomid: 'den' });
    s.request('w:2', { type: 'join', roomid: 'den' });
    assert.deepEqual(s.roomList(), { type: 'roomlist', rooms: [{ roomid: 'MainHall', count: 3 }, { roomid: 'den', count: 1 }] });
    s.request('w:2', { type: 'join', roomid: 'MainHall' });
    const fx = s.login('w:4', 'alice', REPLACED);
    assert.deepEqual(inboxes(fx).get('w:1')?.[0], REPLACED);
    assert.ok(fx.some((e) => e.kind === 'end' && e.session === 'w:1'));
    assert.deepEqual(presence(fx), [], 'replacing a device is no change of presence');
    assert.deepEqual(s.sessionsOfUser('alice'), ['w:2', 'w:3', 'w:4']);
  });

  test('maxDevices 1 (the default) replaces at once, with no offline/online flicker', () => {
    const s = new ChatState();
    s.connect('w:1');
    s.connect('w:2');
    s.login('w:1', 'bob', REPLACED);
    const fx = s.login('w:2', 'bob', REPLACED);
    assert.equal(s.has('w:1'), false);
    assert.deepEqual(presence(fx), []);
  });

  test('the name index passes between devices; offline only when the last one leaves', () => {
    const s = state(5, 3);
    s.login('w:1', 'alice', REPLACED);
    s.login('w:2', 'alice', REPLACED);
    assert.deepEqual(presence(s.disconnect('w:1')), []);
    assert.equal(s.identityInUse('alice'), true);
    assert.equal(s.sessionNamed('alice')?.key, 'w:2');
    assert.deepEqual(presence(s.logout('w:2')), ['alice']);
    assert.equal(s.isOnline('alice'), false);
    assert.equal(s.identityInUse('alice'), false);
    // A guest cannot take the name (it stays reserved by the login).
    const refused = inboxes(s.request('w:3', { type: 'identitychange', identity: 'alice' }));
    assert.deepEqual(refused.get('w:3'), [{ type: 'newidentity', former: 'guest3', identity: 'guest3' }]);
  });

  test('away is per account, told once, forgotten when the account goes offline', () => {
    const s = state(5, 2);
    s.login('w:1', 'alice', REPLACED);
    s.login('w:2', 'alice', REPLACED);
    assert.deepEqual(presence(s.setAway('w:1', true)), ['alice']);
    assert.deepEqual(presence(s.setAway('w:2', true)), [], 'already away');
    assert.equal(s.isAway('alice'), true);
    s.disconnect('w:1');
    assert.equal(s.isAway('alice'), true);
    s.disconnect('w:2');
    assert.equal(s.isAway('alice'), false);
  });

  test('kick, ban and disconnect act on every device of the account', () => {
    const s = state(5, 4);
    s.login('w:1', 'owner', REPLACED);
    s.login('w:2', 'alice', REPLACED);
    s.login('w:3', 'alice', REPLACED);
    s.login('w:4', 'root', REPLACED, true);
    s.request('w:1', { type: 'createroom', roomid: 'den' });
    for (const k of ['w:1', 'w:2', 'w:3']) s.request(k, { type: 'join', roomid: 'den' });
    s.moderate('w:1', { type: 'kick', roomid: 'den', identity: 'alice' });
    assert.equal(s.roomOf('w:2'), 'MainHall');
    assert.equal(s.roomOf('w:3'), 'MainHall');
    s.moderate('w:1', { type: 'ban', roomid: 'den', identity: 'alice' });
    const refused = inboxes(s.request('w:3', { type: 'join', roomid: 'den' }));
    assert.ok(refused.get('w:3')?.some((m) => m.type === 'error' && m.code === 'BANNED'));
    const fx = s.moderate('w:4', { type: 'disconnect', identity: 'alice' });
    assert.ok(fx.some((e) => e.kind === 'end' && e.session === 'w:2'));
    assert.ok(fx.some((e) => e.kind === 'end' && e.session === 'w:3'));
    assert.deepEqual(s.sessionsOfUser('alice'), []);
    assert.deepEqual(presence(fx), ['alice']);
  });

  test('two dropped devices each keep their own hold', () => {
    const s = state(5, 2);
    s.login('w:1', 'alice', REPLACED);
    s.login('w:2', 'alice', REPLACED);
    s.disconnect('w:1', 'a'.repeat(64));
    s.disconnect('w:2', 'b'.repeat(64));
    s.connect('w:9');
    s.login('w:9', 'alice', REPLACED);
    const back = inboxes(s.reclaim('w:9', 'a'.repeat(64))).get('w:9');
    assert.ok(back?.some((m) => m.type === 'reclaimed'), JSON.stringify(back));
    s.connect('w:10');
    s.login('w:10', 'alice', REPLACED);
    const back2 = inboxes(s.reclaim('w:10', 'b'.repeat(64))).get('w:10');
    assert.ok(back2?.some((m) => m.type === 'reclaimed'), JSON.stringify(back2));
  });

  test('the image keeps the devices in login order and away; loaded, it replaces the same oldest', () => {
    const s = state(2, 3);
    s.login('w:2', 'alice', REPLACED);
    s.login('w:1', 'alice', REPLACED);
    s.setAway('w:1', true);
    const image = JSON.parse(JSON.stringify(s.image())) as unknown;
    checkChatStateImage(image);
    const copy = new ChatState({ maxRoomsPerOwner: 10, maxDevices: 2 }, () => 1_000);
    copy.loadImage(image);
    assert.deepEqual(copy.roomList(), s.roomList());
    assert.deepEqual(copy.sessionsOfUser('alice'), ['w:2', 'w:1']);
    assert.equal(copy.isAway('alice'), true);
    assert.deepEqual(copy.roomContents('MainHall'), s.roomContents('MainHall'));
    const a = s.login('w:3', 'alice', REPLACED);
    const b = copy.login('w:3', 'alice', REPLACED);
    assert.deepEqual(a, b);
    assert.ok(a.some((e) => e.kind === 'end' && e.session === 'w:2'));
    // Two sessions sharing a name are refused unless they are one account's.
    const bad = JSON.parse(JSON.stringify(s.image())) as { sessions: Array<{ username: string | null }> };
    bad.sessions[0]!.username = null;
    assert.throws(() => checkChatStateImage(bad));
  });

  test('a restarted hub takes back two devices of one account; a guest going by the name is renamed', () => {
    const s = new ChatState({ maxRoomsPerOwner: 10, maxDevices: 5 }, () => 1_000);
    s.reserve(['alice']);
    const fx = s.restore([
      { key: 'w:1', identity: 'alice', roomid: 'MainHall', owned: [], username: 'alice' },
      { key: 'w:2', identity: 'alice', roomid: 'den', owned: [], username: 'alice' },
      { key: 'w:3', identity: 'alice', roomid: 'MainHall', owned: [], username: null },
    ]);
    assert.deepEqual(s.sessionsOfUser('alice'), ['w:1', 'w:2']);
    assert.equal(s.identityOf('w:2'), 'alice');
    assert.notEqual(s.identityOf('w:3'), 'alice');
    assert.ok(inboxes(fx).get('w:3')?.some((m) => m.type === 'newidentity'));
    s.disconnect('w:1');
    assert.equal(s.sessionNamed('alice')?.key, 'w:2');
  });

  test('other members see an account\'s roomchange only when its name enters or leaves their room; the mover always', () => {
    const s = state(5, 4);
    s.login('w:1', 'alice', REPLACED);
    s.login('w:2', 'alice', REPLACED);
    s.request('w:3', { type: 'createroom', roomid: 'den' });
    s.request('w:3', { type: 'join', roomid: 'den' });
    // w:3 in den; w:1, w:2 (alice) and w:4 in MainHall.
    assert.deepEqual(toldMove(s.request('w:1', { type: 'join', roomid: 'den' }), 'alice'), ['w:1', 'w:3'], 'alice enters den; she stays in MainHall');
    assert.deepEqual(toldMove(s.request('w:2', { type: 'join', roomid: 'den' }), 'alice'), ['w:2', 'w:4'], 'alice leaves MainHall; she is in den already');
    assert.deepEqual(toldMove(s.request('w:1', { type: 'join', roomid: 'MainHall' }), 'alice'), ['w:1', 'w:4'], 'alice back in MainHall; still in den');
    assert.deepEqual(toldMove(s.disconnect('w:2'), 'alice'), ['w:3'], 'her last device in den is gone');
    s.request('w:1', { type: 'join', roomid: 'den' });
    s.connect('w:5');
    s.login('w:5', 'alice', REPLACED);
    s.request('w:5', { type: 'join', roomid: 'den' });
    assert.deepEqual(toldMove(s.request('w:5', { type: 'quit' }), 'alice'), ['w:5'], 'a quit: only the quitter is told while another device stays');
    assert.deepEqual(toldMove(s.request('w:1', { type: 'quit' }), 'alice'), ['w:1', 'w:3'], 'the last device quits');
    assert.deepEqual(s.roomContents('den'), { type: 'roomcontents', roomid: 'den', identities: ['guest3'], owner: 'guest3' });
  });

  test('a login or logout where another device of the account is: the room sees the name that appears or leaves', () => {
    const s = state(5, 3);
    s.login('w:1', 'alice', REPLACED);
    s.request('w:2', { type: 'createroom', roomid: 'den' });
    for (const k of ['w:1', 'w:2', 'w:3']) s.request(k, { type: 'join', roomid: 'den' });
    // guest3 logs in as alice: guest3 leaves den's names, alice was there already.
    const inFx = inboxes(s.login('w:3', 'alice', REPLACED));
    const guestLeaves = { type: 'roomchange', identity: 'guest3', former: 'den', roomid: '' };
    assert.deepEqual(inFx.get('w:2'), [guestLeaves]);
    assert.deepEqual(inFx.get('w:1'), [guestLeaves]);
    assert.deepEqual(inFx.get('w:3')?.filter((m) => m.type !== 'roomlist' && m.type !== 'roomcontents'), [{ type: 'newidentity', former: 'guest3', identity: 'alice' }]);
    // It logs out again: a guest name appears, alice stays.
    const outFx = inboxes(s.logout('w:3'));
    const guest = s.identityOf('w:3')!;
    assert.deepEqual(outFx.get('w:2'), [{ type: 'roomchange', identity: guest, former: '', roomid: 'den' }]);
    assert.deepEqual(outFx.get('w:3'), [{ type: 'newidentity', former: 'alice', identity: guest }]);
    // The last alice in den logs out: a plain rename, to everyone there.
    const lastFx = inboxes(s.logout('w:1'));
    const renamed = { type: 'newidentity', former: 'alice', identity: s.identityOf('w:1')! };
    for (const k of ['w:1', 'w:2', 'w:3']) assert.deepEqual(lastFx.get(k), [renamed]);
  });

  test('a room a device made as a guest passes to the account\'s other device when it leaves', () => {
    const s = state(5, 3);
    s.request('w:1', { type: 'createroom', roomid: 'den' });
    s.login('w:1', 'alice', REPLACED);
    s.login('w:2', 'alice', REPLACED);
    s.request('w:3', { type: 'join', roomid: 'den' });
    assert.equal(s.ownerOf('den'), 'alice');
    const fx = s.disconnect('w:1');
    assert.equal(s.ownerOf('den'), 'alice', 'the account is still on');
    assert.ok(fx.some((e) => e.kind === 'state' && e.session === 'w:2'), 'the heir\'s mirror changes');
    assert.deepEqual(s.view('w:2')?.owned, ['den']);
    // Owned, it outlives being empty; with the account's last device, its owner is gone, and so is the room.
    s.request('w:3', { type: 'join', roomid: 'MainHall' });
    assert.equal(s.ownerOf('den'), 'alice');
    s.disconnect('w:2');
    assert.equal(s.ownerOf('den'), undefined, 'the last device gone: no owner, no member, no room');
  });
});
