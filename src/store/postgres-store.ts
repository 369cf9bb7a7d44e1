import { DatabaseError, type Pool, type PoolClient, type QueryResult, type QueryResultRow } from 'pg';
import type { AddContactResult, ContactProfile } from './contact-store';
import { StoreError } from './errors';
import { CONTACT_SQL, addContactPg, searchUsernamesPg } from './postgres-contacts';
import { LATEST_POSTGRES_VERSION } from './migrations/postgres';
import { holdConnection, openPool, redactUrl, toStoreError } from './postgres-connection';
import { currentPostgresVersion, migratePostgres } from './postgres-migrate';
import { SQL, type AccountRow, type DirectMessageRow, type InboxRow, type RoomMessageRow, type RoomRow } from './postgres-statements';
import type { Account, DirectHistoryPage, DirectMessage, FileUpload, InboxEntry, InboxLimits, InboxSize, PersistentRoom, RoomMessage, RoomRules, Store, StoredEpoch, StoredFile } from './store';
import { encodeAttachment, withAttachment } from './attachment-column';
import { FILE_SQL, toStoredFile, type FileRow } from './postgres-files';

/** Bound for "no upper bound" in `seq < $n` / `ts < $n`: one statement serves both cases. */
const NO_BOUND = Number.MAX_SAFE_INTEGER;

/** The epoch column of a single writer's messages: the room's current epoch, whatever it is named. */
const UNLABELLED = '';

/**
 * The Store on PostgreSQL (node-postgres, a pool of connections), for several Switchboard
 * nodes sharing one database. Same contract as SqliteStore (test/conformance/store.ts), and
 * safe with several writers, which SQLite never has:
 * - `migrate()` runs under an advisory lock: nodes starting at once apply each migration once.
 * - A DM queued for an inbox locks the recipient's account row, then checks the inbox limits,
 *   then inserts: two nodes filling one inbox take turns, so neither can pass the cap on a
 *   count the other is about to change. Inbox seqs come from a counter column on that row.
 * - `appendRoomMessages` is idempotent by (roomid, epoch, seq): a batch written by several
 *   nodes (each cluster node writes what it applies), at once or not, stores each message
 *   once; a different message under a stored key, or an id under another key, is still
 *   STORE_CONFLICT. A cluster's messages are read and deleted by epoch, so a node running
 *   behind never deletes or shows a newer epoch's.
 * - `backup(file)` is refused with STORE_UNSUPPORTED: a PostgreSQL database is backed up with
 *   PostgreSQL's own tools (pg_dump, pg_basebackup, continuous archiving; see README).
 *
 * @example
 * const store = new PostgresStore('postgres://switchboard@db.internal:5432/switchboard');
 * await store.migrate();
 * await store.appendRoomMessages([{ id: 'm1', roomid: 'MainHall', seq: 1, identity: 'ann',
 *   content: 'hi', ts: Date.now(), recalled: false }]);
 * await store.close();
 */
export class PostgresStore implements Store {
  private readonly pool: Pool;
  private closed = false;
  /** The schema is known to be current: set by migrate(), or by the first check of it. */
  private current = false;

  /** Connects lazily: nothing reaches the server before the first method call. */
  constructor(readonly url: string) {
    this.pool = openPool(url);
  }

  /** The URL without its password, for messages and logs. */
  get description(): string {
    return redactUrl(this.url);
  }

  async migrate(): Promise<void> {
    this.open();
    await migratePostgres(this.pool);
    this.current = true;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }

  // Accounts ---------------------------------------------------------------------------

  async createAccount(a: Account): Promise<boolean> {
    const res = await this.query(SQL.createAccount, [a.username, a.passwordHash, a.createdAt, a.status, a.dnd]);
    return res.rowCount === 1;
  }

  async getAccount(username: string): Promise<Account | null> {
    const row = (await this.query<AccountRow>(SQL.getAccount, [username])).rows[0];
    return row ? toAccount(row) : null;
  }

  async listUsernames(): Promise<string[]> {
    return (await this.query<{ username: string }>(SQL.listUsernames)).rows.map((r) => r.username);
  }

  async setStatus(username: string, status: string): Promise<void> {
    await this.query(SQL.setStatus, [username, status]);
  }

  async setDnd(username: string, dnd: boolean): Promise<void> {
    await this.query(SQL.setDnd, [username, dnd]);
  }

  // Login tokens -------------------------------------------------------------------------

  async addToken(tokenHash: string, username: string, createdAt: number): Promise<void> {
    await this.query(SQL.addToken, [tokenHash, username, createdAt]);
  }

  async findToken(tokenHash: string): Promise<string | null> {
    return (await this.query<{ username: string }>(SQL.findToken, [tokenHash])).rows[0]?.username ?? null;
  }

  async revokeToken(tokenHash: string): Promise<void> {
    await this.query(SQL.revokeToken, [tokenHash]);
  }

  // Rooms --------------------------------------------------------------------------------

  async saveRoom(room: PersistentRoom): Promise<void> {
    await this.query(SQL.saveRoom, [room.roomid, room.owner, room.createdAt]);
  }

  async deleteRoom(roomid: string): Promise<void> {
    await this.query(SQL.deleteRoom, [roomid]);
  }

  async listRooms(): Promise<PersistentRoom[]> {
    return (await this.query<RoomRow>(SQL.listRooms)).rows.map(toRoom);
  }

  async saveRoomRules(roomid: string, rules: RoomRules): Promise<void> {
    await this.transaction(async (c) => {
      if ((await c.query(SQL.lockRoom, [roomid])).rowCount === 0) throw new StoreError('STORE_UNKNOWN_ROOM', `no stored room ${roomid}`);
      await c.query(SQL.saveRoomPrivacy, [roomid, rules.private]);
      await c.query(SQL.clearRoomInvites, [roomid]);
      await c.query(SQL.clearRoomBans, [roomid]);
      if (rules.invited.length > 0) await c.query(SQL.insertRoomInvites, [roomid, rules.invited]);
      if (rules.bans.length > 0) {
        const b = rules.bans;
        await c.query(SQL.insertRoomBans, [roomid, b.map((x) => x.identity), b.map((x) => x.by), b.map((x) => x.reason), b.map((x) => x.until)]);
      }
    });
  }

  async listRoomRules(): Promise<Map<string, RoomRules>> {
    // One snapshot for the three reads: another node may change rules in between.
    return this.transaction(async (c) => {
      const out = new Map<string, RoomRules>();
      const of = (roomid: string): RoomRules => {
        let rules = out.get(roomid);
        if (!rules) out.set(roomid, (rules = { private: false, invited: [], bans: [] }));
        return rules;
      };
      for (const r of (await c.query<{ roomid: string; private: boolean }>(SQL.listRoomPrivacy)).rows) of(r.roomid).private = r.private;
      for (const r of (await c.query<{ roomid: string; name: string }>(SQL.listRoomInvites)).rows) of(r.roomid).invited.push(r.name);
      const bans = await c.query<{ roomid: string; name: string; banned_by: string; reason: string; until: number }>(SQL.listRoomBans);
      for (const r of bans.rows) of(r.roomid).bans.push({ identity: r.name, by: r.banned_by, reason: r.reason, until: r.until });
      return out;
    }, 'REPEATABLE READ READ ONLY');
  }

  // Administrators -----------------------------------------------------------------------

  async grantAdmin(username: string, grantedAt: number): Promise<void> {
    await this.query(SQL.grantAdmin, [username, grantedAt]);
  }

  async revokeAdmin(username: string): Promise<boolean> {
    return (await this.query(SQL.revokeAdmin, [username])).rowCount === 1;
  }

  async isAdmin(username: string): Promise<boolean> {
    return (await this.query(SQL.isAdmin, [username])).rowCount! > 0;
  }

  async listAdmins(): Promise<string[]> {
    return (await this.query<{ username: string }>(SQL.listAdmins)).rows.map((r) => r.username);
  }

  // Room history -------------------------------------------------------------------------

  async appendRoomMessages(messages: RoomMessage[]): Promise<void> {
    this.open();
    if (messages.length === 0) return;
    const roomids = messages.map((m) => m.roomid);
    const epochs = messages.map((m) => m.epoch ?? UNLABELLED);
    const seqs = messages.map((m) => m.seq);
    const ids = messages.map((m) => m.id);
    await this.transaction(async (c) => {
      await c.query(SQL.insertRoomMessages, [
        roomids,
        epochs,
        seqs,
        ids,
        messages.map((m) => m.identity),
        messages.map((m) => m.sender ?? null),
        messages.map((m) => (m.recalled ? '' : m.content)),
        messages.map((m) => m.ts),
        messages.map((m) => m.recalled),
        messages.map((m) => (m.recalled ? null : (m.attachment?.id ?? null))),
        messages.map((m) => (m.recalled ? null : encodeAttachment(m.attachment))),
      ]);
      const clash = (await c.query<{ n: number }>(SQL.checkRoomMessages, [roomids, epochs, seqs, ids])).rows[0]!.n;
      if (clash > 0) throw new StoreError('STORE_CONFLICT', `${clash} message(s) of the batch take a (roomid, seq) or an id held by another message`);
    });
  }

  async lastRoomSeq(roomid: string): Promise<number> {
    return (await this.query<{ seq: number | null }>(SQL.lastRoomSeq, [roomid])).rows[0]?.seq ?? 0;
  }

  async lastRoomSeqs(): Promise<Map<string, number>> {
    return new Map((await this.query<{ roomid: string; seq: number }>(SQL.lastRoomSeqs)).rows.map((r) => [r.roomid, r.seq]));
  }

  async roomHistory(roomid: string, beforeSeq: number | null, limit: number, epoch = UNLABELLED): Promise<RoomMessage[]> {
    const n = rowLimit(limit);
    if (n === 0) return this.none();
    return (await this.query<RoomMessageRow>(SQL.roomHistory, [roomid, beforeSeq ?? NO_BOUND, n, epoch])).rows.reverse().map(toRoomMessage);
  }

  async roomSince(roomid: string, afterSeq: number, limit: number, epoch = UNLABELLED): Promise<RoomMessage[]> {
    const n = rowLimit(limit);
    if (n === 0) return this.none();
    return (await this.query<RoomMessageRow>(SQL.roomSince, [roomid, afterSeq, n, epoch])).rows.map(toRoomMessage);
  }

  async getRoomMessage(id: string): Promise<RoomMessage | null> {
    const row = (await this.query<RoomMessageRow>(SQL.getRoomMessage, [id])).rows[0];
    return row ? toRoomMessage(row) : null;
  }

  async recallRoomMessage(id: string): Promise<boolean> {
    return (await this.query(SQL.recallRoomMessage, [id])).rowCount! > 0;
  }

  async roomEpochs(): Promise<Map<string, string>> {
    return new Map((await this.query<{ roomid: string; epoch: string }>(SQL.roomEpochs)).rows.map((r) => [r.roomid, r.epoch]));
  }

  async setRoomEpoch(roomid: string, epoch: string, restart: boolean): Promise<void> {
    await this.transaction(async (c) => {
      if (restart) await c.query(SQL.deleteRoomMessages, [roomid]);
      await c.query(SQL.setRoomEpoch, [roomid, epoch]);
    });
  }

  async deleteRoomHistory(roomid: string): Promise<void> {
    await this.transaction(async (c) => {
      await c.query(SQL.deleteRoomMessages, [roomid]);
      await c.query(SQL.deleteRoomEpoch, [roomid]);
    });
  }

  async deleteEpochHistory(roomid: string, epoch: string): Promise<void> {
    await this.query(SQL.deleteEpochMessages, [roomid, epoch]);
  }

  async storedEpochs(roomid: string): Promise<StoredEpoch[]> {
    const rows = (await this.query<{ epoch: string; messages: number; last_ts: number }>(SQL.storedEpochs, [roomid])).rows;
    return rows.map((r) => ({ epoch: r.epoch, messages: r.messages, lastTs: r.last_ts }));
  }

  // Direct messages and offline delivery -------------------------------------------------

  async appendDirectMessage(m: DirectMessage, queueForRecipient: boolean, limits?: InboxLimits): Promise<number | null> {
    const content = m.recalled ? '' : m.content;
    return this.transaction(async (c) => {
      if (queueForRecipient) {
        await c.query(SQL.lockAccount, [m.to]);
        if (limits) {
          const size = (await c.query<{ messages: number; bytes: number }>(SQL.inboxSize, [m.to])).rows[0]!;
          if (size.messages + 1 > limits.messages || size.bytes + Buffer.byteLength(content, 'utf8') > limits.bytes) {
            throw new StoreError('STORE_INBOX_FULL', `the inbox of ${m.to} is full`);
          }
        }
      }
      const file = m.recalled ? null : (m.attachment ?? null);
      await c.query(SQL.insertDirectMessage, [m.id, pairKey(m.from, m.to), m.from, m.to, content, m.ts, m.recalled, file?.id ?? null, encodeAttachment(file)]);
      if (!queueForRecipient) return null;
      // The recipient exists: the insert above checked its foreign key.
      const seq = (await c.query<{ seq: number }>(SQL.nextInboxSeq, [m.to])).rows[0]!.seq;
      await c.query(SQL.insertInbox, [m.to, seq, m.id]);
      return seq;
    });
  }

  async inboxSize(username: string): Promise<InboxSize> {
    const row = (await this.query<{ messages: number; bytes: number }>(SQL.inboxSize, [username])).rows[0];
    return { messages: row?.messages ?? 0, bytes: row?.bytes ?? 0 };
  }

  async pendingInbox(username: string, afterSeq: number, limit: number): Promise<InboxEntry[]> {
    const n = rowLimit(limit);
    if (n === 0) return this.none();
    return (await this.query<InboxRow>(SQL.pendingInbox, [username, afterSeq, n])).rows.map((row) => ({ seq: row.seq, message: toDirectMessage(row) }));
  }

  async ackInbox(username: string, uptoSeq: number): Promise<void> {
    await this.query(SQL.ackInbox, [username, uptoSeq]);
  }

  async directHistory(userA: string, userB: string, beforeTs: number | null, limit: number, beforeCursor: number | null = null): Promise<DirectHistoryPage> {
    const n = rowLimit(limit);
    if (n === 0) return { messages: await this.none(), next: null };
    const pair = pairKey(userA, userB);
    // (ts, n) < (beforeTs, 0) is ts < beforeTs: every n is at least 1.
    let bound: [number, number] = [beforeTs ?? NO_BOUND, beforeTs === null ? NO_BOUND : 0];
    if (beforeCursor !== null) {
      const at = (await this.query<{ ts: number }>(SQL.directCursor, [beforeCursor, pair])).rows[0];
      if (!at) return { messages: [], next: null };
      bound = [at.ts, beforeCursor];
    }
    // One row more than asked says whether an older page exists.
    const rows = (await this.query<DirectMessageRow & { n: number }>(SQL.directHistory, [pair, bound[0], bound[1], n + 1])).rows;
    const more = rows.length > n;
    const page = more ? rows.slice(0, n) : rows;
    return { messages: page.reverse().map(toDirectMessage), next: more ? page[0]!.n : null };
  }

  async getDirectMessage(id: string): Promise<DirectMessage | null> {
    const row = (await this.query<DirectMessageRow>(SQL.getDirectMessage, [id])).rows[0];
    return row ? toDirectMessage(row) : null;
  }

  async recallDirectMessage(id: string): Promise<boolean> {
    return (await this.query(SQL.recallDirectMessage, [id])).rowCount! > 0;
  }

  // Blocking -----------------------------------------------------------------------------

  async block(username: string, blocked: string): Promise<void> {
    await this.query(SQL.block, [username, blocked]);
  }

  async unblock(username: string, blocked: string): Promise<void> {
    await this.query(SQL.unblock, [username, blocked]);
  }

  async blockedBy(username: string): Promise<string[]> {
    return (await this.query<{ blocked: string }>(SQL.blockedBy, [username])).rows.map((r) => r.blocked);
  }

  // Operations ---------------------------------------------------------------------------

  /**
   * Refused with STORE_UNSUPPORTED. A file copy taken through this connection would be a
   * weaker, slower pg_dump; PostgreSQL's own tools (pg_dump for a consistent logical copy,
   * pg_basebackup and WAL archiving for point-in-time recovery, a standby) are the way.
   */
  async backup(file: string): Promise<void> {
    this.open();
    throw new StoreError(
      'STORE_UNSUPPORTED',
      `not writing ${file}: a PostgreSQL store (${this.description}) is backed up with PostgreSQL's own tools, e.g. pg_dump (see README, "PostgreSQL")`,
    );
  }

  // Contacts (src/store/contact-store.ts) ---------------------------------------------

  async addContact(username: string, contact: string, max: number, at: number): Promise<AddContactResult> {
    return this.transaction((c) => addContactPg((text, values) => c.query(text, values), username, contact, max, at));
  }

  async removeContact(username: string, contact: string): Promise<boolean> {
    return ((await this.query(CONTACT_SQL.remove, [username, contact])).rowCount ?? 0) > 0;
  }

  async contactsOf(username: string): Promise<string[]> {
    return (await this.query<{ contact: string }>(CONTACT_SQL.list, [username])).rows.map((r) => r.contact);
  }

  async watchersOf(username: string): Promise<string[]> {
    return (await this.query<{ username: string }>(CONTACT_SQL.watchers, [username])).rows.map((r) => r.username);
  }

  async blockersOf(username: string): Promise<string[]> {
    return (await this.query<{ username: string }>(CONTACT_SQL.blockers, [username])).rows.map((r) => r.username);
  }

  async contactProfiles(username: string): Promise<ContactProfile[]> {
    return (await this.query<ContactProfile>(CONTACT_SQL.profiles, [username])).rows.map((r) => ({ username: r.username, status: r.status, dnd: r.dnd }));
  }

  async searchUsernames(prefix: string, limit: number): Promise<string[]> {
    return searchUsernamesPg((text, values) => this.query(text, values), prefix, limit);
  }

  // Files (src/store/postgres-files.ts) -------------------------------------------------

  async getFile(id: string): Promise<StoredFile | null> {
    const row = (await this.query<FileRow>(FILE_SQL.getFile, [id])).rows[0];
    return row ? toStoredFile(row) : null;
  }

  async recordUpload(file: StoredFile, upload: FileUpload, quotaBytes: number): Promise<boolean> {
    return this.transaction(async (c) => {
      // The account's row lock: two uploads of one account check its quota one after the other.
      await c.query(SQL.lockAccount, [upload.username]);
      const used = Number((await c.query<{ bytes: string }>(FILE_SQL.usedExcept, [upload.username, file.id])).rows[0]!.bytes);
      if (used + file.size > quotaBytes) return false;
      await c.query(FILE_SQL.insertFile, [file.id, file.size, file.type, file.thumbnail]);
      await c.query(FILE_SQL.upsertUpload, [upload.username, file.id, upload.name, upload.uploadedAt]);
      return true;
    });
  }

  async uploadedBytes(username: string): Promise<number> {
    return Number((await this.query<{ bytes: string }>(FILE_SQL.usedExcept, [username, ''])).rows[0]!.bytes);
  }

  async getUpload(username: string, fileId: string): Promise<FileUpload | null> {
    const row = (await this.query<{ username: string; file_id: string; name: string; uploaded_at: number }>(FILE_SQL.getUpload, [username, fileId])).rows[0];
    return row ? { username: row.username, fileId: row.file_id, name: row.name, uploadedAt: Number(row.uploaded_at) } : null;
  }

  async fileAudience(username: string, fileId: string, maxRooms: number): Promise<{ direct: boolean; rooms: string[] }> {
    const direct = (await this.query(FILE_SQL.directAudience, [fileId, username])).rows.length > 0;
    if (direct) return { direct, rooms: [] };
    const rooms = (await this.query<{ roomid: string }>(FILE_SQL.rooms, [fileId, rowLimit(maxRooms)])).rows.map((r) => r.roomid);
    return { direct, rooms };
  }

  async sweepFiles(uploadedBefore: number, limit: number): Promise<string[]> {
    return this.transaction(async (c) => {
      await c.query(FILE_SQL.lapseUploads, [uploadedBefore]);
      return (await c.query<{ id: string }>(FILE_SQL.deleteUnkept, [rowLimit(limit)])).rows.map((r) => r.id);
    });
  }

  // Internals ----------------------------------------------------------------------------

  private open(): void {
    if (this.closed) throw new StoreError('STORE_NOT_OPEN', `store ${this.description} is closed`);
  }

  /** Open and at the current schema, else STORE_NOT_OPEN; checked once per instance. */
  private async ready(): Promise<void> {
    this.open();
    if (this.current) return;
    const version = await currentPostgresVersion(this.pool);
    if (version !== LATEST_POSTGRES_VERSION) {
      throw new StoreError('STORE_NOT_OPEN', `store ${this.description} is at schema version ${version}, not ${LATEST_POSTGRES_VERSION}: call migrate() first`);
    }
    this.current = true;
  }

  /** An empty result, still refusing a closed or unmigrated store as every method does. */
  private async none<T>(): Promise<T[]> {
    await this.ready();
    return [];
  }

  private async query<R extends QueryResultRow = QueryResultRow>(text: string, values: unknown[] = []): Promise<QueryResult<R>> {
    await this.ready();
    try {
      return await this.pool.query<R>(text, values);
    } catch (err) {
      throw toStoreError(err);
    }
  }

  /**
   * Runs `fn` in one transaction on one connection: committed when it resolves, rolled back
   * when it throws. A connection that failed (not a statement) is discarded, not pooled.
   */
  private async transaction<T>(fn: (c: PoolClient) => Promise<T>, mode = 'READ COMMITTED'): Promise<T> {
    await this.ready();
    const held = await holdConnection(this.pool);
    const client = held.client;
    let broken: Error | undefined;
    try {
      await client.query(`BEGIN ISOLATION LEVEL ${mode}`);
      try {
        const result = await fn(client);
        await client.query('COMMIT');
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch((e: Error) => (broken = e));
        throw err;
      }
    } catch (err) {
      const mapped = toStoreError(err);
      // A statement's error leaves the session usable; a broken connection must not be pooled.
      if (mapped.code === 'STORE_UNAVAILABLE' || mapped.code === 'STORE_UNREACHABLE' || !(err instanceof DatabaseError || err instanceof StoreError)) broken = mapped;
      throw mapped;
    } finally {
      held.release(broken);
    }
  }
}

/**
 * One key for the conversation between two users whichever way a DM goes, as SqliteStore
 * writes it: JSON of the ordered pair (code-point order), unambiguous for any characters.
 */
function pairKey(a: string, b: string): string {
  return JSON.stringify(a < b ? [a, b] : [b, a]);
}

/** PostgreSQL refuses a negative LIMIT: clamp so a bad caller gets nothing, as in SqliteStore. */
function rowLimit(limit: number): number {
  return Number.isFinite(limit) && limit > 0 ? Math.floor(limit) : 0;
}

function toAccount(r: AccountRow): Account {
  return { username: r.username, passwordHash: r.password_hash, createdAt: r.created_at, status: r.status, dnd: r.dnd };
}

function toRoom(r: RoomRow): PersistentRoom {
  return { roomid: r.roomid, owner: r.owner, createdAt: r.created_at };
}

function toRoomMessage(r: RoomMessageRow): RoomMessage {
  return { id: r.id, roomid: r.roomid, seq: r.seq, identity: r.identity, sender: r.sender, content: r.content, ts: r.ts, recalled: r.recalled, ...withAttachment(r.attachment) };
}

function toDirectMessage(r: DirectMessageRow): DirectMessage {
  return { id: r.id, from: r.sender, to: r.recipient, content: r.content, ts: r.ts, recalled: r.recalled, ...withAttachment(r.attachment) };
}
