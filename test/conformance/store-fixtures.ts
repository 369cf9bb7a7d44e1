import assert from 'node:assert/strict';
import { isStoreError, type StoreErrorCode } from '../../src/store/errors';
import type { Account, DirectMessage, RoomMessage, Store } from '../../src/store/store';

/** The harness, builders and assertions shared by the Store conformance suite. */

/**
 * One Store under test, made fresh (empty, not yet migrated) for each test.
 * `reopen` and `openBackup` return further instances, also not yet migrated; the suite
 * migrates and closes every instance it gets, then calls `cleanup`.
 */
export interface StoreUnderTest {
  store: Store;
  /** A new instance on the same data. Called after `store.close()`. */
  reopen(): Promise<Store>;
  /**
   * A new instance on the data of the backup that `store.backup(file)` wrote to `file`.
   * Absent: the implementation writes no backup files (its database has backup tools of its
   * own), and `backup` must refuse with STORE_UNSUPPORTED.
   */
  openBackup?: (file: string) => Promise<Store>;
  cleanup(): Promise<void>;
}

/**
 * Runs `fn` on a fresh store of the implementation under test, migrated; closes every
 * instance pushed on `opened` (and the first), then cleans up.
 */
export type WithStore = (fn: (store: Store, sut: StoreUnderTest, opened: Store[]) => Promise<void>) => Promise<void>;

export function account(username: string, extra: Partial<Account> = {}): Account {
  return { username, passwordHash: `kdf$${username}`, createdAt: 1_700_000_000_000, status: '', dnd: false, ...extra };
}

export function roomMessage(roomid: string, seq: number, extra: Partial<RoomMessage> = {}): RoomMessage {
  return {
    id: `${roomid}#${seq}`,
    roomid,
    seq,
    identity: 'ann',
    sender: null,
    content: `message ${seq} in ${roomid}`,
    ts: 1_700_000_000_000 + seq,
    recalled: false,
    ...extra,
  };
}

/** Messages seq from..to (inclusive) of one room. */
export function roomMessages(roomid: string, from: number, to: number): RoomMessage[] {
  const out: RoomMessage[] = [];
  for (let seq = from; seq <= to; seq++) out.push(roomMessage(roomid, seq));
  return out;
}

export function directMessage(id: string, from: string, to: string, ts: number, extra: Partial<DirectMessage> = {}): DirectMessage {
  return { id, from, to, content: `${id}: ${from} to ${to}`, ts, recalled: false, ...extra };
}

/** Creates the accounts (all must be new). */
export async function register(store: Store, ...usernames: string[]): Promise<void> {
  for (const u of usernames) assert.equal(await store.createAccount(account(u)), true, `create ${u}`);
}

export function seqs(messages: Array<{ seq: number }>): number[] {
  return messages.map((m) => m.seq);
}

export function ids(messages: Array<{ id: string }>): string[] {
  return messages.map((m) => m.id);
}

/** Asserts the promise rejects with a StoreError of `code` (never a driver error). */
export async function rejectsWith(promise: Promise<unknown>, code: StoreErrorCode): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(isStoreError(err), `expected a StoreError, got ${String(err)}`);
    assert.equal(err.code, code);
    return true;
  });
}
