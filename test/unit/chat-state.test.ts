import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ChatState } from '../../src/core/chat-state';
import { inboxes } from '../helpers/effects';

function connected(n: number): ChatState {
  const state = new ChatState();
  for (let i = 1; i <= n; i++) state.connect(`w:${i}`);
  return state;
}

describe('ChatState', () => {
  test('welcome: newidentity, roomchange to MainHall, roomlist, roomcontents', () => {
    const state = connected(1);
    const fx = state.connect('w:2');
    const box = inboxes(fx);
    assert.deepEqual(box.get('w:2'), [
      { type: 'newidentity', former: '', identity: 'guest2' },
      { type: 'roomchange', identity: 'guest2', former: '', roomid: 'MainHall' },
      { type: 'roomlist', rooms: [{ roomid: 'MainHall', count: 2 }] },
      { type: 'roomcontents', roomid: 'MainHall', identities: ['guest1', 'guest2'], owner: '' },
    ]);
    assert.deepEqual(box.get('w:1'), [{ type: 'roomchange', identity: 'guest2', former: '', roomid: 'MainHall' }]);
  });

  test('guest names reuse the smallest free number', () => {
    const state = connected(3);
    state.disconnect('w:2');
    state.request('w:1', { type: 'identitychange', identity: 'alice' });
    state.connect('w:4');
    state.connect('w:5');
    state.connect('w:6');
    assert.equal(state.identityOf('w:4'), 'guest1');
    assert.equal(state.identityOf('w:5'), 'guest2');
    assert.equal(state.identityOf('w:6'), 'guest4');
  });

  test('a user-chosen guest name is skipped by guest naming', () => {
    const state = connected(1);
    state.request('w:1', { type: 'identitychange', identity: 'guest2' });
    state.connect('w:2');
    state.connect('w:3');
    assert.equal(state.identityOf('w:2'), 'guest1');
    assert.equal(state.identityOf('w:3'), 'guest3');
  });

  test('identity change: broadcast to the same room only; refusal to the requester only', () => {
    const state = connected(3);
    state.request('w:3', { type: 'createroom', roomid: 'other' });
    state.request('w:3', { type: 'join', roomid: 'other' });
    const ok = inboxes(state.request('w:1', { type: 'identitychange', identity: 'bob' }));
    assert.deepEqual(ok.get('w:2'), [{ type: 'newidentity', former: 'guest1', identity: 'bob' }]);
    assert.deepEqual(ok.get('w:1'), [{ type: 'newidentity', former: 'guest1', identity: 'bob' }]);
    assert.equal(ok.has('w:3'), false);
    for (const bad of ['bob', 'guest2', 'ab', '1abc', 'a'.repeat(17), 'bad name']) {
      const box = inboxes(state.request('w:1', { type: 'identitychange', identity: bad }));
      assert.deepEqual([...box.keys()], ['w:1']);
      assert.deepEqual(box.get('w:1'), [{ type: 'newidentity', former: 'bob', identity: 'bob' }]);
    }
  });

  test('join: both rooms told; refusal is roomchange former == roomid to the requester', () => {
    const state = connected(3);
    state.request('w:1', { type: 'createroom', roomid: 'jokes' });
    const box = inboxes(state.request('w:2', { type: 'join', roomid: 'jokes' }));
    const change = { type: 'roomchange', identity: 'guest2', former: 'MainHall', roomid: 'jokes' };
    assert.deepEqual(box.get('w:1'), [change]);
    assert.deepEqual(box.get('w:2'), [change]);
    assert.deepEqual(box.get('w:3'), [change]);
    for (const roomid of ['nowhere', 'jokes', '!']) {
      const refused = inboxes(state.request('w:2', { type: 'join', roomid }));
      assert.deepEqual([...refused.keys()], ['w:2']);
      assert.deepEqual(refused.get('w:2'), [{ type: 'roomchange', identity: 'guest2', former: 'jokes', roomid: 'jokes' }]);
    }
  });

  test('joining MainHall adds roomlist and roomcontents', () => {
    const state = connected(1);
    state.request('w:1', { type: 'createroom', roomid: 'jokes' });
    state.request('w:1', { type: 'join', roomid: 'jokes' });
    const box = inboxes(state.request('w:1', { type: 'join', roomid: 'MainHall' }));
    assert.deepEqual(
      box.get('w:1')!.map((m) => m.type),
      ['roomchange', 'roomlist', 'roomcontents'],
    );
  });

  test('createroom: owner does not move; duplicates and bad names change nothing', () => {
    const state = connected(2);
    const box = inboxes(state.request('w:1', { type: 'createroom', roomid: 'jokes' }));
    assert.deepEqual(box.get('w:1'), [{ type: 'roomlist', rooms: [{ roomid: 'MainHall', count: 2 }, { roomid: 'jokes', count: 0 }] }]);
    assert.equal(state.roomOf('w:1'), 'MainHall');
    assert.deepEqual(state.roomContents('jokes'), { type: 'roomcontents', roomid: 'jokes', identities: [], owner: 'guest1' });
    // Refused: the list without the room asked for, though it exists (seed clients judge by it).
    const dup = inboxes(state.request('w:2', { type: 'createroom', roomid: 'jokes' }));
    assert.deepEqual(dup.get('w:2'), [{ type: 'roomlist', rooms: [{ roomid: 'MainHall', count: 2 }] }]);
    assert.equal(state.roomContents('jokes').type === 'roomcontents' && (state.roomContents('jokes') as { owner: string }).owner, 'guest1');
  });

  test('every refused createroom is answered with the list without the requested room', () => {
    const state = new ChatState({ maxRoomsPerOwner: 1 });
    state.connect('w:1');
    state.connect('w:2');
    state.request('w:1', { type: 'createroom', roomid: 'jokes' });
    const listed = (key: string, roomid: string): string[][] => {
      const box = inboxes(state.request(key, { type: 'createroom', roomid }));
      return box.get(key)!.map((m) => (m.type === 'roomlist' ? m.rooms.map((r) => r.roomid) : [m.type]));
    };
    assert.deepEqual(listed('w:2', 'jokes'), [['MainHall']], 'an existing room');
    assert.deepEqual(listed('w:2', 'MainHall'), [['jokes']], 'MainHall');
    assert.deepEqual(listed('w:2', 'x!'), [['MainHall', 'jokes']], 'an invalid name');
    // Over maxRoomsPerOwner: the same refusal, then the error for extended clients.
    assert.deepEqual(listed('w:1', 'puns'), [['MainHall', 'jokes'], ['error']], 'over the cap');
    assert.deepEqual(listed('w:1', 'jokes'), [['MainHall']], 'its own room again');
  });

  test('delete: owner only, members moved to MainHall as if they joined it', () => {
    const state = connected(3);
    state.request('w:1', { type: 'createroom', roomid: 'jokes' });
    state.request('w:2', { type: 'join', roomid: 'jokes' });
    const refused = inboxes(state.request('w:2', { type: 'delete', roomid: 'jokes' }));
    assert.deepEqual(refused.get('w:2')!.map((m) => m.type), ['roomlist']);
    assert.equal(state.roomOf('w:2'), 'jokes');
    const box = inboxes(state.request('w:1', { type: 'delete', roomid: 'jokes' }));
    assert.deepEqual(box.get('w:2')!.map((m) => m.type), ['roomchange', 'roomlist', 'roomcontents']);
    assert.deepEqual(box.get('w:2')![0], { type: 'roomchange', identity: 'guest2', former: 'jokes', roomid: 'MainHall' });
    assert.deepEqual(box.get('w:1')!.at(-1), { type: 'roomlist', rooms: [{ roomid: 'MainHall', count: 3 }] });
    assert.equal(state.roomOf('w:2'), 'MainHall');
  });

  test('MainHall cannot be deleted', () => {
    const state = connected(1);
    state.request('w:1', { type: 'delete', roomid: 'MainHall' });
    assert.deepEqual(state.roomList(), { type: 'roomlist', rooms: [{ roomid: 'MainHall', count: 1 }] });
  });

  test('quit: the room and the quitter are told, owned rooms lose their owner, empty ownerless rooms go', () => {
    const state = connected(2);
    state.request('w:1', { type: 'createroom', roomid: 'empty' });
    state.request('w:1', { type: 'createroom', roomid: 'busy' });
    state.request('w:2', { type: 'join', roomid: 'busy' });
    const fx = state.request('w:1', { type: 'quit' });
    const box = inboxes(fx);
    assert.deepEqual(box.get('w:1'), [{ type: 'roomchange', identity: 'guest1', former: 'MainHall', roomid: '' }]);
    assert.deepEqual(fx.at(-1), { kind: 'end', session: 'w:1' });
    assert.deepEqual(state.roomList(), { type: 'roomlist', rooms: [{ roomid: 'MainHall', count: 0 }, { roomid: 'busy', count: 1 }] });
    assert.deepEqual(state.roomContents('busy'), { type: 'roomcontents', roomid: 'busy', identities: ['guest2'], owner: '' });
    // The last member leaving an ownerless room deletes it.
    state.request('w:2', { type: 'join', roomid: 'MainHall' });
    assert.deepEqual(state.roomList(), { type: 'roomlist', rooms: [{ roomid: 'MainHall', count: 1 }] });
  });

  test('a dropped connection tells the room but not the gone client', () => {
    const state = connected(2);
    const box = inboxes(state.disconnect('w:1'));
    assert.deepEqual([...box.keys()], ['w:2']);
    assert.deepEqual(box.get('w:2'), [{ type: 'roomchange', identity: 'guest1', former: 'MainHall', roomid: '' }]);
    assert.equal(state.has('w:1'), false);
  });

  test('restore rebuilds identities, rooms, owners and members from worker mirrors', () => {
    const before = connected(3);
    before.request('w:1', { type: 'identitychange', identity: 'alice' });
    before.request('w:1', { type: 'createroom', roomid: 'jokes' });
    before.request('w:1', { type: 'createroom', roomid: 'quiet' });
    before.request('w:2', { type: 'join', roomid: 'jokes' });
    before.request('w:2', { type: 'createroom', roomid: 'orphan' });
    before.request('w:3', { type: 'createroom', roomid: 'later' });
    before.request('w:3', { type: 'join', roomid: 'later' });
    before.request('w:3', { type: 'quit' });
    const mirrors = ['w:1', 'w:2'].map((key) => ({ key, ...before.view(key)! }));
    const after = new ChatState();
    after.restore(mirrors);
    assert.deepEqual(after.roomList(), before.roomList());
    for (const room of ['MainHall', 'jokes', 'quiet', 'orphan']) assert.deepEqual(after.roomContents(room), before.roomContents(room));
    // Guest numbering continues around the restored names.
    after.connect('w:9');
    assert.equal(after.identityOf('w:9'), 'guest1');
  });

  test('restore renames a clashing identity and tells the session', () => {
    const state = new ChatState();
    const fx = state.restore([
      { key: 'a:1', identity: 'bob', roomid: 'MainHall', owned: [], username: null },
      { key: 'b:1', identity: 'bob', roomid: 'MainHall', owned: [], username: null },
    ]);
    assert.equal(state.identityOf('a:1'), 'bob');
    assert.equal(state.identityOf('b:1'), 'guest1');
    assert.deepEqual(inboxes(fx).get('b:1'), [{ type: 'newidentity', former: 'bob', identity: 'guest1' }]);
  });
  test('login takes the account name, visible to the room; registered names are reserved', () => {
    const state = connected(2);
    state.reserve(['alice']);
    const refused = inboxes(state.request('w:2', { type: 'identitychange', identity: 'alice' }));
    assert.deepEqual(refused.get('w:2'), [{ type: 'newidentity', former: 'guest2', identity: 'guest2' }]);
    const box = inboxes(state.login('w:1', 'alice', { type: 'error', code: 'SESSION_REPLACED', message: 'x' }));
    assert.deepEqual(box.get('w:2'), [{ type: 'newidentity', former: 'guest1', identity: 'alice' }]);
    assert.equal(state.usernameOf('w:1'), 'alice');
    assert.equal(state.sessionOfUser('alice'), 'w:1');
    // A logged-in session keeps its account name.
    const stay = inboxes(state.request('w:1', { type: 'identitychange', identity: 'alicia' }));
    assert.deepEqual(stay.get('w:1'), [{ type: 'newidentity', former: 'alice', identity: 'alice' }]);
    const out = inboxes(state.logout('w:1'));
    assert.deepEqual(out.get('w:2'), [{ type: 'newidentity', former: 'alice', identity: 'guest1' }]);
    assert.equal(state.usernameOf('w:1'), null);
  });

  test('a second login of the same account replaces the first session', () => {
    const state = connected(2);
    state.login('w:1', 'alice', { type: 'error', code: 'SESSION_REPLACED', message: 'replaced' });
    const fx = state.login('w:2', 'alice', { type: 'error', code: 'SESSION_REPLACED', message: 'replaced' });
    assert.deepEqual(inboxes(fx).get('w:1'), [{ type: 'error', code: 'SESSION_REPLACED', message: 'replaced' }]);
    assert.ok(fx.some((f) => f.kind === 'end' && f.session === 'w:1'));
    assert.equal(state.has('w:1'), false);
    assert.equal(state.identityOf('w:2'), 'alice');
  });

  test("an account's room is persisted, outlives its owner's connection, and only the account deletes it", () => {
    const state = connected(2);
    state.login('w:1', 'alice', { type: 'error', code: 'SESSION_REPLACED', message: 'x' });
    const fx = state.request('w:1', { type: 'createroom', roomid: 'garden' });
    assert.deepEqual(fx[0], { kind: 'persist-room', roomid: 'garden', owner: 'alice' });
    state.request('w:1', { type: 'quit' });
    assert.equal(state.ownerOf('garden'), 'alice');
    state.connect('w:3');
    state.login('w:3', 'alice', { type: 'error', code: 'SESSION_REPLACED', message: 'x' });
    state.request('w:2', { type: 'delete', roomid: 'garden' });
    assert.equal(state.ownerOf('garden'), 'alice');
    const del = state.request('w:3', { type: 'delete', roomid: 'garden' });
    assert.ok(del.some((f) => f.kind === 'unpersist-room' && f.roomid === 'garden'));
    assert.equal(state.ownerOf('garden'), undefined);
  });

  test('persistent rooms load at boot with their owner', () => {
    const state = new ChatState();
    state.loadPersistentRooms([{ roomid: 'garden', owner: 'alice' }]);
    assert.deepEqual(state.roomContents('garden'), { type: 'roomcontents', roomid: 'garden', identities: [], owner: 'alice' });
  });
});
