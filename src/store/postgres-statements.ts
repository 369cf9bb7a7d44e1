/*
 * Every statement PostgresStore runs, and the row shapes they return. Names compare in any
 * case through `lower(x COLLATE "C")` (ASCII folding, as SQLite's NOCASE): the expression is
 * written exactly as in the unique indexes of migrations/postgres.ts, so those indexes serve
 * the lookups. Batches are passed as parallel arrays and expanded with unnest(): one round trip
 * for a thousand rows.
 */

export interface AccountRow {
  username: string;
  password_hash: string;
  created_at: number;
  status: string;
  dnd: boolean;
}

export interface RoomRow {
  roomid: string;
  owner: string;
  created_at: number;
}

export interface RoomMessageRow {
  id: string;
  roomid: string;
  seq: number;
  identity: string;
  sender: string | null;
  content: string;
  ts: number;
  recalled: boolean;
  /** JSON of the Attachment, or null. */
  attachment: string | null;
}

export interface DirectMessageRow {
  id: string;
  sender: string;
  recipient: string;
  content: string;
  ts: number;
  recalled: boolean;
  /** JSON of the Attachment, or null. */
  attachment: string | null;
}

export type InboxRow = DirectMessageRow & { seq: number };

const ROOM_COLS = 'id, roomid, seq, identity, sender, content, ts, recalled, attachment';
const DM_COLS = 'id, sender, recipient, content, ts, recalled, attachment';

/** `x` folded for a case-insensitive comparison, as the indexes have it. */
const fold = (x: string): string => `lower(${x} COLLATE "C")`;

export const SQL = {
  // Any unique key taken (the name in any case) inserts nothing: rowCount 0.
  createAccount: `INSERT INTO accounts (username, password_hash, created_at, status, dnd) VALUES ($1, $2, $3, $4, $5)
    ON CONFLICT DO NOTHING`,
  getAccount: `SELECT username, password_hash, created_at, status, dnd FROM accounts WHERE ${fold('username')} = ${fold('$1::text')}`,
  listUsernames: 'SELECT username FROM accounts ORDER BY username',
  setStatus: 'UPDATE accounts SET status = $2 WHERE username = $1',
  setDnd: 'UPDATE accounts SET dnd = $2 WHERE username = $1',

  addToken: 'INSERT INTO tokens (token_hash, username, created_at) VALUES ($1, $2, $3)',
  findToken: 'SELECT username FROM tokens WHERE token_hash = $1',
  revokeToken: 'DELETE FROM tokens WHERE token_hash = $1',

  saveRoom: `INSERT INTO rooms (roomid, owner, created_at) VALUES ($1, $2, $3)
    ON CONFLICT (roomid) DO UPDATE SET owner = excluded.owner, created_at = excluded.created_at`,
  deleteRoom: 'DELETE FROM rooms WHERE roomid = $1',
  listRooms: 'SELECT roomid, owner, created_at FROM rooms ORDER BY roomid',
  // FOR SHARE: the room cannot be deleted by another session until its rules are written.
  lockRoom: 'SELECT 1 FROM rooms WHERE roomid = $1 FOR SHARE',
  saveRoomPrivacy: `INSERT INTO room_rules (roomid, private) VALUES ($1, $2)
    ON CONFLICT (roomid) DO UPDATE SET private = excluded.private`,
  clearRoomInvites: 'DELETE FROM room_invites WHERE roomid = $1',
  clearRoomBans: 'DELETE FROM room_bans WHERE roomid = $1',
  insertRoomInvites: 'INSERT INTO room_invites (roomid, name) SELECT $1, name FROM unnest($2::text[]) AS u (name)',
  insertRoomBans: `INSERT INTO room_bans (roomid, name, banned_by, reason, until)
    SELECT $1, name, banned_by, reason, until FROM unnest($2::text[], $3::text[], $4::text[], $5::bigint[]) AS u (name, banned_by, reason, until)`,
  listRoomPrivacy: 'SELECT roomid, private FROM room_rules',
  listRoomInvites: 'SELECT roomid, name FROM room_invites ORDER BY roomid, name',
  listRoomBans: 'SELECT roomid, name, banned_by, reason, until FROM room_bans ORDER BY roomid, name',

  grantAdmin: 'INSERT INTO admins (username, granted_at) VALUES ($1, $2) ON CONFLICT (username) DO NOTHING',
  revokeAdmin: 'DELETE FROM admins WHERE username = $1',
  isAdmin: `SELECT 1 FROM admins WHERE ${fold('username')} = ${fold('$1::text')}`,
  listAdmins: 'SELECT username FROM admins ORDER BY username',

  // Idempotent by (roomid, epoch, seq): a batch written twice (by several nodes, at once or
  // not) stores each message once. No conflict target: with one, two nodes inserting the same
  // row at once could fail on the id index instead of skipping. A message already there under
  // another id, or an id under another key, is a real conflict, found by checkRoomMessages.
  insertRoomMessages: `INSERT INTO room_messages (roomid, epoch, seq, id, identity, sender, content, ts, recalled, file_id, attachment)
    SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[], $8::bigint[], $9::boolean[], $10::text[], $11::text[])
    ON CONFLICT DO NOTHING`,
  // Messages of the batch whose key or id the store holds for a different message: the batch is not a rewrite.
  checkRoomMessages: `SELECT count(*) AS n FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[]) AS b (roomid, epoch, seq, id)
    WHERE EXISTS (SELECT 1 FROM room_messages m WHERE m.roomid = b.roomid AND m.epoch = b.epoch AND m.seq = b.seq AND m.id <> b.id)
       OR EXISTS (SELECT 1 FROM room_messages m WHERE m.id = b.id AND (m.roomid, m.epoch, m.seq) <> (b.roomid, b.epoch, b.seq))`,
  lastRoomSeq: "SELECT max(seq) AS seq FROM room_messages WHERE roomid = $1 AND epoch = ''",
  // A loose index scan: one probe per distinct room instead of reading every message.
  lastRoomSeqs: `WITH RECURSIVE rooms (roomid) AS (
      (SELECT roomid FROM room_messages ORDER BY roomid LIMIT 1)
      UNION ALL
      SELECT (SELECT m.roomid FROM room_messages m WHERE m.roomid > rooms.roomid ORDER BY m.roomid LIMIT 1)
      FROM rooms WHERE rooms.roomid IS NOT NULL
    )
    SELECT roomid, seq FROM (
      SELECT roomid, (SELECT max(seq) FROM room_messages m WHERE m.roomid = rooms.roomid AND m.epoch = '') AS seq
      FROM rooms WHERE roomid IS NOT NULL
    ) AS last WHERE seq IS NOT NULL`,
  // Newest first so LIMIT keeps the newest; the caller reverses to oldest first.
  // Of one epoch ('' = unlabelled): a range of the primary key.
  roomHistory: `SELECT ${ROOM_COLS} FROM room_messages WHERE roomid = $1 AND epoch = $4 AND seq < $2 ORDER BY seq DESC LIMIT $3`,
  roomSince: `SELECT ${ROOM_COLS} FROM room_messages WHERE roomid = $1 AND epoch = $4 AND seq > $2 ORDER BY seq LIMIT $3`,
  getRoomMessage: `SELECT ${ROOM_COLS} FROM room_messages WHERE id = $1`,
  recallRoomMessage: "UPDATE room_messages SET content = '', recalled = true, file_id = NULL, attachment = NULL WHERE id = $1",
  roomEpochs: 'SELECT roomid, epoch FROM room_epochs',
  setRoomEpoch: 'INSERT INTO room_epochs (roomid, epoch) VALUES ($1, $2) ON CONFLICT (roomid) DO UPDATE SET epoch = excluded.epoch',
  deleteRoomEpoch: 'DELETE FROM room_epochs WHERE roomid = $1',
  deleteRoomMessages: 'DELETE FROM room_messages WHERE roomid = $1',
  deleteEpochMessages: 'DELETE FROM room_messages WHERE roomid = $1 AND epoch = $2',
  // A range of the primary key (roomid, epoch, seq).
  storedEpochs: 'SELECT epoch, count(*)::int AS messages, max(ts)::float8 AS last_ts FROM room_messages WHERE roomid = $1 GROUP BY epoch ORDER BY last_ts, epoch',

  // The recipient's row lock: every DM queued for one inbox waits here for the one before it,
  // so the size check below sees every entry committed ahead of it, whichever node wrote it.
  // NO KEY UPDATE does not conflict with the key-share locks that foreign keys take.
  lockAccount: 'SELECT 1 FROM accounts WHERE username = $1 FOR NO KEY UPDATE',
  insertDirectMessage: `INSERT INTO direct_messages (id, pair, sender, recipient, content, ts, recalled, file_id, attachment)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
  nextInboxSeq: 'UPDATE accounts SET last_inbox_seq = last_inbox_seq + 1 WHERE username = $1 RETURNING last_inbox_seq AS seq',
  insertInbox: 'INSERT INTO inbox (username, seq, message_id) VALUES ($1, $2, $3)',
  pendingInbox: `SELECT i.seq, d.id, d.sender, d.recipient, d.content, d.ts, d.recalled, d.attachment
    FROM inbox i JOIN direct_messages d ON d.id = i.message_id
    WHERE i.username = $1 AND i.seq > $2 ORDER BY i.seq LIMIT $3`,
  ackInbox: 'DELETE FROM inbox WHERE username = $1 AND seq <= $2',
  // Bytes as stored (UTF-8): what the inbox costs to keep and to send.
  inboxSize: `SELECT count(*) AS messages, coalesce(sum(octet_length(d.content)), 0) AS bytes
    FROM inbox i JOIN direct_messages d ON d.id = i.message_id WHERE i.username = $1`,
  // Keyed by (ts, n): n breaks ties between DMs of one ms. One range scan of
  // direct_messages_by_pair_ts (a row comparison is an index condition in PostgreSQL).
  directHistory: `SELECT n, ${DM_COLS} FROM direct_messages WHERE pair = $1 AND (ts, n) < ($2, $3)
    ORDER BY ts DESC, n DESC LIMIT $4`,
  directCursor: 'SELECT ts FROM direct_messages WHERE n = $1 AND pair = $2',
  getDirectMessage: `SELECT ${DM_COLS} FROM direct_messages WHERE id = $1`,
  recallDirectMessage: "UPDATE direct_messages SET content = '', recalled = true, file_id = NULL, attachment = NULL WHERE id = $1",

  // The name blocked in another case already: the unique index on the folded name says so.
  block: 'INSERT INTO blocks (username, blocked) VALUES ($1, $2) ON CONFLICT DO NOTHING',
  unblock: `DELETE FROM blocks WHERE username = $1 AND ${fold('blocked')} = ${fold('$2::text')}`,
  blockedBy: 'SELECT blocked FROM blocks WHERE username = $1 ORDER BY blocked',
} as const;
