/**
 * Versioned schema of the PostgreSQL store. Each migration runs once, in its own transaction,
 * together with the `schema_migrations` row that records it (PostgreSQL DDL is transactional:
 * a failure leaves the previous version intact). Never edit a migration that has shipped;
 * append a new one. Applying them is PostgresStore.migrate's job (postgres-migrate.ts).
 */
export interface PostgresMigration {
  /** 1, 2, 3, ... in array order. */
  readonly version: number;
  /** For humans reading `schema_migrations` or a failure message. */
  readonly name: string;
  readonly up: string;
}

/*
 * Design notes for migration 1, which is the SQLite store's schema at its version 4 (the
 * PostgreSQL store starts from a fresh database, so it needs none of SQLite's history):
 * - Every text column is COLLATE "C": ordering and equality by code point, as SQLite's BINARY,
 *   whatever the database's locale, and lower() on it folds ASCII only, as SQLite's NOCASE.
 * - Usernames are unique in any case through a unique index on lower(username COLLATE "C"):
 *   a fresh schema holds no case-duplicates, so no trigger is needed, and two nodes creating
 *   `Ann` and `ann` at once cannot both succeed. Blocks are unique the same way.
 * - Timestamps are ms since the epoch (BIGINT), as the Store interface has them.
 * - room_messages is keyed by (roomid, seq); `id` is unique on its own. No foreign key to
 *   rooms: temporary rooms have history too.
 * - direct_messages.n is an identity column: the insertion counter that orders DMs of one ms
 *   and serves as the paging cursor. (Under concurrent writers it follows insertion, not
 *   commit, order; it only breaks ties within one ms of one conversation.)
 * - Inbox seqs come from accounts.last_inbox_seq, never max(seq)+1: acked entries are deleted,
 *   and max() would hand out an acked seq again. The UPDATE that bumps it also locks the row,
 *   which is what serializes two nodes filling one inbox.
 * - room_rules, room_invites and room_bans go with their room (ON DELETE CASCADE).
 */
export const POSTGRES_MIGRATIONS: readonly PostgresMigration[] = [
  {
    version: 1,
    name: 'accounts, tokens, rooms and their rules, administrators, room history and epochs, direct messages, inbox, blocks',
    up: `
      CREATE TABLE accounts (
        username       TEXT COLLATE "C" PRIMARY KEY,
        password_hash  TEXT    NOT NULL,
        created_at     BIGINT  NOT NULL,
        status         TEXT    NOT NULL DEFAULT '',
        dnd            BOOLEAN NOT NULL DEFAULT false,
        last_inbox_seq BIGINT  NOT NULL DEFAULT 0
      );
      CREATE UNIQUE INDEX accounts_username_folded ON accounts (lower(username COLLATE "C"));

      CREATE TABLE tokens (
        token_hash TEXT COLLATE "C" PRIMARY KEY,
        username   TEXT COLLATE "C" NOT NULL REFERENCES accounts (username) ON DELETE CASCADE,
        created_at BIGINT NOT NULL
      );
      CREATE INDEX tokens_by_username ON tokens (username);

      CREATE TABLE rooms (
        roomid     TEXT COLLATE "C" PRIMARY KEY,
        owner      TEXT COLLATE "C" NOT NULL REFERENCES accounts (username) ON DELETE CASCADE,
        created_at BIGINT NOT NULL
      );
      CREATE INDEX rooms_by_owner ON rooms (owner);

      CREATE TABLE room_rules (
        roomid  TEXT COLLATE "C" PRIMARY KEY REFERENCES rooms (roomid) ON DELETE CASCADE,
        private BOOLEAN NOT NULL
      );
      CREATE TABLE room_invites (
        roomid TEXT COLLATE "C" NOT NULL REFERENCES rooms (roomid) ON DELETE CASCADE,
        name   TEXT COLLATE "C" NOT NULL,
        PRIMARY KEY (roomid, name)
      );
      CREATE TABLE room_bans (
        roomid    TEXT COLLATE "C" NOT NULL REFERENCES rooms (roomid) ON DELETE CASCADE,
        name      TEXT COLLATE "C" NOT NULL,
        banned_by TEXT COLLATE "C" NOT NULL,
        reason    TEXT   NOT NULL,
        until     BIGINT NOT NULL,
        PRIMARY KEY (roomid, name)
      );

      CREATE TABLE admins (
        username   TEXT COLLATE "C" PRIMARY KEY REFERENCES accounts (username) ON DELETE CASCADE,
        granted_at BIGINT NOT NULL
      );

      CREATE TABLE room_messages (
        roomid   TEXT COLLATE "C" NOT NULL,
        seq      BIGINT  NOT NULL,
        id       TEXT COLLATE "C" NOT NULL UNIQUE,
        identity TEXT COLLATE "C" NOT NULL,
        sender   TEXT COLLATE "C",
        content  TEXT    NOT NULL,
        ts       BIGINT  NOT NULL,
        recalled BOOLEAN NOT NULL DEFAULT false,
        PRIMARY KEY (roomid, seq)
      );

      CREATE TABLE room_epochs (
        roomid TEXT COLLATE "C" PRIMARY KEY,
        epoch  TEXT COLLATE "C" NOT NULL
      );

      CREATE TABLE direct_messages (
        n         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        id        TEXT COLLATE "C" NOT NULL UNIQUE,
        pair      TEXT COLLATE "C" NOT NULL,
        sender    TEXT COLLATE "C" NOT NULL REFERENCES accounts (username) ON DELETE CASCADE,
        recipient TEXT COLLATE "C" NOT NULL REFERENCES accounts (username) ON DELETE CASCADE,
        content   TEXT    NOT NULL,
        ts        BIGINT  NOT NULL,
        recalled  BOOLEAN NOT NULL DEFAULT false
      );
      CREATE INDEX direct_messages_by_pair_ts ON direct_messages (pair, ts, n);
      CREATE INDEX direct_messages_by_sender ON direct_messages (sender);
      CREATE INDEX direct_messages_by_recipient ON direct_messages (recipient);

      CREATE TABLE inbox (
        username   TEXT COLLATE "C" NOT NULL REFERENCES accounts (username) ON DELETE CASCADE,
        seq        BIGINT NOT NULL,
        message_id TEXT COLLATE "C" NOT NULL REFERENCES direct_messages (id) ON DELETE CASCADE,
        PRIMARY KEY (username, seq)
      );
      CREATE INDEX inbox_by_message ON inbox (message_id);

      CREATE TABLE blocks (
        username TEXT COLLATE "C" NOT NULL REFERENCES accounts (username) ON DELETE CASCADE,
        blocked  TEXT COLLATE "C" NOT NULL
      );
      CREATE UNIQUE INDEX blocks_key ON blocks (username, lower(blocked COLLATE "C"));
    `,
  },
  {
    version: 2,
    name: 'room messages keyed by (roomid, epoch, seq): several writers, each epoch apart',
    // A cluster's nodes each write what they apply, running behind one another: a slow node may
    // still write an epoch that is over while the room's new one fills (docs/CLUSTER.md), so
    // the key holds the epoch. One node writes '' (unlabelled: the room's current epoch, as
    // room_epochs names it, which a restore renews without touching the messages).
    up: `
      ALTER TABLE room_messages ADD COLUMN epoch TEXT COLLATE "C" NOT NULL DEFAULT '';
      ALTER TABLE room_messages DROP CONSTRAINT room_messages_pkey;
      ALTER TABLE room_messages ADD PRIMARY KEY (roomid, epoch, seq);
    `,
  },
  {
    version: 3,
    name: 'files, uploads, and the file each message carries',
    // As SQLite's version 6: the attachment's record is kept as JSON text beside the indexed
    // `file_id`; a recall blanks both.
    up: `
      CREATE TABLE files (
        id        TEXT COLLATE "C" PRIMARY KEY,
        size      BIGINT  NOT NULL,
        type      TEXT    NOT NULL,
        thumbnail BOOLEAN NOT NULL
      );
      CREATE TABLE file_uploads (
        username    TEXT COLLATE "C" NOT NULL REFERENCES accounts (username) ON DELETE CASCADE,
        file_id     TEXT COLLATE "C" NOT NULL REFERENCES files (id),
        name        TEXT   NOT NULL,
        uploaded_at BIGINT NOT NULL,
        PRIMARY KEY (username, file_id)
      );
      CREATE INDEX file_uploads_by_file ON file_uploads (file_id);
      CREATE INDEX file_uploads_by_time ON file_uploads (uploaded_at);

      ALTER TABLE room_messages ADD COLUMN file_id TEXT COLLATE "C";
      ALTER TABLE room_messages ADD COLUMN attachment TEXT;
      CREATE INDEX room_messages_by_file ON room_messages (file_id) WHERE file_id IS NOT NULL;
      ALTER TABLE direct_messages ADD COLUMN file_id TEXT COLLATE "C";
      ALTER TABLE direct_messages ADD COLUMN attachment TEXT;
      CREATE INDEX direct_messages_by_file ON direct_messages (file_id) WHERE file_id IS NOT NULL;
    `,
  },
  {
    version: 4,
    name: 'contact lists',
    up: `
      CREATE TABLE contacts (
        username TEXT COLLATE "C" NOT NULL REFERENCES accounts (username) ON DELETE CASCADE,
        contact  TEXT COLLATE "C" NOT NULL REFERENCES accounts (username) ON DELETE CASCADE,
        added_at BIGINT NOT NULL,
        PRIMARY KEY (username, contact)
      );
      CREATE INDEX contacts_by_contact ON contacts (contact);
      CREATE INDEX blocks_by_blocked_folded ON blocks (lower(blocked COLLATE "C"));
    `,
  },
];

/** The schema version this build writes. */
export const LATEST_POSTGRES_VERSION = POSTGRES_MIGRATIONS[POSTGRES_MIGRATIONS.length - 1]!.version;
