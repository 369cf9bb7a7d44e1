import type { Database, Transaction } from 'better-sqlite3';
import { StoreError } from './errors';
import { LATEST_SQLITE_VERSION, appliedSqliteVersions, migrateSqlite } from './migrations/sqlite';
import type { AddContactResult, ContactProfile } from './contact-store';
import { writeSqliteBackup } from './sqlite-backup';
import { SqliteContacts } from './sqlite-contacts';
import { openSqlite, translateSqlite } from './sqlite-connection';
import { encodeAttachment, withAttachment } from './attachment-column';
import { SqliteFiles } from './sqlite-files';
import {
  prepareStatements,
  type AccountRow,
  type DirectMessageRow,
  type RoomMessageRow,
  type RoomRow,
  type SqliteStatements,
} from './sqlite-statements';
import type { Account, DirectHistoryPage, DirectMessage, FileUpload, InboxEntry, InboxLimits, InboxSize, PersistentRoom, RoomMessage, RoomRules, Store, StoredEpoch, StoredFile } from './store';

/** Bound for "no upper bound" in `seq < ?` / `ts < ?`: one statement serves both cases. */
const NO_BOUND = Number.MAX_SAFE_INTEGER;

/** The epoch column of a single writer's messages: the room's current epoch, whatever it is named. */
const UNLABELLED = '';

/**
 * The embedded Store: one SQLite file (WAL) through better-sqlite3.
 *
 * better-sqlite3 is synchronous: every method does its work before returning its (already
 * settled) promise. That is the point: a batch of a thousand messages commits in a few ms,
 * far less than a thread hop would cost, and the hub stays the only writer.
 *
 * Semantics worth knowing (pinned by test/conformance/store.ts):
 * - `deleteRoom` removes the ownership record only; the room's history goes with
 *   `deleteRoomHistory` or a restarting `setRoomEpoch` (the hub decides when a room is new),
 *   so a seq is always read together with the room's epoch.
 * - Owners, DM senders and recipients, token holders and blockers must be existing accounts
 *   (else STORE_UNKNOWN_ACCOUNT); the blocked name may be any identity.
 * - `setStatus` / `setDnd` on an unknown account change nothing.
 *
 * @example
 * const store = new SqliteStore('/var/lib/switchboard/switchboard.db');
 * await store.migrate();
 * await store.appendRoomMessages([{ id: 'm1', roomid: 'MainHall', seq: 1, identity: 'ann',
 *   content: 'hi', ts: Date.now(), recalled: false }]);
 * await store.close();
 */
export class SqliteStore implements Store {
  private readonly db: Database;
  private statements: SqliteStatements | null = null;
  private contactStatements: SqliteContacts | null = null;
  private appendRoomTx: Transaction<(messages: RoomMessage[]) => void> | null = null;
  private saveRulesTx: Transaction<(roomid: string, rules: RoomRules) => void> | null = null;
  private appendDmTx: Transaction<(message: DirectMessage, queue: boolean, limits: InboxLimits | undefined) => number | null> | null = null;
  private setEpochTx: Transaction<(roomid: string, epoch: string | null, restart: boolean) => void> | null = null;

  /**
   * Opens (creating if needed) the file; its directory must exist. A new or older store
   * needs `migrate()` first; one already at this build's schema can be used right away
   * (tools such as export and backup open the live store without migrating it).
   */
  constructor(readonly file: string) {
    this.db = openSqlite(file);
  }

  async migrate(): Promise<void> {
    translateSqlite(() => {
      migrateSqlite(this.db);
      if (!this.statements) this.prepare();
    });
  }

  async close(): Promise<void> {
    if (!this.db.open) return;
    try {
      // Lets SQLite refresh planner statistics the session showed it needs; cheap when none.
      // Best effort: a failure here (e.g. busy) must not keep the connection open.
      this.db.pragma('optimize');
    } catch {
      // ignored: closing is what matters
    }
    translateSqlite(() => this.db.close());
  }

  // Accounts ---------------------------------------------------------------------------

  async createAccount(a: Account): Promise<boolean> {
    const q = this.q();
    return this.guard(() => q.createAccount.run(a.username, a.passwordHash, a.createdAt, a.status, a.dnd ? 1 : 0).changes === 1);
  }

  async getAccount(username: string): Promise<Account | null> {
    const q = this.q();
    const row = this.guard(() => q.getAccount.get(username, username));
    return row ? toAccount(row) : null;
  }

  async listUsernames(): Promise<string[]> {
    const q = this.q();
    return this.guard(() => q.listUsernames.all()).map((r) => r.username);
  }

  async setStatus(username: string, status: string): Promise<void> {
    const q = this.q();
    this.guard(() => q.setStatus.run(status, username));
  }

  async setDnd(username: string, dnd: boolean): Promise<void> {
    const q = this.q();
    this.guard(() => q.setDnd.run(dnd ? 1 : 0, username));
  }

  // Login tokens -------------------------------------------------------------------------

  async addToken(tokenHash: string, username: string, createdAt: number): Promise<void> {
    const q = this.q();
    this.guard(() => q.addToken.run(tokenHash, username, createdAt));
  }

  async findToken(tokenHash: string): Promise<string | null> {
    const q = this.q();
    return this.guard(() => q.findToken.get(tokenHash))?.username ?? null;
  }

  async revokeToken(tokenHash: string): Promise<void> {
    const q = this.q();
    this.guard(() => q.revokeToken.run(tokenHash));
  }

  // Rooms --------------------------------------------------------------------------------

  async saveRoom(room: PersistentRoom): Promise<void> {
    const q = this.q();
    this.guard(() => q.saveRoom.run(room.roomid, room.owner, room.createdAt));
  }

  async deleteRoom(roomid: string): Promise<void> {
    const q = this.q();
    this.guard(() => q.deleteRoom.run(roomid));
  }

  async listRooms(): Promise<PersistentRoom[]> {
    const q = this.q();
    return this.guard(() => q.listRooms.all()).map(toRoom);
  }

  async saveRoomRules(roomid: string, rules: RoomRules): Promise<void> {
    this.q();
    this.guard(() => this.saveRulesTx!.immediate(roomid, rules));
  }

  async listRoomRules(): Promise<Map<string, RoomRules>> {
    const q = this.q();
    return this.guard(() => {
      const out = new Map<string, RoomRules>();
      const of = (roomid: string): RoomRules => {
        let rules = out.get(roomid);
        if (!rules) out.set(roomid, (rules = { private: false, invited: [], bans: [] }));
        return rules;
      };
      for (const r of q.listRoomPrivacy.all()) of(r.roomid).private = r.private === 1;
      for (const r of q.listRoomInvites.all()) of(r.roomid).invited.push(r.name);
      for (const r of q.listRoomBans.all()) of(r.roomid).bans.push({ identity: r.name, by: r.banned_by, reason: r.reason, until: r.until });
      return out;
    });
  }

  // Administrators -----------------------------------------------------------------------

  async grantAdmin(username: string, grantedAt: number): Promise<void> {
    const q = this.q();
    this.guard(() => q.grantAdmin.run(username, grantedAt));
  }

  async revokeAdmin(username: string): Promise<boolean> {
    const q = this.q();
    return this.guard(() => q.revokeAdmin.run(username).changes === 1);
  }

  async isAdmin(username: string): Promise<boolean> {
    const q = this.q();
    return this.guard(() => q.isAdmin.get(username)) !== undefined;
  }

  async listAdmins(): Promise<string[]> {
    const q = this.q();
    return this.guard(() => q.listAdmins.all()).map((r) => r.username);
  }

  // Room history -------------------------------------------------------------------------

  async appendRoomMessages(messages: RoomMessage[]): Promise<void> {
    if (messages.length === 0) return;
    this.q();
    this.guard(() => this.appendRoomTx!.immediate(messages));
  }

  async lastRoomSeq(roomid: string): Promise<number> {
    const q = this.q();
    return this.guard(() => q.lastRoomSeq.get(roomid))?.seq ?? 0;
  }

  async lastRoomSeqs(): Promise<Map<string, number>> {
    const q = this.q();
    return new Map(this.guard(() => q.lastRoomSeqs.all()).map((r) => [r.roomid, r.seq]));
  }

  async roomHistory(roomid: string, beforeSeq: number | null, limit: number, epoch = UNLABELLED): Promise<RoomMessage[]> {
    const q = this.q();
    const n = rowLimit(limit);
    if (n === 0) return [];
    return this.guard(() => q.roomHistory.all(roomid, epoch, beforeSeq ?? NO_BOUND, n)).reverse().map(toRoomMessage);
  }

  async roomSince(roomid: string, afterSeq: number, limit: number, epoch = UNLABELLED): Promise<RoomMessage[]> {
    const q = this.q();
    const n = rowLimit(limit);
    if (n === 0) return [];
    return this.guard(() => q.roomSince.all(roomid, epoch, afterSeq, n)).map(toRoomMessage);
  }

  async getRoomMessage(id: string): Promise<RoomMessage | null> {
    const q = this.q();
    const row = this.guard(() => q.getRoomMessage.get(id));
    return row ? toRoomMessage(row) : null;
  }

  async recallRoomMessage(id: string): Promise<boolean> {
    const q = this.q();
    return this.guard(() => q.recallRoomMessage.run(id).changes > 0);
  }

  async roomEpochs(): Promise<Map<string, string>> {
    const q = this.q();
    return new Map(this.guard(() => q.roomEpochs.all()).map((r) => [r.roomid, r.epoch]));
  }

  async setRoomEpoch(roomid: string, epoch: string, restart: boolean): Promise<void> {
    this.q();
    this.guard(() => this.setEpochTx!.immediate(roomid, epoch, restart));
  }

  async deleteRoomHistory(roomid: string): Promise<void> {
    this.q();
    this.guard(() => this.setEpochTx!.immediate(roomid, null, true));
  }

  async deleteEpochHistory(roomid: string, epoch: string): Promise<void> {
    const q = this.q();
    this.guard(() => q.deleteEpochMessages.run(roomid, epoch));
  }

  async storedEpochs(roomid: string): Promise<StoredEpoch[]> {
    const q = this.q();
    return this.guard(() => q.storedEpochs.all(roomid)).map((r) => ({ epoch: r.epoch, messages: r.messages, lastTs: r.last_ts }));
  }

  // Direct messages and offline delivery -------------------------------------------------

  async appendDirectMessage(message: DirectMessage, queueForRecipient: boolean, limits?: InboxLimits): Promise<number | null> {
    this.q();
    return this.guard(() => this.appendDmTx!.immediate(message, queueForRecipient, limits));
  }

  async inboxSize(username: string): Promise<InboxSize> {
    const q = this.q();
    const row = this.guard(() => q.inboxSize.get(username));
    return { messages: row?.messages ?? 0, bytes: row?.bytes ?? 0 };
  }

  async pendingInbox(username: string, afterSeq: number, limit: number): Promise<InboxEntry[]> {
    const q = this.q();
    const n = rowLimit(limit);
    if (n === 0) return [];
    return this.guard(() => q.pendingInbox.all(username, afterSeq, n)).map((row) => ({
      seq: row.seq,
      message: toDirectMessage(row),
    }));
  }

  async ackInbox(username: string, uptoSeq: number): Promise<void> {
    const q = this.q();
    this.guard(() => q.ackInbox.run(username, uptoSeq));
  }

  async directHistory(userA: string, userB: string, beforeTs: number | null, limit: number, beforeCursor: number | null = null): Promise<DirectHistoryPage> {
    const q = this.q();
    const n = rowLimit(limit);
    if (n === 0) return { messages: [], next: null };
    const pair = pairKey(userA, userB);
    return this.guard(() => {
      // (ts, n) < (beforeTs, 0) is ts < beforeTs: every n is at least 1.
      let bound: [number, number] = [beforeTs ?? NO_BOUND, beforeTs === null ? NO_BOUND : 0];
      if (beforeCursor !== null) {
        const at = q.directCursor.get(beforeCursor, pair);
        if (!at) return { messages: [], next: null };
        bound = [at.ts, beforeCursor];
      }
      // One row more than asked says whether an older page exists.
      const rows = q.directHistory.all(pair, bound[0], bound[1], n + 1);
      const more = rows.length > n;
      const page = more ? rows.slice(0, n) : rows;
      return { messages: page.reverse().map(toDirectMessage), next: more ? page[0]!.n : null };
    });
  }

  async getDirectMessage(id: string): Promise<DirectMessage | null> {
    const q = this.q();
    const row = this.guard(() => q.getDirectMessage.get(id));
    return row ? toDirectMessage(row) : null;
  }

  async recallDirectMessage(id: string): Promise<boolean> {
    const q = this.q();
    return this.guard(() => q.recallDirectMessage.run(id).changes > 0);
  }

  // Blocking -----------------------------------------------------------------------------

  async block(username: string, blocked: string): Promise<void> {
    const q = this.q();
    this.guard(() => q.block.run(username, blocked, username, blocked));
  }

  async unblock(username: string, blocked: string): Promise<void> {
    const q = this.q();
    this.guard(() => q.unblock.run(username, blocked));
  }

  async blockedBy(username: string): Promise<string[]> {
    const q = this.q();
    return this.guard(() => q.blockedBy.all(username)).map((r) => r.blocked);
  }

  // Operations ---------------------------------------------------------------------------

  /** See writeSqliteBackup: `file` appears (atomically) only once the copy is complete. */
  async backup(file: string): Promise<void> {
    if (!this.db.open) throw new StoreError('STORE_NOT_OPEN', `store ${this.file} is closed`);
    await writeSqliteBackup(this.db, file);
  }

  // Files (src/store/sqlite-files.ts) ---------------------------------------------------

  async getFile(id: string): Promise<StoredFile | null> {
    return this.guard(() => this.files().getFile(id));
  }

  async recordUpload(file: StoredFile, upload: FileUpload, quotaBytes: number): Promise<boolean> {
    return this.guard(() => this.files().recordUpload(file, upload, quotaBytes));
  }

  async uploadedBytes(username: string): Promise<number> {
    return this.guard(() => this.files().uploadedBytes(username));
  }

  async getUpload(username: string, fileId: string): Promise<FileUpload | null> {
    return this.guard(() => this.files().getUpload(username, fileId));
  }

  async fileAudience(username: string, fileId: string, maxRooms: number): Promise<{ direct: boolean; rooms: string[] }> {
    return this.guard(() => this.files().audience(username, fileId, maxRooms));
  }

  async sweepFiles(uploadedBefore: number, limit: number): Promise<string[]> {
    return this.guard(() => this.files().sweep(uploadedBefore, limit));
  }

  // Internals ----------------------------------------------------------------------------

  private fileStatements: SqliteFiles | null = null;

  private files(): SqliteFiles {
    this.q();
    return (this.fileStatements ??= new SqliteFiles(this.db));
  }

  private prepare(): void {
    const q = prepareStatements(this.db);
    this.statements = q;
    this.appendRoomTx = this.db.transaction((messages: RoomMessage[]) => {
      for (const m of messages) {
        const epoch = m.epoch ?? UNLABELLED;
        const file = m.recalled ? null : (m.attachment ?? null);
        const { changes } = q.insertRoomMessage.run(m.roomid, epoch, m.seq, m.id, m.identity, m.sender ?? null, m.recalled ? '' : m.content, m.ts, m.recalled ? 1 : 0, file?.id ?? null, encodeAttachment(file));
        if (changes === 0 && q.roomMessageIdAt.get(m.roomid, epoch, m.seq)?.id !== m.id) {
          throw new StoreError('STORE_CONFLICT', `${m.roomid} seq ${m.seq} is held by another message`);
        }
      }
    });
    this.saveRulesTx = this.db.transaction((roomid: string, rules: RoomRules) => {
      if (!q.roomExists.get(roomid)) throw new StoreError('STORE_UNKNOWN_ROOM', `no stored room ${roomid}`);
      q.saveRoomPrivacy.run(roomid, rules.private ? 1 : 0);
      q.clearRoomInvites.run(roomid);
      q.clearRoomBans.run(roomid);
      for (const name of rules.invited) q.insertRoomInvite.run(roomid, name);
      for (const b of rules.bans) q.insertRoomBan.run(roomid, b.identity, b.by, b.reason, b.until);
    });
    this.setEpochTx = this.db.transaction((roomid: string, epoch: string | null, restart: boolean) => {
      if (restart) q.deleteRoomMessages.run(roomid);
      if (epoch === null) q.deleteRoomEpoch.run(roomid);
      else q.setRoomEpoch.run(roomid, epoch);
    });
    this.appendDmTx = this.db.transaction((m: DirectMessage, queue: boolean, limits: InboxLimits | undefined): number | null => {
      const content = m.recalled ? '' : m.content;
      if (queue && limits) {
        const size = q.inboxSize.get(m.to)!;
        if (size.messages + 1 > limits.messages || size.bytes + Buffer.byteLength(content, 'utf8') > limits.bytes) {
          throw new StoreError('STORE_INBOX_FULL', `the inbox of ${m.to} is full`);
        }
      }
      const file = m.recalled ? null : (m.attachment ?? null);
      q.insertDirectMessage.run(m.id, pairKey(m.from, m.to), m.from, m.to, content, m.ts, m.recalled ? 1 : 0, file?.id ?? null, encodeAttachment(file));
      if (!queue) return null;
      // The recipient exists: the insert above checked its foreign key.
      const { seq } = q.nextInboxSeq.get(m.to)!;
      q.insertInbox.run(m.to, seq, m.id);
      return seq;
    });
  }

  // Contacts (src/store/contact-store.ts) ---------------------------------------------

  async addContact(username: string, contact: string, max: number, at: number): Promise<AddContactResult> {
    const c = this.contacts();
    return this.guard(() => c.addContact(username, contact, max, at));
  }

  async removeContact(username: string, contact: string): Promise<boolean> {
    const c = this.contacts();
    return this.guard(() => c.removeContact(username, contact));
  }

  async contactsOf(username: string): Promise<string[]> {
    const c = this.contacts();
    return this.guard(() => c.contactsOf(username));
  }

  async watchersOf(username: string): Promise<string[]> {
    const c = this.contacts();
    return this.guard(() => c.watchersOf(username));
  }

  async searchUsernames(prefix: string, limit: number): Promise<string[]> {
    const c = this.contacts();
    return this.guard(() => c.searchUsernames(prefix, limit));
  }

  async blockersOf(username: string): Promise<string[]> {
    const c = this.contacts();
    return this.guard(() => c.blockersOf(username));
  }

  async contactProfiles(username: string): Promise<ContactProfile[]> {
    const c = this.contacts();
    return this.guard(() => c.contactProfiles(username));
  }

  private contacts(): SqliteContacts {
    this.q();
    return (this.contactStatements ??= translateSqlite(() => new SqliteContacts(this.db)));
  }

  /** The prepared statements; a clear error instead of a driver one when unusable. */
  private q(): SqliteStatements {
    if (!this.db.open) throw new StoreError('STORE_NOT_OPEN', `store ${this.file} is closed`);
    if (!this.statements) {
      const versions = translateSqlite(() => appliedSqliteVersions(this.db));
      if (versions[versions.length - 1] !== LATEST_SQLITE_VERSION) {
        throw new StoreError('STORE_NOT_OPEN', `store ${this.file} is not at the current schema: call migrate() first`);
      }
      translateSqlite(() => this.prepare());
    }
    return this.statements!;
  }

  /** Driver errors out as StoreErrors. */
  private guard<T>(fn: () => T): T {
    return translateSqlite(fn);
  }
}

/**
 * One key for the conversation between two users whichever way a DM goes. JSON of the
 * ordered pair is unambiguous for any characters in the names (a separator would not be).
 */
function pairKey(a: string, b: string): string {
  return JSON.stringify(a < b ? [a, b] : [b, a]);
}

/** SQLite reads a negative LIMIT as "no limit": clamp so a bad caller gets nothing, not all. */
function rowLimit(limit: number): number {
  return Number.isFinite(limit) && limit > 0 ? Math.floor(limit) : 0;
}

function toAccount(r: AccountRow): Account {
  return { username: r.username, passwordHash: r.password_hash, createdAt: r.created_at, status: r.status, dnd: r.dnd === 1 };
}

function toRoom(r: RoomRow): PersistentRoom {
  return { roomid: r.roomid, owner: r.owner, createdAt: r.created_at };
}

function toRoomMessage(r: RoomMessageRow): RoomMessage {
  return {
    id: r.id,
    roomid: r.roomid,
    seq: r.seq,
    identity: r.identity,
    sender: r.sender,
    content: r.content,
    ts: r.ts,
    recalled: r.recalled === 1,
    ...withAttachment(r.attachment),
  };
}

function toDirectMessage(r: DirectMessageRow): DirectMessage {
  return { id: r.id, from: r.sender, to: r.recipient, content: r.content, ts: r.ts, recalled: r.recalled === 1, ...withAttachment(r.attachment) };
}
