import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import type { Store } from '../../src/store/store';
import { accountTests } from './store-accounts';
import { contactTests } from './store-contacts';
import { epochTests } from './store-epochs';
import { fileTests } from './store-files';
import { directMessage, register, rejectsWith, roomMessage, roomMessages, type StoreUnderTest, type WithStore } from './store-fixtures';
import { messageTests } from './store-messages';
import { pagingTests } from './store-paging';

export type { StoreUnderTest } from './store-fixtures';

/**
 * The contract of every Store implementation, as node:test tests. Run it once per
 * implementation (test/integration/store-sqlite.test.ts, later PostgreSQL): a behaviour
 * that is not pinned here is not part of the contract.
 *
 * @example
 * storeConformance('SqliteStore', async () => ({ store: new SqliteStore(file), ... }));
 */
export function storeConformance(name: string, make: () => Promise<StoreUnderTest>): void {
  const withStore: WithStore = async (fn) => {
    const sut = await make();
    const opened: Store[] = [sut.store];
    try {
      await sut.store.migrate();
      await fn(sut.store, sut, opened);
    } finally {
      for (const s of opened) await s.close();
      await sut.cleanup();
    }
  };

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

    accountTests(withStore);
    messageTests(withStore);
    pagingTests(withStore);
    epochTests(withStore);
    fileTests(withStore);
    contactTests(withStore);

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

      test('backup writes a store that a new instance opens with the same data (or is refused as unsupported)', () =>
        withStore(async (store, sut, opened) => {
          await populate(store);
          const before = await snapshot(store);
          const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sb-store-backup-'));
          try {
            const file = path.join(dir, 'copy.db');
            if (!sut.openBackup) {
              await rejectsWith(store.backup(file), 'STORE_UNSUPPORTED');
              assert.deepEqual(fs.readdirSync(dir), [], 'no file written');
              assert.deepEqual(await snapshot(store), before, 'the store goes on');
              return;
            }
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
  await store.setRoomEpoch('den', 'e-den', false);
  await store.appendRoomMessages(roomMessages('den', 1, 3));
  await store.appendRoomMessages(roomMessages('MainHall', 1, 2));
  await store.recallRoomMessage('den#2');
  await store.appendDirectMessage(directMessage('d1', 'ann', 'bob', 7), true);
  await store.appendDirectMessage(directMessage('d2', 'bob', 'ann', 8), false);
  await store.block('bob', 'guest3');
  await store.saveRoomRules('den', { private: true, invited: ['bob'], bans: [{ identity: 'guest9', by: 'ann', reason: 'spam', until: 0 }] });
  await store.grantAdmin('ann', 9);
}

/** Everything `populate` wrote, read back through the interface. */
async function snapshot(store: Store) {
  return {
    usernames: (await store.listUsernames()).sort(),
    ann: await store.getAccount('ann'),
    bob: await store.getAccount('bob'),
    token: await store.findToken('tok'),
    rooms: await store.listRooms(),
    rules: await store.listRoomRules(),
    admins: await store.listAdmins(),
    seqs: await store.lastRoomSeqs(),
    epochs: await store.roomEpochs(),
    den: await store.roomHistory('den', null, 100),
    hall: await store.roomSince('MainHall', 0, 100),
    inbox: await store.pendingInbox('bob', 0, 100),
    dms: await store.directHistory('ann', 'bob', null, 100),
    blocks: await store.blockedBy('bob'),
  };
}
