import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ChatClient } from '../../src/client/web/protocol/client';
import type { SocketLike, Timers } from '../../src/client/web/protocol/connection';
import { memoryStorage } from '../../src/client/web/protocol/storage';
import { presenceState } from '../../src/client/web/protocol/state';
import { RoomTimeline } from '../../src/client/web/protocol/timeline';
import { fold, type RoomMessage, type ServerMessage } from '../../src/client/web/protocol/types';

/** An in-memory WebSocket: records what the client sends; the test plays the server. */
class FakeSocket implements SocketLike {
  onopen: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: ((ev: unknown) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  readonly sent: Array<Record<string, unknown>> = [];
  closed = false;
  send(data: string): void {
    this.sent.push(JSON.parse(data) as Record<string, unknown>);
  }
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.onclose?.({});
  }
  open(): void {
    this.onopen?.({});
  }
  push(...messages: ServerMessage[]): void {
    for (const m of messages) this.onmessage?.({ data: JSON.stringify(m) });
  }
  types(): string[] {
    return this.sent.map((m) => m.type as string);
  }
}

/** Timers the test fires by hand. */
class ManualTimers implements Timers {
  private seq = 0;
  readonly pending = new Map<number, { fn: () => void; ms: number }>();
  setTimeout(fn: () => void, ms: number): unknown {
    this.pending.set(++this.seq, { fn, ms });
    return this.seq;
  }
  clearTimeout(handle: unknown): void {
    this.pending.delete(handle as number);
  }
  /** Runs every timer due within `ms` (all of them when omitted). */
  fire(ms = Infinity): void {
    for (const [id, t] of [...this.pending]) {
      if (t.ms <= ms) {
        this.pending.delete(id);
        t.fn();
      }
    }
  }
}

function setup(opts: { token?: string } = {}) {
  const sockets: FakeSocket[] = [];
  const timers = new ManualTimers();
  const storage = memoryStorage();
  if (opts.token) storage.setItem('switchboard.token', opts.token);
  const client = new ChatClient({
    url: 'ws://test/ws',
    createSocket: () => {
      const s = new FakeSocket();
      sockets.push(s);
      return s;
    },
    storage,
    timers,
    pingMs: 0,
    probeMs: 0,
    random: undefined,
  } as ConstructorParameters<typeof ChatClient>[0]);
  client.start();
  return { client, sockets, timers, storage, last: () => sockets[sockets.length - 1]! };
}

function welcome(s: FakeSocket, identity: string): void {
  s.push(
    { type: 'newidentity', former: '', identity },
    { type: 'roomchange', identity, former: '', roomid: 'MainHall' },
    { type: 'roomlist', rooms: [{ roomid: 'MainHall', count: 1 }, { roomid: 'Lobby', count: 0 }] },
    { type: 'roomcontents', roomid: 'MainHall', identities: [identity], owner: '' },
    { type: 'hello', capabilities: ['extended'] },
  );
}

const msg = (seq: number, roomid = 'Lobby', epoch = 'e1', identity = 'bob'): RoomMessage => ({ type: 'message', identity, content: `m${seq}`, roomid, id: `${epoch}-${roomid}-${seq}`, seq, epoch, ts: 1_700_000_000_000 + seq });

test('a fresh connection says hello first, asks for a resume token, and loads the room it is welcomed into', () => {
  const { client, last } = setup();
  const s = last();
  s.open();
  assert.deepEqual(s.types().slice(0, 2), ['hello', 'session']);
  welcome(s, 'guest1');
  assert.equal(client.state.identity, 'guest1');
  assert.equal(client.state.room, 'MainHall');
  assert.equal(client.state.extended, true);
  const history = s.sent.find((m) => m.type === 'history');
  assert.deepEqual(history, { type: 'history', roomid: 'MainHall', limit: 50 });
});

test('live, history and resumed copies of a message are shown once, in seq order', () => {
  const t = new RoomTimeline();
  assert.equal(t.insert(msg(3)), true);
  assert.equal(t.insert(msg(1)), true);
  assert.equal(t.insert(msg(3)), false, 'same id');
  assert.equal(t.insert({ ...msg(2), id: 'other' }), true);
  assert.equal(t.insert({ ...msg(2), id: 'again' }), false, 'same seq in the same epoch');
  assert.deepEqual(t.messages.map((m) => m.seq), [1, 2, 3]);
  assert.deepEqual(t.gaps(), []);
  assert.equal(t.lastSeq, 3);
  // A new epoch: the room's sequence restarted, the old seqs mean nothing now.
  assert.equal(t.insert(msg(1, 'Lobby', 'e2')), true);
  assert.deepEqual(t.messages.map((m) => m.id), ['e2-Lobby-1']);
});

test('after a drop it reconnects, logs in with its token, reclaims, rejoins and resumes from the last seq of the epoch', () => {
  const { client, last, timers } = setup({ token: 'tok' });
  const first = last();
  first.open();
  assert.deepEqual(first.types().slice(0, 3), ['hello', 'login', 'session']);
  assert.deepEqual(first.sent[1], { type: 'login', token: 'tok' });
  welcome(first, 'guest1');
  first.push({ type: 'newidentity', former: 'guest1', identity: 'alice' }, { type: 'loggedin', identity: 'alice', token: 'tok', admin: false });
  first.push({ type: 'session', token: 'resume-1', graceMs: 60000 });
  client.join('Lobby');
  first.push({ type: 'roomchange', identity: 'alice', former: 'MainHall', roomid: 'Lobby' });
  // Replies come in request order: the login's unread probe of Lobby, then the page of the join.
  first.push({ type: 'history', roomid: 'Lobby', epoch: 'e1', messages: [msg(2)], next: 1 });
  first.push({ type: 'history', roomid: 'Lobby', epoch: 'e1', messages: [msg(1), msg(2)], next: null }, msg(3), msg(4));
  assert.equal(client.state.room, 'Lobby');
  assert.deepEqual(client.state.timelines.get('Lobby')!.messages.map((m) => m.seq), [1, 2, 3, 4]);

  first.close();
  assert.equal(client.state.link, 'reconnecting');
  timers.fire();
  const second = last();
  assert.notEqual(second, first);
  second.open();
  assert.deepEqual(second.sent.slice(0, 6), [
    { type: 'hello', capabilities: ['extended'] },
    { type: 'login', token: 'tok' },
    { type: 'reclaim', token: 'resume-1' },
    { type: 'session' },
    { type: 'join', roomid: 'Lobby' },
    { type: 'resume', roomid: 'Lobby', since: 4, epoch: 'e1' },
  ]);
  // The server welcomes the new connection in MainHall, then the reclaim moves it back.
  welcome(second, 'guest2');
  second.push({ type: 'newidentity', former: 'guest2', identity: 'alice' }, { type: 'loggedin', identity: 'alice', token: 'tok', admin: false });
  second.push({ type: 'roomchange', identity: 'alice', former: 'MainHall', roomid: 'Lobby' }, { type: 'reclaimed', identity: 'alice', roomid: 'Lobby' });
  // A live message overtakes the replay; the replay repeats it.
  second.push(msg(6), msg(5), msg(6), { type: 'resumed', roomid: 'Lobby', seq: 6, epoch: 'e1', more: false });
  assert.equal(client.state.link, 'online');
  const t = client.state.timelines.get('Lobby')!;
  assert.deepEqual(t.messages.map((m) => m.seq), [1, 2, 3, 4, 5, 6]);
  assert.deepEqual(t.gaps(), []);
  assert.equal(t.atStart, true, 'the timeline kept its history across the reconnect');
});

test('a seq jump in the live stream asks for what was missed', () => {
  const { client, last } = setup();
  const s = last();
  s.open();
  welcome(s, 'guest1');
  client.join('Lobby');
  s.push({ type: 'roomchange', identity: 'guest1', former: 'MainHall', roomid: 'Lobby' });
  s.push({ type: 'history', roomid: 'Lobby', epoch: 'e1', messages: [msg(1)], next: null }, msg(2), msg(5));
  assert.deepEqual(s.sent[s.sent.length - 1], { type: 'resume', roomid: 'Lobby', since: 2, epoch: 'e1' });
});

test('inbox DMs are kept once each, counted unread, and acknowledged up to the highest number', () => {
  const { client, last, timers } = setup();
  const s = last();
  s.open();
  welcome(s, 'guest1');
  s.push({ type: 'newidentity', former: 'guest1', identity: 'bob' }, { type: 'loggedin', identity: 'bob', token: 't', admin: false });
  const dm = (id: string, inbox: number) => ({ type: 'dm' as const, id, from: 'alice', to: 'bob', content: id, ts: 1000 + inbox, inbox });
  s.push(dm('a', 7), dm('b', 8), dm('a', 7));
  const thread = client.state.dms.get('alice')!;
  assert.deepEqual(thread.messages.map((m) => m.id), ['a', 'b']);
  assert.equal(thread.unread, 2);
  timers.fire();
  assert.deepEqual(s.sent[s.sent.length - 1], { type: 'ack', inbox: 8 });
  client.openDm('alice');
  assert.equal(thread.unread, 0);
});

test('a replaced session is not reconnected', () => {
  const { client, last, timers, sockets } = setup();
  const s = last();
  s.open();
  s.push({ type: 'error', code: 'SESSION_REPLACED', message: 'replaced' });
  assert.equal(client.state.link, 'closed');
  timers.fire();
  assert.equal(sockets.length, 1);
});

test('other rooms are probed for unread messages against the last seq read', () => {
  const { client, last, storage } = setup();
  storage.setItem('switchboard.read.bob', JSON.stringify({ Lobby: { epoch: 'e1', seq: 2 } }));
  const s = last();
  s.open();
  welcome(s, 'guest1');
  s.push({ type: 'newidentity', former: 'guest1', identity: 'bob' }, { type: 'loggedin', identity: 'bob', token: 't', admin: false });
  assert.ok(s.sent.some((m) => m.type === 'history' && m.roomid === 'Lobby' && m.limit === 1));
  s.push({ type: 'history', roomid: 'MainHall', epoch: 'm', messages: [], next: null });
  s.push({ type: 'history', roomid: 'Lobby', epoch: 'e1', messages: [msg(5)], next: 4 });
  assert.equal(client.state.roomUnread.get('Lobby'), 3);
  client.join('Lobby');
  assert.equal(client.state.roomUnread.has('Lobby'), false);
});

test("another device's moves under our name do not move this one; a kick to MainHall does", () => {
  const { client, last } = setup();
  const s = last();
  s.open();
  welcome(s, 'guest1');
  s.push({ type: 'newidentity', former: 'guest1', identity: 'alice' }, { type: 'loggedin', identity: 'alice', token: 't', admin: false });
  client.join('Lobby');
  s.push({ type: 'roomchange', identity: 'alice', former: 'MainHall', roomid: 'Lobby' });
  assert.equal(client.state.room, 'Lobby');
  s.push({ type: 'roomcontents', roomid: 'Lobby', identities: ['alice', 'bob'], owner: 'bob' });
  // Alice's phone, also in Lobby, goes to Attic, then to MainHall: this device stays.
  s.push({ type: 'roomchange', identity: 'alice', former: 'Lobby', roomid: 'Attic' });
  assert.equal(client.state.room, 'Lobby');
  s.push({ type: 'roomchange', identity: 'alice', former: 'Lobby', roomid: 'MainHall' }, msg(1));
  assert.equal(client.state.room, 'Lobby');
  assert.ok(client.state.members.includes('alice'));
  // Bob kicks alice: every device of hers in Lobby moves, this one is told with MainHall's lists.
  s.push(
    { type: 'kick', roomid: 'Lobby', identity: 'alice', by: 'bob', reason: '' },
    { type: 'roomchange', identity: 'alice', former: 'Lobby', roomid: 'MainHall' },
    { type: 'roomlist', rooms: [{ roomid: 'MainHall', count: 2 }] },
    { type: 'roomcontents', roomid: 'MainHall', identities: ['alice'], owner: '' },
  );
  assert.equal(client.state.room, 'MainHall');
  assert.deepEqual(client.state.members, ['alice']);
});

test('a probe of a room closed to us is answered quietly; a refused join is told', () => {
  const { client, last } = setup();
  const s = last();
  s.open();
  welcome(s, 'guest1');
  s.push({ type: 'newidentity', former: 'guest1', identity: 'bob' }, { type: 'loggedin', identity: 'bob', token: 't', admin: false });
  // The login probed Lobby (private): its refusal is no news for the user.
  s.push({ type: 'error', code: 'INVITE_ONLY', message: 'Lobby is invite-only' });
  assert.equal(client.state.toasts.length, 0);
  client.join('Lobby');
  s.push({ type: 'roomchange', identity: 'bob', former: 'MainHall', roomid: 'MainHall' }, { type: 'error', code: 'INVITE_ONLY', message: 'Lobby is invite-only' });
  assert.deepEqual(client.state.toasts.map((t) => t.text), ['Lobby is invite-only']);
  assert.equal(client.state.room, 'MainHall');
});

test('a handshake that never completes is given up and tried again', () => {
  const { client, sockets, timers } = setup();
  assert.equal(sockets.length, 1);
  // The first socket neither opens nor closes: the 10 s open timeout gives up on it.
  const giveUp = [...timers.pending.values()].find((t) => t.ms === 10_000);
  assert.ok(giveUp, 'an open timeout is armed');
  timers.fire(10_000);
  assert.equal(client.state.link, 'reconnecting');
  assert.equal(sockets[0]!.onopen, null, 'the stuck socket is abandoned');
  timers.fire(5_000); // the retry delay
  assert.equal(sockets.length, 2);
  sockets[1]!.open();
  assert.equal(client.state.link, 'online');
});

test("a room member's presence dot follows the server's state: away, dnd, offline (not derived from online)", () => {
  const { client, last } = setup();
  const s = last();
  s.open();
  welcome(s, 'guest1');
  s.push({ type: 'roomcontents', roomid: 'MainHall', identities: ['guest1', 'carol'], owner: '' });
  // The member list asks the presence of the room's members.
  const asked = s.sent.filter((m) => m.type === 'presence').at(-1);
  assert.deepEqual(asked, { type: 'presence', users: ['carol', 'guest1'] });
  const carol = (state: 'online' | 'away' | 'dnd' | 'offline', online = true, dnd = false) =>
    s.push({ type: 'presence', users: [{ username: 'carol', online, status: '', dnd, state }] });
  carol('away');
  assert.equal(presenceState(client.state.presence.get(fold('carol'))), 'away');
  carol('dnd', true, true);
  assert.equal(presenceState(client.state.presence.get(fold('carol'))), 'dnd');
  carol('offline', false);
  assert.equal(presenceState(client.state.presence.get(fold('carol'))), 'offline');
  // A server without the field: derived from online and dnd.
  s.push({ type: 'presence', users: [{ username: 'carol', online: true, status: '', dnd: false }] });
  assert.equal(presenceState(client.state.presence.get(fold('carol'))), 'online');
});

test('blocking or unblocking asks the presence again, after the block (a blocked user shows offline)', () => {
  const { client, last } = setup();
  const s = last();
  s.open();
  welcome(s, 'guest1');
  for (const on of [true, false]) {
    const from = s.sent.length;
    client.block('carol', on);
    assert.deepEqual(s.sent.slice(from), [{ type: on ? 'block' : 'unblock', user: 'carol' }, { type: 'presence', users: ['carol'] }]);
  }
});
