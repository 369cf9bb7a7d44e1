import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { ApplyContext } from '../../src/cluster/apply-context';
import { clusterRefusal } from '../../src/cluster/cluster-order';
import { ClusterSequencer } from '../../src/cluster/cluster-sequencer';
import { decodeEntry, encodeEntry, type LogEntry, type ReplicatedRequest } from '../../src/cluster/entries';
import { Replica } from '../../src/cluster/replica';
import { decodeSnapshot, encodeSnapshot, restoreSnapshot, takeSnapshot } from '../../src/cluster/snapshot';
import type { Outcome } from '../../src/hub/outcomes';
import { Router } from '../../src/hub/router';
import { createLogger } from '../../src/log/logger';
import { CLIENT_MESSAGE_TYPES } from '../../src/protocol/validate';
import { createStore, type Store } from '../../src/store';

/**
 * Determinism of the cluster's replicated state machine: the same log entries fed to two
 * replicas (the second under a different wall clock and randomness) leave them in the same
 * state: sessions, names, rooms, owners, counts, epochs, seqs and stored history.
 */

const dirs: string[] = [];
const stores: Store[] = [];
after(async () => {
  await Promise.all(stores.map((s) => s.close()));
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

const log = createLogger('hub', 'silent');

async function replica(nodeId: string): Promise<{ router: Router; replica: Replica; store: Store; context: ApplyContext }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sb-replica-'));
  dirs.push(dir);
  const store = createStore('sqlite', dir);
  stores.push(store);
  await store.migrate();
  const context = new ApplyContext();
  context.streamCreated = '2026-01-01T00:00:00.000Z';
  const router = new Router(store, log, { maxRoomsPerOwner: 2, reconnectGraceMs: 2000, maxHeldNames: 4 }, {
    clock: context.now,
    makeSequencer: (outbox, workersOf) => new ClusterSequencer(store, outbox, workersOf, context, log, 64 * 1024 * 1024),
  });
  return { router, replica: new Replica(router, context, nodeId, log), store, context };
}

/** A small seeded PRNG (mulberry32): the same log every run. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A log of `count` entries from three nodes, with clashing names and rooms on purpose. */
function makeLog(count: number, seed: number): LogEntry[] {
  const rnd = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const nodes = ['n1', 'n2', 'n3'];
  const names = ['alice', 'Alice', 'bob', 'carol', 'guest1', 'guest2', 'x y'];
  const rooms = ['MainHall', 'r1', 'r2', 'R1', 'r3'];
  const hashes = ['a', 'b', 'c', 'd', 'e'].map((c) => c.repeat(64));
  const live: string[] = [];
  let next = 0;
  let ts = 1_700_000_000_000;
  const out: LogEntry[] = [];
  for (let i = 0; i < count; i++) {
    ts += Math.floor(rnd() * 50);
    const pid = `p${i}`;
    const roll = rnd();
    if (live.length < 3 || roll < 0.15) {
      const key = `${pick(nodes)}/${1 + Math.floor(rnd() * 2)}:${++next}`;
      live.push(key);
      out.push({ type: 'connect', pid, ts, key });
      continue;
    }
    const key = pick(live);
    if (roll < 0.45) {
      out.push({ type: 'chat', pid, ts, key, id: `m${i}`, content: `hello ${i}` });
    } else if (roll < 0.6) {
      // Account outcomes and moderation, as decided on a node after its store work.
      const outcomes: Outcome[] = [
        { type: 'reserve', usernames: [pick(names.filter((n) => n !== 'x y'))] },
        { type: 'login', username: pick(['alice', 'bob', 'carol']), admin: rnd() < 0.3 },
        { type: 'logout' },
        { type: 'moderate', request: { type: 'ban', roomid: pick(rooms), identity: pick(names), seconds: Math.floor(rnd() * 3) } },
        { type: 'moderate', request: { type: 'kick', roomid: pick(rooms), identity: pick(names) } },
        { type: 'moderate', request: { type: 'private', roomid: pick(rooms), on: rnd() < 0.5 } },
        { type: 'moderate', request: { type: 'invite', roomid: pick(rooms), identity: pick(names) } },
        { type: 'moderate', request: { type: 'unban', roomid: pick(rooms), identity: pick(names) } },
        { type: 'moderate', request: { type: 'transfer', roomid: pick(rooms), identity: pick(names) } },
        // Resume tokens: a drop then holds the name (for the grace period) on every replica.
        { type: 'resume-token', hash: pick(hashes) },
        { type: 'resume-token', hash: pick(hashes) },
        { type: 'reclaim', hash: pick(hashes) },
      ];
      out.push(rnd() < 0.05 ? { type: 'accounts', pid, ts, usernames: ['dave', pick(['alice', 'bob'])] } : { type: 'outcome', pid, ts, key, outcome: pick(outcomes) });
    } else if (roll < 0.85) {
      const kinds: ReplicatedRequest[] = [
        { type: 'identitychange', identity: pick(names) },
        { type: 'join', roomid: pick(rooms) },
        { type: 'createroom', roomid: pick(rooms), private: rnd() < 0.2 },
        { type: 'delete', roomid: pick(rooms) },
      ];
      out.push({ type: 'request', pid, ts, key, request: pick(kinds) });
    } else if (roll < 0.93) {
      live.splice(live.indexOf(key), 1);
      out.push(rnd() < 0.5 ? { type: 'disconnect', pid, ts, key } : { type: 'request', pid, ts, key, request: { type: 'quit' } });
    } else {
      const node = pick(nodes);
      for (let j = live.length - 1; j >= 0; j--) if (live[j]!.startsWith(`${node}/`)) live.splice(j, 1);
      out.push(rnd() < 0.7 ? { type: 'node-gone', pid, ts, node, by: pick(nodes) } : { type: 'node-start', pid, ts, node });
    }
  }
  // A tail that leaves a room with members and messages, whatever came before.
  const key = `n3/9:${++next}`;
  out.push({ type: 'connect', pid: 't1', ts, key }, { type: 'request', pid: 't2', ts, key, request: { type: 'createroom', roomid: 'tail' } });
  out.push({ type: 'request', pid: 't3', ts, key, request: { type: 'join', roomid: 'tail' } }, { type: 'chat', pid: 't4', ts, key, id: 'mt', content: 'last' });
  out.push({ type: 'outcome', pid: 't5', ts, key, outcome: { type: 'login', username: 'erin', admin: true } });
  out.push({ type: 'outcome', pid: 't6', ts, key, outcome: { type: 'moderate', request: { type: 'ban', roomid: 'tail', identity: 'mallory', seconds: 60 } } });
  return out;
}

/** Everything a client could observe of a replica, in a comparable form. */
async function snapshot(r: { router: Router; store: Store }): Promise<unknown> {
  const { state, sequencer } = r.router;
  await sequencer.settled();
  const sessions = [...state.allSessions()].map((s) => s.key).sort().map((k) => ({ k, ...state.view(k) }));
  const list = state.roomList() as { rooms: Array<{ roomid: string; count: number }> };
  const rooms = [];
  for (const { roomid, count } of list.rooms) {
    const { epoch, last } = await sequencer.current(roomid);
    const stored = (await r.store.roomHistory(roomid, null, 10_000, epoch)).map((m) => `${m.seq}|${m.id}|${m.identity}|${m.ts}`);
    const modes = state.moderatedRoom(roomid)?.modes.snapshot(1_700_000_000_000);
    rooms.push({ roomid, count, contents: state.roomContents(roomid), epoch, last, stored, modes });
  }
  const reserved = ['alice', 'bob', 'carol', 'dave', 'erin', 'guest1'].filter((n) => state.isReserved(n));
  const admins = sessions.filter((s) => state.isAdmin(s.k)).map((s) => s.k);
  return { sessions, rooms, reserved, admins };
}

test('the same log leaves two replicas in the same state, whatever their clocks and randomness', async () => {
  const entries = makeLog(1500, 42).map((e) => decodeEntry(encodeEntry(e)));
  const a = await replica('n1');
  const b = await replica('n2');
  entries.forEach((e, i) => assert.ok(a.replica.apply(e, i + 1)));
  const realNow = Date.now;
  const realRandom = Math.random;
  try {
    Date.now = () => realNow() + 86_400_000 * 365;
    Math.random = () => 0.5;
    entries.forEach((e, i) => assert.ok(b.replica.apply(e, i + 1)));
  } finally {
    Date.now = realNow;
    Math.random = realRandom;
  }
  const [sa, sb] = [await snapshot(a), await snapshot(b)];
  assert.deepEqual(sb, sa);
  // Not vacuous: the log left sessions, rooms beyond MainHall and stored messages behind.
  const s = sa as { sessions: unknown[]; rooms: Array<{ stored: string[] }> };
  assert.ok(s.sessions.length > 0, 'sessions remain');
  assert.ok(s.rooms.length > 1, 'rooms remain');
  assert.ok(s.rooms.some((r) => r.stored.length > 0), 'messages stored');
  const u = sa as { sessions: Array<{ username: string | null }>; reserved: string[] };
  assert.ok(u.reserved.length > 0, 'accounts reserved');
  assert.ok(u.sessions.some((x) => x.username !== null), 'sessions logged in');
});

test('a replica restored from a snapshot at any point and applying the rest equals one that applied everything', async () => {
  // First an account's room with rules (it outlives its owner's connection), then the random log.
  const key = 'n3/8:1';
  const ts = 1_699_999_999_000;
  const prefix: LogEntry[] = [
    { type: 'connect', pid: 'k1', ts, key },
    { type: 'outcome', pid: 'k2', ts, key, outcome: { type: 'login', username: 'olga', admin: false } },
    { type: 'request', pid: 'k3', ts, key, request: { type: 'createroom', roomid: 'kept', private: true } },
    { type: 'outcome', pid: 'k4', ts, key, outcome: { type: 'moderate', request: { type: 'invite', roomid: 'kept', identity: 'bob' } } },
    { type: 'outcome', pid: 'k5', ts, key, outcome: { type: 'moderate', request: { type: 'ban', roomid: 'kept', identity: 'mallory' } } },
    { type: 'outcome', pid: 'k6', ts, key, outcome: { type: 'moderate', request: { type: 'ban', roomid: 'kept', identity: 'guest3', seconds: 1 } } },
  ];
  const entries = [...prefix, ...makeLog(1500, 42)].map((e) => decodeEntry(encodeEntry(e)));
  // Many points, so that a part of the state left out of snapshots shows in some replica's end state.
  const rnd = prng(7);
  const points = [1, entries.length - 1, ...Array.from({ length: 40 }, () => 1 + Math.floor(rnd() * (entries.length - 2)))];
  const a = await replica('n1');
  const taken = new Map<number, Uint8Array>();
  entries.forEach((e, i) => {
    assert.ok(a.replica.apply(e, i + 1));
    // Between two entries, as a node takes it: serialized at once.
    if (points.includes(i + 1)) taken.set(i + 1, encodeSnapshot(takeSnapshot(a.router, a.context, a.replica)));
  });
  const whole = JSON.stringify(takeSnapshot(a.router, a.context, a.replica));
  const observed = (await snapshot(a)) as { rooms: Array<{ stored?: unknown }> };
  for (const r of observed.rooms) delete r.stored;
  for (const [seq, data] of taken) {
    const b = await replica('n2');
    restoreSnapshot(decodeSnapshot(data), b.router, b.context, b.replica);
    assert.equal(b.replica.appliedSeq, seq);
    // The restored state is the original's: taken again, the same snapshot.
    assert.equal(JSON.stringify(takeSnapshot(b.router, b.context, b.replica)), Buffer.from(data).toString('utf8'), `round trip at ${seq}`);
    entries.forEach((e, i) => assert.equal(b.replica.apply(e, i + 1), i + 1 > seq, `seq ${i + 1} after a snapshot at ${seq}`));
    assert.equal(JSON.stringify(takeSnapshot(b.router, b.context, b.replica)), whole, `restored at ${seq}`);
    // What clients see too (history aside: a restored node writes only what it applies; the others wrote the rest).
    const seen = (await snapshot(b)) as { rooms: Array<{ stored?: unknown }> };
    for (const r of seen.rooms) delete r.stored;
    assert.deepEqual(seen, observed, `restored at ${seq}`);
  }
  // Not vacuous: the state snapshotted holds what the comparisons are about.
  const last = JSON.parse(whole) as { chat: { sessions: unknown[]; held: unknown[]; rooms: Array<{ modes: { bans: unknown[] } }> }; sequences: unknown[]; resumeHashes: unknown[] };
  assert.ok(last.chat.sessions.length > 0 && last.chat.rooms.some((r) => r.modes.bans.length > 0) && last.sequences.length > 1);
  const held = await Promise.all([...taken.values()].map((d) => decodeSnapshot(d)));
  assert.ok(held.some((h) => h.chat.held.length > 0) && held.some((h) => h.resumeHashes.length > 0), 'names held and resume hashes known at some snapshot');
  assert.ok(held.some((h) => h.chat.rooms.some((r) => r.modes.private || r.modes.invited.length > 0 || r.modes.bans.length > 0)), 'room rules at some snapshot');
});

test('a snapshot that does not fit the schema is refused with what is wrong', async () => {
  const a = await replica('n1');
  makeLog(300, 3).forEach((e, i) => a.replica.apply(e, i + 1));
  const good = takeSnapshot(a.router, a.context, a.replica);
  const bad = (change: (s: Record<string, any>) => void): Uint8Array => {
    const s = JSON.parse(JSON.stringify(good)) as Record<string, any>;
    change(s);
    return Buffer.from(JSON.stringify(s));
  };
  const cases: Array<[Uint8Array, RegExp]> = [
    [Buffer.from('{'), /not JSON/],
    [bad((s) => (s.format = 'pickle')), /bad format/],
    [bad((s) => (s.version = 2)), /unsupported snapshot version 2/],
    [bad((s) => (s.seq = -1)), /bad seq/],
    [bad((s) => delete s.chat.rooms), /bad chat\.rooms: not an array/],
    [bad((s) => s.chat.rooms.shift()), /bad chat\.(rooms: no MainHall|sessions)/],
    [bad((s) => s.chat.rooms[0].members.push('n9/1:1')), /bad chat\.rooms\[0\]\.members/],
    [bad((s) => (s.chat.sessions[0].identity = s.chat.sessions[1].identity.toUpperCase())), /bad chat\.sessions\[1\]\.identity/],
    [bad((s) => (s.chat.guestHint = 0)), /bad chat\.guestHint/],
    [bad((s) => s.resumeHashes.push(['n9/1:1', 'f'.repeat(64)])), /bad resumeHashes/],
    [bad((s) => s.sequences.push(s.sequences[0])), /bad sequences/],
  ];
  assert.ok(good.chat.sessions.length >= 2);
  for (const [data, why] of cases) assert.throws(() => decodeSnapshot(data), why, why.source);
  // A restore is only into a new replica, and only of this log.
  const b = await replica('n2');
  b.replica.apply({ type: 'connect', pid: 'p', ts: 1, key: 'n2/1:1' }, 1);
  assert.throws(() => restoreSnapshot(good, b.router, b.context, b.replica), /applied nothing/);
  const c = await replica('n3');
  c.context.streamCreated = '2027-01-01T00:00:00.000Z';
  assert.throws(() => restoreSnapshot(good, c.router, c.context, c.replica), /not of this one/);
});

test('an entry is applied once: a seq seen already changes nothing', async () => {
  const a = await replica('n1');
  const connect: LogEntry = { type: 'connect', pid: 'p1', ts: 1, key: 'n2/1:1' };
  assert.equal(a.replica.apply(connect, 1), true);
  assert.equal(a.replica.apply({ type: 'connect', pid: 'p2', ts: 2, key: 'n2/1:2' }, 1), false);
  assert.equal(a.router.state.sessionCount, 1);
  // node-gone is idempotent: twice, or for a node with no sessions, changes nothing more.
  a.replica.apply({ type: 'node-gone', pid: 'p3', ts: 3, node: 'n2', by: 'n1' }, 2);
  a.replica.apply({ type: 'node-gone', pid: 'p4', ts: 4, node: 'n2', by: 'n3' }, 3);
  assert.equal(a.router.state.sessionCount, 0);
});

test('entries that do not decode are refused with what is wrong, never applied', () => {
  const bad: Array<[string, RegExp]> = [
    ['not json', /not JSON/],
    ['[1]', /not a JSON object/],
    ['{"type":"connect","ts":1,"key":"n/1:1"}', /bad pid/],
    ['{"type":"connect","pid":"p","ts":-1,"key":"n/1:1"}', /bad ts/],
    ['{"type":"connect","pid":"p","ts":1,"key":"1:1"}', /bad key/],
    ['{"type":"chat","pid":"p","ts":1,"key":"n/1:1","id":"m","content":5}', /bad content/],
    ['{"type":"request","pid":"p","ts":1,"key":"n/1:1","request":{"type":"register"}}', /bad request/],
    ['{"type":"request","pid":"p","ts":1,"key":"n/1:1","request":{"type":"join"}}', /bad request/],
    ['{"type":"node-gone","pid":"p","ts":1,"node":"a/b","by":"n"}', /bad node/],
    ['{"type":"drop-table","pid":"p","ts":1}', /unknown entry type/],
    ['{"type":"outcome","pid":"p","ts":1,"key":"n/1:1","outcome":{"type":"login","username":"a b","admin":false}}', /bad outcome/],
    ['{"type":"outcome","pid":"p","ts":1,"key":"n/1:1","outcome":{"type":"login","username":"alice"}}', /bad outcome/],
    ['{"type":"outcome","pid":"p","ts":1,"key":"n/1:1","outcome":{"type":"moderate","request":{"type":"ban","roomid":"r"}}}', /bad outcome/],
    ['{"type":"outcome","pid":"p","ts":1,"key":"n/1:1","outcome":{"type":"moderate","request":{"type":"register","username":"a","password":"b"}}}', /bad outcome/],
    ['{"type":"outcome","pid":"p","ts":1,"key":"n/1:1","outcome":{"type":"dm","message":{"id":"m","from":"alice","to":"bob","content":"x"}}}', /bad outcome/],
    ['{"type":"outcome","pid":"p","ts":1,"key":"n/1:1","outcome":{"type":"shutdown"}}', /bad outcome/],
    ['{"type":"accounts","pid":"p","ts":1,"usernames":[]}', /bad usernames/],
  ];
  for (const [text, why] of bad) assert.throws(() => decodeEntry(Buffer.from(text)), why, text);
});

test('a cluster node serves every request type of the protocol; a type it does not know is refused', () => {
  // ping and hello are answered by the worker, message is a room message: none reaches the hub as a request.
  for (const type of CLIENT_MESSAGE_TYPES.filter((t) => !['ping', 'hello', 'message'].includes(t))) assert.equal(clusterRefusal(type), null, type);
  assert.match(clusterRefusal('futuretype') ?? '', /futuretype is not available on a clustered server yet/);
});
