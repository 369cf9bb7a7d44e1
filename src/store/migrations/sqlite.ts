import type { Database } from 'better-sqlite3';
import { StoreError } from '../errors';

/**
 * Versioned schema of the SQLite store. Each migration runs once, in its own transaction,
 * together with the `schema_migrations` row that records it: a crash mid-migration leaves
 * the previous version intact. Never edit a migration that has shipped; append a new one.
 */
export interface SqliteMigration {
  /** 1, 2, 3, ... in array order. */
  readonly version: number;
  /** For humans reading `schema_migrations` or a failure message. */
  readonly name: string;
  readonly up: string;
}

/*
 * Design notes for migration 1:
 * - STRICT tables: a wrong type is an error, not silently stored (SQLite's default).
 * - Usernames use the default BINARY collation: case-sensitive, as identities are.
 * - room_messages is WITHOUT ROWID keyed by (roomid, seq): history and since are one range
 *   scan of the table itself, no second lookup.
 * - Room history has no foreign key to rooms: temporary rooms (MainHall, guests' rooms)
 *   have history too, and a deleted room's seq numbers are never reused.
 * - DMs carry `pair`, the two usernames in a fixed order, so one index serves both
 *   directions; `n` is an explicit insertion counter that orders DMs of the same ms.
 * - Inbox seqs come from accounts.last_inbox_seq, not max(seq)+1: acked entries are
 *   deleted, and a max() would hand out an acked seq again.
 */
export const SQLITE_MIGRATIONS: readonly SqliteMigration[] = [
  {
    version: 1,
    name: 'accounts, tokens, rooms, room history, direct messages, inbox, blocks',
    up: `
      CREATE TABLE accounts (
        username       TEXT    PRIMARY KEY,
        password_hash  TEXT    NOT NULL,
        created_at     INTEGER NOT NULL,
        status         TEXT    NOT NULL DEFAULT '',
        dnd            INTEGER NOT NULL DEFAULT 0 CHECK (dnd IN (0, 1)),
        last_inbox_seq INTEGER NOT NULL DEFAULT 0
      ) STRICT;

      CREATE TABLE tokens (
        token_hash TEXT    PRIMARY KEY,
        username   TEXT    NOT NULL REFERENCES accounts (username) ON DELETE CASCADE,
        created_at INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX tokens_by_username ON tokens (username);

      CREATE TABLE rooms (
        roomid     TEXT    PRIMARY KEY,
        owner      TEXT    NOT NULL REFERENCES accounts (username) ON DELETE CASCADE,
        created_at INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX rooms_by_owner ON rooms (owner);

      CREATE TABLE room_messages (
        roomid   TEXT    NOT NULL,
        seq      INTEGER NOT NULL,
        id       TEXT    NOT NULL UNIQUE,
        identity TEXT    NOT NULL,
        content  TEXT    NOT NULL,
        ts       INTEGER NOT NULL,
        recalled INTEGER NOT NULL DEFAULT 0 CHECK (recalled IN (0, 1)),
        PRIMARY KEY (roomid, seq)
      ) STRICT, WITHOUT ROWID;

      CREATE TABLE direct_messages (
        n         INTEGER PRIMARY KEY,
        id        TEXT    NOT NULL UNIQUE,
        pair      TEXT    NOT NULL,
        sender    TEXT    NOT NULL REFERENCES accounts (username) ON DELETE CASCADE,
        recipient TEXT    NOT NULL REFERENCES accounts (username) ON DELETE CASCADE,
        content   TEXT    NOT NULL,
        ts        INTEGER NOT NULL,
        recalled  INTEGER NOT NULL DEFAULT 0 CHECK (recalled IN (0, 1))
      ) STRICT;
      CREATE INDEX direct_messages_by_pair_ts ON direct_messages (pair, ts, n);
      CREATE INDEX direct_messages_by_sender ON direct_messages (sender);
      CREATE INDEX direct_messages_by_recipient ON direct_messages (recipient);

      CREATE TABLE inbox (
        username   TEXT    NOT NULL REFERENCES accounts (username) ON DELETE CASCADE,
        seq        INTEGER NOT NULL,
        message_id TEXT    NOT NULL REFERENCES direct_messages (id) ON DELETE CASCADE,
        PRIMARY KEY (username, seq)
      ) STRICT, WITHOUT ROWID;
      CREATE INDEX inbox_by_message ON inbox (message_id);

      CREATE TABLE blocks (
        username TEXT NOT NULL REFERENCES accounts (username) ON DELETE CASCADE,
        blocked  TEXT NOT NULL,
        PRIMARY KEY (username, blocked)
      ) STRICT, WITHOUT ROWID;
    `,
  },
  {
    version: 2,
    name: 'administrators; privacy, invitations and bans of stored rooms',
    // A room's rules go with its row (ON DELETE CASCADE); names in invitations and bans are any
    // identities (guests too), so they have no foreign key. `until` 0: until lifted.
    up: `
      CREATE TABLE admins (
        username   TEXT    PRIMARY KEY REFERENCES accounts (username) ON DELETE CASCADE,
        granted_at INTEGER NOT NULL
      ) STRICT, WITHOUT ROWID;

      CREATE TABLE room_rules (
        roomid  TEXT    PRIMARY KEY REFERENCES rooms (roomid) ON DELETE CASCADE,
        private INTEGER NOT NULL CHECK (private IN (0, 1))
      ) STRICT, WITHOUT ROWID;

      CREATE TABLE room_invites (
        roomid TEXT NOT NULL REFERENCES rooms (roomid) ON DELETE CASCADE,
        name   TEXT NOT NULL,
        PRIMARY KEY (roomid, name)
      ) STRICT, WITHOUT ROWID;

      CREATE TABLE room_bans (
        roomid    TEXT    NOT NULL REFERENCES rooms (roomid) ON DELETE CASCADE,
        name      TEXT    NOT NULL,
        banned_by TEXT    NOT NULL,
        reason    TEXT    NOT NULL,
        until     INTEGER NOT NULL,
        PRIMARY KEY (roomid, name)
      ) STRICT, WITHOUT ROWID;
    `,
  },
  {
    version: 3,
    name: 'usernames unique in any case; the account that sent each room message',
    // Names are case-insensitive (ASCII folding, as NOCASE does). A UNIQUE index on the folded
    // name would fail on a store that already holds `Alice` and `alice`: instead a trigger
    // ignores a new account whose name exists in any case (createAccount sees 0 changes), and
    // existing case-duplicates are kept (getAccount prefers the exact spelling).
    // `sender` is the account that sent a message (null: a guest), so an account registered
    // later under a guest's former name cannot recall that guest's messages. Older messages
    // are attributed to the account of the same name only if it existed when they were sent.
    up: `
      CREATE INDEX accounts_by_username_nocase ON accounts (username COLLATE NOCASE);
      CREATE TRIGGER accounts_username_unique_nocase BEFORE INSERT ON accounts
        WHEN EXISTS (SELECT 1 FROM accounts WHERE username = NEW.username COLLATE NOCASE)
        BEGIN SELECT RAISE(IGNORE); END;

      ALTER TABLE room_messages ADD COLUMN sender TEXT;
      UPDATE room_messages SET sender = identity
        WHERE EXISTS (SELECT 1 FROM accounts a WHERE a.username = room_messages.identity AND a.created_at <= room_messages.ts);
    `,
  },
  {
    version: 4,
    name: 'room epochs: the identity of each room\'s sequence',
    // A room's messages are always those of its current epoch (older epochs are deleted when a
    // new one starts), so room_messages keeps its (roomid, seq) key. Rooms stored before this
    // version get a fresh random epoch: clients holding no epoch reset once, harmlessly.
    up: `
      CREATE TABLE room_epochs (
        roomid TEXT PRIMARY KEY,
        epoch  TEXT NOT NULL
      ) STRICT, WITHOUT ROWID;
      INSERT INTO room_epochs (roomid, epoch)
        SELECT roomid, lower(hex(randomblob(8))) FROM (SELECT DISTINCT roomid FROM room_messages);
    `,
  },
  {
    version: 5,
    name: 'room messages keyed by (roomid, epoch, seq): several writers, each epoch apart',
    // A cluster's nodes each write what they apply, running behind one another: a slow node may
    // still write an epoch that is over while the room's new one fills (docs/CLUSTER.md), so
    // the key holds the epoch. One node writes '' (unlabelled: the room's current epoch, as
    // room_epochs names it, which a restore renews without touching the messages). SQLite
    // cannot change a primary key in place: the table is rebuilt, its rows kept unlabelled.
    up: `
      CREATE TABLE room_messages_keyed (
        roomid   TEXT    NOT NULL,
        epoch    TEXT    NOT NULL,
        seq      INTEGER NOT NULL,
        id       TEXT    NOT NULL UNIQUE,
        identity TEXT    NOT NULL,
        content  TEXT    NOT NULL,
        ts       INTEGER NOT NULL,
        recalled INTEGER NOT NULL DEFAULT 0 CHECK (recalled IN (0, 1)),
        sender   TEXT,
        PRIMARY KEY (roomid, epoch, seq)
      ) STRICT, WITHOUT ROWID;
      INSERT INTO room_messages_keyed (roomid, epoch, seq, id, identity, content, ts, recalled, sender)
        SELECT roomid, '', seq, id, identity, content, ts, recalled, sender FROM room_messages;
      DROP TABLE room_messages;
      ALTER TABLE room_messages_keyed RENAME TO room_messages;
    `,
  },
  {
    version: 6,
    name: 'files, uploads, and the file each message carries',
    // Files are content-addressed (id = hex SHA-256) and immutable, so a message keeps its
    // attachment's record as JSON beside the indexed `file_id` (what the sweep and the access
    // check look up): a history page needs no join. A recall blanks both. Uploads are what a
    // quota counts; an upload goes with its account.
    up: `
      CREATE TABLE files (
        id         TEXT    PRIMARY KEY,
        size       INTEGER NOT NULL,
        type       TEXT    NOT NULL,
        thumbnail  INTEGER NOT NULL CHECK (thumbnail IN (0, 1))
      ) STRICT, WITHOUT ROWID;

      CREATE TABLE file_uploads (
        username    TEXT    NOT NULL REFERENCES accounts (username) ON DELETE CASCADE,
        file_id     TEXT    NOT NULL REFERENCES files (id),
        name        TEXT    NOT NULL,
        uploaded_at INTEGER NOT NULL,
        PRIMARY KEY (username, file_id)
      ) STRICT, WITHOUT ROWID;
      CREATE INDEX file_uploads_by_file ON file_uploads (file_id);
      CREATE INDEX file_uploads_by_time ON file_uploads (uploaded_at);

      ALTER TABLE room_messages ADD COLUMN file_id TEXT;
      ALTER TABLE room_messages ADD COLUMN attachment TEXT;
      CREATE INDEX room_messages_by_file ON room_messages (file_id) WHERE file_id IS NOT NULL;
      ALTER TABLE direct_messages ADD COLUMN file_id TEXT;
      ALTER TABLE direct_messages ADD COLUMN attachment TEXT;
      CREATE INDEX direct_messages_by_file ON direct_messages (file_id) WHERE file_id IS NOT NULL;
    `,
  },
  {
    version: 7,
    name: 'contact lists',
    // Both names are accounts (stored spellings): a deleted account leaves every list.
    up: `
      CREATE TABLE contacts (
        username TEXT    NOT NULL REFERENCES accounts (username) ON DELETE CASCADE,
        contact  TEXT    NOT NULL REFERENCES accounts (username) ON DELETE CASCADE,
        added_at INTEGER NOT NULL,
        PRIMARY KEY (username, contact)
      ) STRICT, WITHOUT ROWID;
      CREATE INDEX contacts_by_contact ON contacts (contact);
      CREATE INDEX blocks_by_blocked_nocase ON blocks (blocked COLLATE NOCASE);
    `,
  },
];

/** The schema version this build writes. */
export const LATEST_SQLITE_VERSION = SQLITE_MIGRATIONS[SQLITE_MIGRATIONS.length - 1]!.version;

const CREATE_MIGRATIONS_TABLE = `
  CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    applied_at INTEGER NOT NULL
  ) STRICT`;

/** Versions recorded in `schema_migrations`, ascending; [] when the table is missing. */
export function appliedSqliteVersions(db: Database): number[] {
  const table = db
    .prepare(`SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'schema_migrations'`)
    .get();
  if (!table) return [];
  const rows = db.prepare('SELECT version FROM schema_migrations ORDER BY version').all() as Array<{ version: number }>;
  return rows.map((r) => r.version);
}

/**
 * Applies every migration not yet recorded, in order, each in one IMMEDIATE transaction.
 * IMMEDIATE takes the write lock before the "is it applied?" check, so two processes
 * migrating the same file at once apply each migration exactly once.
 * Returns the versions applied by this call ([] when the schema was current).
 */
export function migrateSqlite(db: Database, migrations: readonly SqliteMigration[] = SQLITE_MIGRATIONS): number[] {
  checkOrder(migrations);
  db.exec(CREATE_MIGRATIONS_TABLE);
  const known = migrations.length ? migrations[migrations.length - 1]!.version : 0;
  const newest = Math.max(0, ...appliedSqliteVersions(db));
  if (newest > known) {
    throw new StoreError(
      'STORE_SCHEMA_TOO_NEW',
      `store schema is at version ${newest}, this build knows up to ${known}: upgrade Switchboard`,
    );
  }
  const isApplied = db.prepare('SELECT 1 FROM schema_migrations WHERE version = ?');
  const record = db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)');
  const applied: number[] = [];
  for (const m of migrations) {
    const apply = db.transaction(() => {
      if (isApplied.get(m.version)) return false;
      db.exec(m.up);
      record.run(m.version, Date.now());
      return true;
    });
    if (apply.immediate()) applied.push(m.version);
  }
  return applied;
}

/**
 * Versions strictly increase. Gaps are allowed: branches developed apart each took a number
 * (a store missing one gets it applied later, each migration being independent of the others).
 */
function checkOrder(migrations: readonly SqliteMigration[]): void {
  migrations.forEach((m, i) => {
    const previous = i === 0 ? 0 : migrations[i - 1]!.version;
    if (!Number.isSafeInteger(m.version) || m.version <= previous) throw new Error(`migration #${i} has version ${m.version}, expected more than ${previous}`);
  });
}
