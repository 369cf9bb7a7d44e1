import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import type { Store } from '../../src/store/store';
import {
  account,
  directMessage,
  ids,
  register,
  rejectsWith,
  roomMessage,
  roomMessages,
  seqs,
} from './store-fixtures';

/**
 * One Store under test, made fresh (empty, not yet migrated) for each test.
 * `reopen` and `openBackup` return further instances, also not yet migrated; the suite
 * migrates and closes every instance it gets, then calls `cleanup`.
 */
export interface StoreUnderTest {
  store: Store;
  /** A new instance on the same data. Called after `store.close()`. */
  reopen(): Promise<Store>;
  /** A new instance on the data of the backup that `store.backup(file)` wrote to `file`. */
  openBackup(file: string): Promise<Store>;
  cleanup(): Promise<void>;
}

/**
 * The contract of every Store implementation, as node:test tests. Run it once per
 * implementation (test/integration/store-sqlite.test.ts, later PostgreSQL): a behaviour
 * that is not pinned here is not part of the contract.
 *
 * @example
 * storeConformance('SqliteStore', async () => ({ store: new SqliteStore(file), ... }));
 */
export function storeConformance(name: string, make: () => Promise<StoreUnderTest>): void {
  /** Runs `fn` on a fresh migrated store; closes every instance and cleans up after. */
  async function withStore(fn: (store: Store, sut: StoreUnderTest, opened: Store[]) => Promise<void>): Promise<void> {
    const sut = await make();
    const opened: Store[] = [sut.store];
    try {
      await sut.store.migrate();
      await fn(sut.store, sut, opened);
    } finally {
      for (const s of opened) await s.close();
      await sut.cleanup();
    }
  }

  describe(`Store conformance: ${name}`, () => {
    describe('schema', () => {
      test('migrate on a current schema is a no-op that keeps the data', () =>
        withStore(async (store) => {
          await register(store, 'ann');
          await store.appendRoomMessages(roomMessages('r', 1, 3));
          await store.migrate();
          await store.migrate();
          assert.equal((await store.getAccount('ann'))?.username, 'ann');
          assert.equal(await store.lastRoomSeq('r'), 3);
        }));
    });

    describe('accounts', () => {
      test('create, get back every field; unknown is null', () =>
        withStore(async (store) => {
          const ann = account('ann', { status: 'away', dnd: true, createdAt: 42 });
          assert.equal(await store.createAccount(ann), true);
          assert.deepEqual(await store.getAccount('ann'), ann);
          assert.equal(await store.getAccount('bob'), null);
        }));

      test('a taken username is refused and the first account kept; names are case-sensitive', () =>
        withStore(async (store) => {
          assert.equal(await store.createAccount(account('ann', { passwordHash: 'first' })), true);
          assert.equal(await store.createAccount(account('ann', { passwordHash: 'second' })), false);
          assert.equal((await store.getAccount('ann'))?.passwordHash, 'first');
          assert.equal(await store.createAccount(account('Ann')), true);
          assert.deepEqual((await store.listUsernames()).sort(), ['Ann', 'ann']);
        }));

      test('listUsernames is empty on a new store', () =>
        withStore(async (store) => assert.deepEqual(await store.listUsernames(), [])));

      test('status and dnd change and read back; on an unknown account they change nothing', () =>
        withStore(async (store) => {
          await register(store, 'ann');
          await store.setStatus('ann', 'out to lunch');
          await store.setDnd('ann', true);
          assert.deepEqual(await store.getAccount('ann'), account('ann', { status: 'out to lunch', dnd: true }));
          await store.setDnd('ann', false);
          await store.setStatus('ann', '');
          assert.deepEqual(await store.getAccount('ann'), account('ann'));
          await store.setStatus('ghost', 'x');
          await store.setDnd('ghost', true);
          assert.equal(await store.getAccount('ghost'), null);
          assert.deepEqual(await store.listUsernames(), ['ann']);
        }));
    });

    describe('tokens', () => {
      test('add, find, revoke; unknown tokens are null; revoking twice is fine', () =>
        withStore(async (store) => {
          await register(store, 'ann', 'bob');
          await store.addToken('h1', 'ann', 1);
          await store.addToken('h2', 'ann', 2);
          await store.addToken('h3', 'bob', 3);
          assert.equal(await store.findToken('h1'), 'ann');
          assert.equal(await store.findToken('h3'), 'bob');
          assert.equal(await store.findToken('nope'), null);
          await store.revokeToken('h1');
          await store.revokeToken('h1');
          await store.revokeToken('never-added');
          assert.equal(await store.findToken('h1'), null);
          assert.equal(await store.findToken('h2'), 'ann', 'other tokens of the user stay valid');
        }));

      test('a token for an unknown account is refused', () =>
        withStore(async (store) => {
          await rejectsWith(store.addToken('h1', 'ghost', 1), 'STORE_UNKNOWN_ACCOUNT');
          assert.equal(await store.findToken('h1'), null);
        }));
    });

    describe('rooms', () => {
      test('save, list, save again replaces, delete; deleting an unknown room is fine', () =>
        withStore(async (store) => {
          await register(store, 'ann', 'bob');
          await store.saveRoom({ roomid: 'den', owner: 'ann', createdAt: 1 });
          await store.saveRoom({ roomid: 'attic', owner: 'bob', createdAt: 2 });
          const byId = async () => (await store.listRooms()).sort((a, b) => a.roomid.localeCompare(b.roomid));
          assert.deepEqual(await byId(), [
            { roomid: 'attic', owner: 'bob', createdAt: 2 },
            { roomid: 'den', owner: 'ann', createdAt: 1 },
          ]);
          await store.saveRoom({ roomid: 'den', owner: 'bob', createdAt: 3 });
          await store.deleteRoom('attic');
          await store.deleteRoom('attic');
          await store.deleteRoom('never-saved');
          assert.deepEqual(await byId(), [{ roomid: 'den', owner: 'bob', createdAt: 3 }]);
        }));

      test('the owner must be an account', () =>
        withStore(async (store) => {
          await rejectsWith(store.saveRoom({ roomid: 'den', owner: 'ghost', createdAt: 1 }), 'STORE_UNKNOWN_ACCOUNT');
          assert.deepEqual(await store.listRooms(), []);
        }));

      test('deleting a room keeps its history, so its seqs are never reused', () =>
        withStore(async (store) => {
          await register(store, 'ann');
          await store.saveRoom({ roomid: 'den', owner: 'ann', createdAt: 1 });
          await store.appendRoomMessages(roomMessages('den', 1, 2));
          await store.deleteRoom('den');
          assert.equal(await store.lastRoomSeq('den'), 2);
        }));
    });

    describe('room history', () => {
      test('append and read back every field; lastRoomSeq per room, 0 when none', () =>
        withStore(async (store) => {
          const odd = roomMessage('den', 1, { identity: 'Zoë', content: 'héllo 👋 "quoted" \n'.repeat(500), ts: 7 });
          await store.appendRoomMessages([odd, roomMessage('den', 2), roomMessage('hall', 1)]);
          assert.deepEqual(await store.getRoomMessage(odd.id), odd);
          assert.equal(await store.getRoomMessage('nope'), null);
          assert.equal(await store.lastRoomSeq('den'), 2);
          assert.equal(await store.lastRoomSeq('hall'), 1);
          assert.equal(await store.lastRoomSeq('empty'), 0);
          assert.deepEqual(await store.lastRoomSeqs(), new Map([['den', 2], ['hall', 1]]));
        }));

      test('lastRoomSeqs is empty on a new store; an empty batch stores nothing', () =>
        withStore(async (store) => {
          await store.appendRoomMessages([]);
          assert.deepEqual(await store.lastRoomSeqs(), new Map());
        }));

      test('a batch with a duplicate (roomid, seq) inside it fails as a whole', () =>
        withStore(async (store) => {
          const batch = [roomMessage('den', 1), roomMessage('den', 2), roomMessage('den', 2, { id: 'other' })];
          await rejectsWith(store.appendRoomMessages(batch), 'STORE_CONFLICT');
          assert.equal(await store.lastRoomSeq('den'), 0);
          assert.equal(await store.getRoomMessage('den#1'), null);
          assert.deepEqual(await store.roomSince('den', 0, 10), []);
        }));

      test('a batch that collides with a stored seq or id fails as a whole', () =>
        withStore(async (store) => {
          await store.appendRoomMessages(roomMessages('den', 1, 2));
          await rejectsWith(store.appendRoomMessages([roomMessage('hall', 1), roomMessage('den', 2, { id: 'x' })]), 'STORE_CONFLICT');
          await rejectsWith(store.appendRoomMessages([roomMessage('hall', 1), roomMessage('hall', 2, { id: 'den#1' })]), 'STORE_CONFLICT');
          assert.equal(await store.lastRoomSeq('hall'), 0);
          assert.equal(await store.getRoomMessage('hall#1'), null);
          assert.deepEqual(seqs(await store.roomSince('den', 0, 10)), [1, 2]);
        }));

      test('roomHistory pages backwards from the newest, each page oldest first', () =>
        withStore(async (store) => {
          await store.appendRoomMessages(roomMessages('den', 1, 10));
          await store.appendRoomMessages(roomMessages('hall', 1, 20));
          assert.deepEqual(seqs(await store.roomHistory('den', null, 3)), [8, 9, 10]);
          assert.deepEqual(seqs(await store.roomHistory('den', 8, 3)), [5, 6, 7]);
          assert.deepEqual(seqs(await store.roomHistory('den', 3, 10)), [1, 2]);
          assert.deepEqual(seqs(await store.roomHistory('den', 1, 10)), []);
          assert.deepEqual(seqs(await store.roomHistory('den', null, 100)), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
          assert.deepEqual(await store.roomHistory('den', null, 0), []);
          assert.deepEqual(await store.roomHistory('nowhere', null, 5), []);
          assert.ok((await store.roomHistory('den', null, 100)).every((m) => m.roomid === 'den'));
        }));

      test('roomSince returns what follows a seq, oldest first, up to the limit', () =>
        withStore(async (store) => {
          await store.appendRoomMessages(roomMessages('den', 1, 10));
          await store.appendRoomMessages(roomMessages('hall', 1, 5));
          assert.deepEqual(seqs(await store.roomSince('den', 0, 3)), [1, 2, 3]);
          assert.deepEqual(seqs(await store.roomSince('den', 8, 5)), [9, 10]);
          assert.deepEqual(await store.roomSince('den', 10, 5), []);
          assert.deepEqual(await store.roomSince('den', 0, 0), []);
          assert.deepEqual(ids(await store.roomSince('hall', 3, 5)), ['hall#4', 'hall#5']);
        }));

      test('recall blanks the content and sets recalled wherever it is read; unknown id is false', () =>
        withStore(async (store) => {
          await store.appendRoomMessages(roomMessages('den', 1, 3));
          assert.equal(await store.recallRoomMessage('den#2'), true);
          assert.equal(await store.recallRoomMessage('den#2'), true, 'recalling again still finds it');
          assert.equal(await store.recallRoomMessage('nope'), false);
          const blank = { ...roomMessage('den', 2), content: '', recalled: true };
          assert.deepEqual(await store.getRoomMessage('den#2'), blank);
          assert.deepEqual((await store.roomHistory('den', null, 10))[1], blank);
          assert.deepEqual((await store.roomSince('den', 1, 1))[0], blank);
          assert.deepEqual(await store.getRoomMessage('den#1'), roomMessage('den', 1), 'neighbours untouched');
        }));
    });

    describe('direct messages and inbox', () => {
      test('a DM not queued is stored but not in any inbox', () =>
        withStore(async (store) => {
          await register(store, 'ann', 'bob');
          const dm = directMessage('d1', 'ann', 'bob', 10);
          assert.equal(await store.appendDirectMessage(dm, false), null);
          assert.deepEqual(await store.getDirectMessage('d1'), dm);
          assert.equal(await store.getDirectMessage('nope'), null);
          assert.deepEqual(await store.pendingInbox('bob', 0, 10), []);
        }));

      test('queued DMs get increasing seqs per recipient and come out oldest first', () =>
        withStore(async (store) => {
          await register(store, 'ann', 'bob', 'cat');
          const s1 = await store.appendDirectMessage(directMessage('d1', 'ann', 'bob', 10), true);
          const s2 = await store.appendDirectMessage(directMessage('d2', 'cat', 'bob', 11), true);
          const sc = await store.appendDirectMessage(directMessage('d3', 'bob', 'cat', 12), true);
          const s3 = await store.appendDirectMessage(directMessage('d4', 'ann', 'bob', 13), true);
          assert.ok(s1 !== null && s2 !== null && s3 !== null && sc !== null);
          assert.ok(s1 < s2 && s2 < s3, `${s1} < ${s2} < ${s3}`);
          const inbox = await store.pendingInbox('bob', 0, 10);
          assert.deepEqual(seqs(inbox), [s1, s2, s3]);
          assert.deepEqual(inbox[0]!.message, directMessage('d1', 'ann', 'bob', 10));
          assert.deepEqual(ids((await store.pendingInbox('bob', 0, 2)).map((e) => e.message)), ['d1', 'd2']);
          assert.deepEqual(ids((await store.pendingInbox('bob', s1, 10)).map((e) => e.message)), ['d2', 'd4']);
          assert.deepEqual(ids((await store.pendingInbox('cat', 0, 10)).map((e) => e.message)), ['d3']);
          assert.deepEqual(await store.pendingInbox('ann', 0, 10), []);
          assert.deepEqual(await store.pendingInbox('bob', 0, 0), []);
        }));

      test('ack removes entries up to and including the seq; seqs are never handed out again', () =>
        withStore(async (store) => {
          await register(store, 'ann', 'bob');
          const s1 = (await store.appendDirectMessage(directMessage('d1', 'ann', 'bob', 1), true))!;
          const s2 = (await store.appendDirectMessage(directMessage('d2', 'ann', 'bob', 2), true))!;
          const s3 = (await store.appendDirectMessage(directMessage('d3', 'ann', 'bob', 3), true))!;
          await store.ackInbox('bob', s2);
          assert.deepEqual(seqs(await store.pendingInbox('bob', 0, 10)), [s3]);
          await store.ackInbox('bob', s1);
          await store.ackInbox('bob', s3);
          assert.deepEqual(await store.pendingInbox('bob', 0, 10), []);
          const s4 = (await store.appendDirectMessage(directMessage('d4', 'ann', 'bob', 4), true))!;
          assert.ok(s4 > s3, `${s4} > ${s3}`);
          assert.deepEqual(seqs(await store.pendingInbox('bob', s3, 10)), [s4]);
          assert.equal((await store.directHistory('ann', 'bob', null, 10)).length, 4, 'acked DMs stay in history');
        }));

      test('DMs to or from an unknown account are refused and leave nothing behind', () =>
        withStore(async (store) => {
          await register(store, 'ann');
          await rejectsWith(store.appendDirectMessage(directMessage('d1', 'ann', 'ghost', 1), true), 'STORE_UNKNOWN_ACCOUNT');
          await rejectsWith(store.appendDirectMessage(directMessage('d2', 'ghost', 'ann', 1), false), 'STORE_UNKNOWN_ACCOUNT');
          assert.equal(await store.getDirectMessage('d1'), null);
          assert.equal(await store.getDirectMessage('d2'), null);
        }));

      test('a DM with a used id fails as a whole: no second inbox entry', () =>
        withStore(async (store) => {
          await register(store, 'ann', 'bob');
          await store.appendDirectMessage(directMessage('d1', 'ann', 'bob', 1), true);
          await rejectsWith(store.appendDirectMessage(directMessage('d1', 'ann', 'bob', 2), true), 'STORE_CONFLICT');
          assert.equal((await store.pendingInbox('bob', 0, 10)).length, 1);
          assert.equal((await store.getDirectMessage('d1'))?.ts, 1);
        }));

      test('directHistory is the same conversation from either side, paged back by ts, oldest first', () =>
        withStore(async (store) => {
          await register(store, 'ann', 'bob', 'cat');
          await store.appendDirectMessage(directMessage('d1', 'ann', 'bob', 10), false);
          await store.appendDirectMessage(directMessage('d2', 'bob', 'ann', 20), true);
          await store.appendDirectMessage(directMessage('x1', 'ann', 'cat', 25), false);
          await store.appendDirectMessage(directMessage('d3', 'ann', 'bob', 30), false);
          await store.appendDirectMessage(directMessage('d4', 'bob', 'ann', 40), false);
          const all = await store.directHistory('ann', 'bob', null, 10);
          assert.deepEqual(ids(all), ['d1', 'd2', 'd3', 'd4']);
          assert.deepEqual(await store.directHistory('bob', 'ann', null, 10), all);
          assert.deepEqual(all[1], directMessage('d2', 'bob', 'ann', 20));
          assert.deepEqual(ids(await store.directHistory('ann', 'bob', null, 2)), ['d3', 'd4']);
          assert.deepEqual(ids(await store.directHistory('bob', 'ann', 30, 10)), ['d1', 'd2']);
          assert.deepEqual(ids(await store.directHistory('ann', 'bob', 10, 10)), []);
          assert.deepEqual(await store.directHistory('ann', 'bob', null, 0), []);
          assert.deepEqual(ids(await store.directHistory('cat', 'ann', null, 10)), ['x1']);
          assert.deepEqual(await store.directHistory('bob', 'cat', null, 10), []);
        }));

      test('DMs of the same millisecond keep the order they were stored in', () =>
        withStore(async (store) => {
          await register(store, 'ann', 'bob');
          for (const id of ['z', 'a', 'm']) await store.appendDirectMessage(directMessage(id, 'ann', 'bob', 5), false);
          assert.deepEqual(ids(await store.directHistory('bob', 'ann', null, 10)), ['z', 'a', 'm']);
          assert.deepEqual(ids(await store.directHistory('bob', 'ann', null, 2)), ['a', 'm']);
        }));

      test('recall blanks a DM in getDirectMessage, history and inbox; unknown id is false', () =>
        withStore(async (store) => {
          await register(store, 'ann', 'bob');
          await store.appendDirectMessage(directMessage('d1', 'ann', 'bob', 1), true);
          assert.equal(await store.recallDirectMessage('d1'), true);
          assert.equal(await store.recallDirectMessage('nope'), false);
          const blank = { ...directMessage('d1', 'ann', 'bob', 1), content: '', recalled: true };
          assert.deepEqual(await store.getDirectMessage('d1'), blank);
          assert.deepEqual(await store.directHistory('ann', 'bob', null, 1), [blank]);
          assert.deepEqual((await store.pendingInbox('bob', 0, 1))[0]?.message, blank);
        }));
    });

    describe('blocking', () => {
      test('block and unblock are idempotent and one-way', () =>
        withStore(async (store) => {
          await register(store, 'ann', 'bob');
          await store.block('ann', 'bob');
          await store.block('ann', 'bob');
          await store.block('ann', 'guest7');
          assert.deepEqual((await store.blockedBy('ann')).sort(), ['bob', 'guest7']);
          assert.deepEqual(await store.blockedBy('bob'), []);
          await store.unblock('ann', 'bob');
          await store.unblock('ann', 'bob');
          await store.unblock('bob', 'ann');
          assert.deepEqual(await store.blockedBy('ann'), ['guest7']);
        }));

      test('the blocker must be an account', () =>
        withStore(async (store) => {
          await rejectsWith(store.block('ghost', 'ann'), 'STORE_UNKNOWN_ACCOUNT');
          assert.deepEqual(await store.blockedBy('ghost'), []);
        }));
    });

    describe('lifecycle', () => {
      test('data survives close and reopen', () =>
        withStore(async (store, sut, opened) => {
          await populate(store);
          const before = await snapshot(store);
          await store.close();
          const again = await sut.reopen();
          opened.push(again);
          await again.migrate();
          assert.deepEqual(await snapshot(again), before);
        }));

      test('a store already at the current schema can be used without migrate(); a new one cannot', async () => {
        const sut = await make();
        const opened: Store[] = [sut.store];
        try {
          await rejectsWith(sut.store.getAccount('ann'), 'STORE_NOT_OPEN');
          await sut.store.migrate();
          await populate(sut.store);
          const before = await snapshot(sut.store);
          await sut.store.close();
          const again = await sut.reopen();
          opened.push(again);
          assert.deepEqual(await snapshot(again), before);
        } finally {
          for (const s of opened) await s.close();
          await sut.cleanup();
        }
      });

      test('close is idempotent; a closed store rejects with STORE_NOT_OPEN', () =>
        withStore(async (store) => {
          await store.close();
          await store.close();
          await rejectsWith(store.getAccount('ann'), 'STORE_NOT_OPEN');
          await rejectsWith(store.appendRoomMessages([roomMessage('den', 1)]), 'STORE_NOT_OPEN');
        }));

      test('backup writes a store that a new instance opens with the same data', () =>
        withStore(async (store, sut, opened) => {
          await populate(store);
          const before = await snapshot(store);
          const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sb-store-backup-'));
          try {
            const file = path.join(dir, 'copy.db');
            await store.backup(file);
            await store.appendRoomMessages([roomMessage('den', 4)]);
            const copy = await sut.openBackup(file);
            opened.push(copy);
            await copy.migrate();
            assert.deepEqual(await snapshot(copy), before, 'the copy is the store as of the backup');
            assert.equal(await store.lastRoomSeq('den'), 4, 'the original goes on');
          } finally {
            fs.rmSync(dir, { recursive: true, force: true });
          }
        }));
    });
  });
}

/** A bit of everything, for the lifecycle tests. */
async function populate(store: Store): Promise<void> {
  await register(store, 'ann', 'bob');
  await store.setStatus('ann', 'here');
  await store.setDnd('bob', true);
  await store.addToken('tok', 'ann', 5);
  await store.saveRoom({ roomid: 'den', owner: 'ann', createdAt: 6 });
  await store.appendRoomMessages(roomMessages('den', 1, 3));
  await store.appendRoomMessages(roomMessages('MainHall', 1, 2));
  await store.recallRoomMessage('den#2');
  await store.appendDirectMessage(directMessage('d1', 'ann', 'bob', 7), true);
  await store.appendDirectMessage(directMessage('d2', 'bob', 'ann', 8), false);
  await store.block('bob', 'guest3');
}

/** Everything `populate` wrote, read back through the interface. */
async function snapshot(store: Store) {
  return {
    usernames: (await store.listUsernames()).sort(),
    ann: await store.getAccount('ann'),
    bob: await store.getAccount('bob'),
    token: await store.findToken('tok'),
    rooms: await store.listRooms(),
    seqs: await store.lastRoomSeqs(),
    den: await store.roomHistory('den', null, 100),
    hall: await store.roomSince('MainHall', 0, 100),
    inbox: await store.pendingInbox('bob', 0, 100),
    dms: await store.directHistory('ann', 'bob', null, 100),
    blocks: await store.blockedBy('bob'),
  };
}
