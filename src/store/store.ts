import type { ContactStore } from './contact-store';
import type { Attachment } from '../protocol/messages';
export type { Attachment };

/**
 * The persistence interface of Switchboard. The embedded default is SQLite (better-sqlite3,
 * WAL) under the data dir; a PostgreSQL implementation follows behind the same conformance
 * suite (test/conformance/store.ts). So: every method is async, callers never see SQL,
 * rows or driver errors, and nothing relies on SQLite-only semantics (e.g. rowid order):
 * order is always by an explicit column (room `seq`, inbox `seq`).
 *
 * One node's hub is the only writer of its messages and sequences: it assigns `seq` itself
 * (starting from `lastRoomSeq` at boot) and hands whole batches to `appendRoomMessages`, so a
 * transaction per batch, not per message. Its messages are stored unlabelled: their epoch is
 * the room's in `roomEpochs`, and a new epoch deletes them.
 *
 * A cluster's nodes all write one shared store, each what its replica applies, and may run
 * behind one another: their messages are stored under their epoch (`RoomMessage.epoch`), read
 * by epoch, and deleted by epoch (`deleteEpochHistory`), so no write of a slow node can delete
 * or show a newer room's messages (docs/CLUSTER.md, "PostgreSQL in a cluster").
 */

export interface Account {
  username: string;
  /** Encoded KDF output with its parameters and salt (see src/auth); opaque to the store. */
  passwordHash: string;
  createdAt: number;
  /** Free-text status line ("out to lunch"), '' when none. */
  status: string;
  /** Do-not-disturb: DMs are stored as offline instead of pushed live. */
  dnd: boolean;
}

/** A room message as stored and as broadcast. */
export interface RoomMessage {
  /** Unique across the store (the hub makes it). */
  id: string;
  roomid: string;
  /** Per room and epoch, 1, 2, 3, ... with no gaps. */
  seq: number;
  /** The sender's identity when it was sent. */
  identity: string;
  /**
   * The account that sent it (its username), or null for a guest: who may recall it as its
   * sender. Read back always set; a writer that leaves it out stores null.
   */
  sender?: string | null;
  content: string;
  /** Milliseconds since the epoch. */
  ts: number;
  /** True once recalled: content is then '' wherever it is read back. */
  recalled: boolean;
  /**
   * Written only (never set when read back: a reader names the epoch it reads). Given, the
   * message is stored under this epoch of its room, beside any other epoch's messages (a
   * cluster's writers); left out, it is stored unlabelled: the room's current epoch of a single
   * writer, whatever `roomEpochs` names (renewing an epoch keeps them).
   */
  epoch?: string;
  /** The file it carries (docs/PROTOCOL.md, "Files and attachments"); null or absent: none. Dropped by a recall. */
  attachment?: Attachment | null;
}

/** A direct message between two registered users. */
export interface DirectMessage {
  id: string;
  from: string;
  to: string;
  content: string;
  ts: number;
  recalled: boolean;
  /** The file it carries; null or absent: none. Dropped by a recall. */
  attachment?: Attachment | null;
}

/** A DM waiting in its recipient's inbox, in the order it was sent. */
export interface InboxEntry {
  /** Per recipient, increasing. */
  seq: number;
  message: DirectMessage;
}

/** A page of a DM conversation (see `Store.directHistory`). */
export interface DirectHistoryPage {
  /** Oldest first. */
  messages: DirectMessage[];
  /**
   * Where the next (older) page starts: pass it as `beforeCursor`. Null when there is nothing
   * older. Opaque to callers: unique per DM and in the conversation's order, so pages never
   * skip or repeat a DM, however many share a millisecond.
   */
  next: number | null;
}

/** Bounds on one account's offline inbox (`maxInboxMessages`, `maxInboxBytes`). */
export interface InboxLimits {
  /** Entries waiting at most. */
  messages: number;
  /** Total UTF-8 bytes of the waiting entries' content at most. */
  bytes: number;
}

/** What waits in one account's inbox: entries and the UTF-8 bytes of their content. */
export interface InboxSize {
  messages: number;
  bytes: number;
}

export interface PersistentRoom {
  roomid: string;
  /** A registered username. */
  owner: string;
  createdAt: number;
}

/** Who may enter a stored room besides its owner and administrators. */
export interface RoomRules {
  private: boolean;
  /** Invited names, sorted. */
  invited: string[];
  /** Sorted by name; `until` is ms since the epoch, 0 for "until lifted". */
  bans: Array<{ identity: string; by: string; reason: string; until: number }>;
}

/** One epoch of a room's stored messages (`Store.storedEpochs`). */
export interface StoredEpoch {
  /** The label the messages are stored under; '' for unlabelled ones (one node's). */
  epoch: string;
  messages: number;
  /** The newest message's `ts` (ms since the epoch). */
  lastTs: number;
}

export interface Store extends ContactStore {
  /** Creates or upgrades the schema (versioned migrations, applied in order, once each). */
  migrate(): Promise<void>;
  close(): Promise<void>;

  // Accounts ---------------------------------------------------------------------------
  /**
   * False when the username is taken, in any case (`Alice` and `alice` are one name, as
   * identities are; ASCII case folding).
   */
  createAccount(account: Account): Promise<boolean>;
  /**
   * The account named `username` in any case, under its stored spelling. Stores that held
   * names differing only by case before names were folded keep them all: the exact spelling
   * is then preferred, else the first in code-point order.
   */
  getAccount(username: string): Promise<Account | null>;
  /** Every registered username (the hub reserves them as identities at boot). */
  listUsernames(): Promise<string[]>;
  setStatus(username: string, status: string): Promise<void>;
  setDnd(username: string, dnd: boolean): Promise<void>;

  // Login tokens: only a hash of each token is stored ----------------------------------
  addToken(tokenHash: string, username: string, createdAt: number): Promise<void>;
  /** The username the token belongs to, or null (unknown or revoked). */
  findToken(tokenHash: string): Promise<string | null>;
  revokeToken(tokenHash: string): Promise<void>;

  // Rooms owned by registered users (they outlive their owner's connection) -------------
  saveRoom(room: PersistentRoom): Promise<void>;
  deleteRoom(roomid: string): Promise<void>;
  listRooms(): Promise<PersistentRoom[]>;
  /** Replaces a stored room's rules as a whole (the room must be saved: else STORE_UNKNOWN_ROOM). */
  saveRoomRules(roomid: string, rules: RoomRules): Promise<void>;
  /** The rules of every stored room that has any; deleting a room deletes its rules. */
  listRoomRules(): Promise<Map<string, RoomRules>>;

  // Server administrators granted with `switchboard admin grant` ----------------------
  /** The account must exist (else STORE_UNKNOWN_ACCOUNT); granting twice is a no-op. */
  grantAdmin(username: string, grantedAt: number): Promise<void>;
  /** False when the account was not an administrator. */
  revokeAdmin(username: string): Promise<boolean>;
  isAdmin(username: string): Promise<boolean>;
  listAdmins(): Promise<string[]>;

  // Room history -----------------------------------------------------------------------
  /**
   * Stores a batch atomically (one transaction): all or none. Idempotent by (roomid, epoch,
   * seq) (`epoch` unset: unlabelled), a requirement of every implementation: a message whose
   * key is already held by the same message (same id) is skipped, so a batch written twice
   * (several cluster nodes writing what each applies, or a redelivery) stores each message once
   * and keeps any recall made since, whichever writer comes first, at once or not.
   * A key held by a different message, or an id stored under another key, is STORE_CONFLICT.
   */
  appendRoomMessages(messages: RoomMessage[]): Promise<void>;
  /** Highest stored seq of the room (unlabelled messages), 0 when none. */
  lastRoomSeq(roomid: string): Promise<number>;
  /** Highest stored seq (unlabelled messages) of every room that has some (one node's sequencer starts from these). */
  lastRoomSeqs(): Promise<Map<string, number>>;
  /**
   * Up to `limit` messages with seq < `beforeSeq` (or the newest when null), oldest first.
   * `epoch`: the messages stored under that epoch; omitted, the unlabelled ones.
   */
  roomHistory(roomid: string, beforeSeq: number | null, limit: number, epoch?: string): Promise<RoomMessage[]>;
  /** Up to `limit` messages with seq > `afterSeq`, oldest first; `epoch` as in roomHistory. */
  roomSince(roomid: string, afterSeq: number, limit: number, epoch?: string): Promise<RoomMessage[]>;
  getRoomMessage(id: string): Promise<RoomMessage | null>;
  /**
   * The current epoch of every room that has one: an opaque string naming the room's sequence
   * (see docs/PROTOCOL.md, "Epochs"). A room's unlabelled messages are all of its current epoch.
   */
  roomEpochs(): Promise<Map<string, string>>;
  /**
   * Sets the room's epoch. With `restart` the room's stored messages (of every epoch) are deleted in the same
   * transaction: its sequence starts again at 1 (a new room under an old name).
   */
  setRoomEpoch(roomid: string, epoch: string, restart: boolean): Promise<void>;
  /** Deletes the room's messages (of every epoch) and its epoch, in one transaction: the room is gone. */
  deleteRoomHistory(roomid: string): Promise<void>;
  /**
   * Deletes the room's messages stored under `epoch`, and nothing else: an epoch that is over
   * (its room gone or made anew). Idempotent; a writer running behind the others can never
   * delete a newer epoch's messages with it.
   */
  deleteEpochHistory(roomid: string, epoch: string): Promise<void>;
  /**
   * The epochs the room's stored messages are under, oldest first (by their newest message's
   * `ts`, then label); empty when it has none. A cluster's store holds one per room, its current
   * one, but for an ended epoch a node running behind writes again for a while (or whose deletion
   * failed on every node): `switchboard export` reads this, as the store keeps no current epoch
   * for a cluster's rooms (their epochs are the log's).
   */
  storedEpochs(roomid: string): Promise<StoredEpoch[]>;
  /** Marks recalled and blanks the content; false when no such message. */
  recallRoomMessage(id: string): Promise<boolean>;

  // Direct messages and offline delivery -------------------------------------------------
  /**
   * Stores the DM; when `queueForRecipient` it is also put in the recipient's inbox (to be
   * delivered at their next login) and the entry's seq is returned, else null. With `limits`,
   * a DM that would take the recipient's inbox over either bound is refused as a whole
   * (STORE_INBOX_FULL: not stored at all); the check and the insert are one transaction.
   */
  appendDirectMessage(message: DirectMessage, queueForRecipient: boolean, limits?: InboxLimits): Promise<number | null>;
  /** How many entries (and content bytes) wait in the inbox of `username`; zeros when none. */
  inboxSize(username: string): Promise<InboxSize>;
  /** Undelivered inbox entries of `username` with seq > `afterSeq`, oldest first, at most `limit`. */
  pendingInbox(username: string, afterSeq: number, limit: number): Promise<InboxEntry[]>;
  /** Removes inbox entries up to and including `uptoSeq`: the client has them. */
  ackInbox(username: string, uptoSeq: number): Promise<void>;
  /**
   * DMs between the two users, the newest `limit` before a point, oldest first. The point is
   * `beforeCursor` (a `next` of an earlier page) when given, else `beforeTs` (ms; null: the
   * newest). Order: by `ts`, then by the order stored. An unknown cursor gives an empty page.
   */
  directHistory(userA: string, userB: string, beforeTs: number | null, limit: number, beforeCursor?: number | null): Promise<DirectHistoryPage>;
  getDirectMessage(id: string): Promise<DirectMessage | null>;
  recallDirectMessage(id: string): Promise<boolean>;

  // Blocking (the blocked name compares in any case) ----------------------------------
  /** Blocking a name already blocked in another case changes nothing. */
  block(username: string, blocked: string): Promise<void>;
  unblock(username: string, blocked: string): Promise<void>;
  /** Who `username` has blocked. */
  blockedBy(username: string): Promise<string[]>;

  // Operations -------------------------------------------------------------------------
  /**
   * A consistent online copy of the whole store to `file`, while writes go on. An
   * implementation whose database has backup tools of its own (PostgreSQL: pg_dump) refuses
   * with STORE_UNSUPPORTED and a message naming them.
   */
  backup(file: string): Promise<void>;

  // Files (docs/PROTOCOL.md, "Files and attachments"; the bytes are in the blob store) -----
  /** The stored file of that id, or null. */
  getFile(id: string): Promise<StoredFile | null>;
  /**
   * Records that `upload.username` uploaded `file` as `upload.name` (the file row is added when
   * new; an upload of the same file by the same account replaces its name and time). Refused
   * (false, nothing written) when the account's uploads, this one counted once, would pass
   * `quotaBytes`. The check and the writes are one transaction.
   */
  recordUpload(file: StoredFile, upload: FileUpload, quotaBytes: number): Promise<boolean>;
  /** Bytes of the account's uploads (each file counted once): what its quota counts. */
  uploadedBytes(username: string): Promise<number>;
  /** The account's upload of that file, or null. */
  getUpload(username: string, fileId: string): Promise<FileUpload | null>;
  /**
   * Who may see the file besides its uploaders: `direct` when `username` uploaded it or sent or
   * received a DM (not recalled) carrying it; `rooms`: the rooms (at most `maxRooms`) whose
   * stored, not recalled, messages carry it (readable by whoever may read that room's history).
   */
  fileAudience(username: string, fileId: string, maxRooms: number): Promise<{ direct: boolean; rooms: string[] }>;
  /**
   * The sweep: forgets uploads made before `uploadedBefore` that no live message of their
   * uploader carries, then deletes (at most `limit`) file rows that no upload and no live
   * message keeps, returning their ids (whose bytes the caller deletes).
   */
  sweepFiles(uploadedBefore: number, limit: number): Promise<string[]>;
}

/** A stored file's record (the bytes are in the blob store, under `id`). */
export interface StoredFile {
  /** Hex SHA-256 of the bytes. */
  id: string;
  /** Bytes. */
  size: number;
  /** MIME type sniffed from the bytes. */
  type: string;
  /** A thumbnail is stored beside the bytes. */
  thumbnail: boolean;
}

/** One account's upload of one file. */
export interface FileUpload {
  username: string;
  fileId: string;
  /** The file name the uploader gave. */
  name: string;
  /** Milliseconds since the epoch. */
  uploadedAt: number;
}
