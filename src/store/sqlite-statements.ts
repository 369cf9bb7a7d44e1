import type { Database, Statement } from 'better-sqlite3';

/*
 * Every statement SqliteStore runs, prepared once per connection (after migrate, since
 * preparing checks the tables exist). Parameters are positional: binding by position is
 * the cheapest path in better-sqlite3, which matters for the per-message insert.
 */

export interface AccountRow {
  username: string;
  password_hash: string;
  created_at: number;
  status: string;
  dnd: number;
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
  recalled: number;
  /** JSON of the Attachment, or null. */
  attachment: string | null;
}

export interface DirectMessageRow {
  id: string;
  sender: string;
  recipient: string;
  content: string;
  ts: number;
  recalled: number;
  /** JSON of the Attachment, or null. */
  attachment: string | null;
}

export type InboxRow = DirectMessageRow & { seq: number };

const ROOM_COLS = 'id, roomid, seq, identity, sender, content, ts, recalled, attachment';
const DM_COLS = 'id, sender, recipient, content, ts, recalled, attachment';

export function prepareStatements(db: Database) {
  return {
    createAccount: db.prepare<[string, string, number, string, number]>(
      `INSERT INTO accounts (username, password_hash, created_at, status, dnd) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (username) DO NOTHING`,
    ),
    // Any case; the exact spelling first, for stores that hold case-duplicates from before.
    getAccount: db.prepare<[string, string], AccountRow>(
      `SELECT username, password_hash, created_at, status, dnd FROM accounts WHERE username = ? COLLATE NOCASE
       ORDER BY username = ? DESC, username LIMIT 1`,
    ),
    listUsernames: db.prepare<[], { username: string }>('SELECT username FROM accounts ORDER BY username'),
    setStatus: db.prepare<[string, string]>('UPDATE accounts SET status = ? WHERE username = ?'),
    setDnd: db.prepare<[number, string]>('UPDATE accounts SET dnd = ? WHERE username = ?'),

    addToken: db.prepare<[string, string, number]>(
      'INSERT INTO tokens (token_hash, username, created_at) VALUES (?, ?, ?)',
    ),
    findToken: db.prepare<[string], { username: string }>('SELECT username FROM tokens WHERE token_hash = ?'),
    revokeToken: db.prepare<[string]>('DELETE FROM tokens WHERE token_hash = ?'),

    saveRoom: db.prepare<[string, string, number]>(
      `INSERT INTO rooms (roomid, owner, created_at) VALUES (?, ?, ?)
       ON CONFLICT (roomid) DO UPDATE SET owner = excluded.owner, created_at = excluded.created_at`,
    ),
    deleteRoom: db.prepare<[string]>('DELETE FROM rooms WHERE roomid = ?'),
    roomExists: db.prepare<[string], { one: number }>('SELECT 1 AS one FROM rooms WHERE roomid = ?'),
    saveRoomPrivacy: db.prepare<[string, number]>(
      'INSERT INTO room_rules (roomid, private) VALUES (?, ?) ON CONFLICT (roomid) DO UPDATE SET private = excluded.private',
    ),
    clearRoomInvites: db.prepare<[string]>('DELETE FROM room_invites WHERE roomid = ?'),
    clearRoomBans: db.prepare<[string]>('DELETE FROM room_bans WHERE roomid = ?'),
    insertRoomInvite: db.prepare<[string, string]>('INSERT INTO room_invites (roomid, name) VALUES (?, ?)'),
    insertRoomBan: db.prepare<[string, string, string, string, number]>(
      'INSERT INTO room_bans (roomid, name, banned_by, reason, until) VALUES (?, ?, ?, ?, ?)',
    ),
    listRoomPrivacy: db.prepare<[], { roomid: string; private: number }>('SELECT roomid, private FROM room_rules'),
    listRoomInvites: db.prepare<[], { roomid: string; name: string }>('SELECT roomid, name FROM room_invites ORDER BY roomid, name'),
    listRoomBans: db.prepare<[], { roomid: string; name: string; banned_by: string; reason: string; until: number }>(
      'SELECT roomid, name, banned_by, reason, until FROM room_bans ORDER BY roomid, name',
    ),

    grantAdmin: db.prepare<[string, number]>(
      'INSERT INTO admins (username, granted_at) VALUES (?, ?) ON CONFLICT (username) DO NOTHING',
    ),
    revokeAdmin: db.prepare<[string]>('DELETE FROM admins WHERE username = ?'),
    isAdmin: db.prepare<[string], { one: number }>('SELECT 1 AS one FROM admins WHERE username = ? COLLATE NOCASE'),
    listAdmins: db.prepare<[], { username: string }>('SELECT username FROM admins ORDER BY username'),
    listRooms: db.prepare<[], RoomRow>('SELECT roomid, owner, created_at FROM rooms ORDER BY roomid'),

    // Idempotent by (roomid, epoch, seq) (see Store.appendRoomMessages): a key already held is
    // skipped, and roomMessageIdAt tells a redelivery (same id) from a conflict. Epoch '' is
    // unlabelled (one writer's messages).
    insertRoomMessage: db.prepare<[string, string, number, string, string, string | null, string, number, number, string | null, string | null]>(
      `INSERT INTO room_messages (roomid, epoch, seq, id, identity, sender, content, ts, recalled, file_id, attachment) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (roomid, epoch, seq) DO NOTHING`,
    ),
    roomMessageIdAt: db.prepare<[string, string, number], { id: string }>('SELECT id FROM room_messages WHERE roomid = ? AND epoch = ? AND seq = ?'),
    lastRoomSeq: db.prepare<[string], { seq: number | null }>(
      "SELECT max(seq) AS seq FROM room_messages WHERE roomid = ? AND epoch = ''",
    ),
    // A loose index scan: one seek per distinct room to find the next roomid, one for its max
    // seq. A plain GROUP BY would read every stored message at each hub boot.
    lastRoomSeqs: db.prepare<[], { roomid: string; seq: number }>(
      `WITH RECURSIVE rooms (roomid) AS (
         SELECT min(roomid) FROM room_messages
         UNION ALL
         SELECT (SELECT min(roomid) FROM room_messages WHERE roomid > rooms.roomid) FROM rooms
         WHERE rooms.roomid IS NOT NULL
       )
       SELECT roomid, seq FROM (
         SELECT roomid, (SELECT max(seq) FROM room_messages m WHERE m.roomid = rooms.roomid AND m.epoch = '') AS seq
         FROM rooms WHERE roomid IS NOT NULL
       ) WHERE seq IS NOT NULL`,
    ),
    // Newest first so LIMIT keeps the newest; the caller reverses to oldest first.
    roomHistory: db.prepare<[string, string, number, number], RoomMessageRow>(
      `SELECT ${ROOM_COLS} FROM room_messages WHERE roomid = ? AND epoch = ? AND seq < ? ORDER BY seq DESC LIMIT ?`,
    ),
    roomSince: db.prepare<[string, string, number, number], RoomMessageRow>(
      `SELECT ${ROOM_COLS} FROM room_messages WHERE roomid = ? AND epoch = ? AND seq > ? ORDER BY seq LIMIT ?`,
    ),
    getRoomMessage: db.prepare<[string], RoomMessageRow>(`SELECT ${ROOM_COLS} FROM room_messages WHERE id = ?`),
    recallRoomMessage: db.prepare<[string]>("UPDATE room_messages SET content = '', recalled = 1, file_id = NULL, attachment = NULL WHERE id = ?"),
    roomEpochs: db.prepare<[], { roomid: string; epoch: string }>('SELECT roomid, epoch FROM room_epochs'),
    // A range of the primary key (roomid, epoch, seq).
    storedEpochs: db.prepare<[string], { epoch: string; messages: number; last_ts: number }>(
      'SELECT epoch, count(*) AS messages, max(ts) AS last_ts FROM room_messages WHERE roomid = ? GROUP BY epoch ORDER BY last_ts, epoch',
    ),
    setRoomEpoch: db.prepare<[string, string]>(
      'INSERT INTO room_epochs (roomid, epoch) VALUES (?, ?) ON CONFLICT (roomid) DO UPDATE SET epoch = excluded.epoch',
    ),
    deleteRoomEpoch: db.prepare<[string]>('DELETE FROM room_epochs WHERE roomid = ?'),
    deleteRoomMessages: db.prepare<[string]>('DELETE FROM room_messages WHERE roomid = ?'),
    deleteEpochMessages: db.prepare<[string, string]>('DELETE FROM room_messages WHERE roomid = ? AND epoch = ?'),

    insertDirectMessage: db.prepare<[string, string, string, string, string, number, number, string | null, string | null]>(
      'INSERT INTO direct_messages (id, pair, sender, recipient, content, ts, recalled, file_id, attachment) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
    ),
    nextInboxSeq: db.prepare<[string], { seq: number }>(
      'UPDATE accounts SET last_inbox_seq = last_inbox_seq + 1 WHERE username = ? RETURNING last_inbox_seq AS seq',
    ),
    insertInbox: db.prepare<[string, number, string]>('INSERT INTO inbox (username, seq, message_id) VALUES (?, ?, ?)'),
    pendingInbox: db.prepare<[string, number, number], InboxRow>(
      `SELECT i.seq, d.id, d.sender, d.recipient, d.content, d.ts, d.recalled, d.attachment
       FROM inbox i JOIN direct_messages d ON d.id = i.message_id
       WHERE i.username = ? AND i.seq > ? ORDER BY i.seq LIMIT ?`,
    ),
    ackInbox: db.prepare<[string, number]>('DELETE FROM inbox WHERE username = ? AND seq <= ?'),
    // Bytes as stored (UTF-8): what the inbox costs to keep and to send.
    inboxSize: db.prepare<[string], { messages: number; bytes: number }>(
      `SELECT count(*) AS messages, coalesce(sum(length(CAST(d.content AS BLOB))), 0) AS bytes
       FROM inbox i JOIN direct_messages d ON d.id = i.message_id WHERE i.username = ?`,
    ),
    // Keyed by (ts, n): n breaks ties between DMs of one ms, so the key is unique and a page
    // boundary never splits them. One range scan of direct_messages_by_pair_ts.
    directHistory: db.prepare<[string, number, number, number], DirectMessageRow & { n: number }>(
      `SELECT n, ${DM_COLS} FROM direct_messages WHERE pair = ? AND (ts, n) < (?, ?) ORDER BY ts DESC, n DESC LIMIT ?`,
    ),
    directCursor: db.prepare<[number, string], { ts: number }>('SELECT ts FROM direct_messages WHERE n = ? AND pair = ?'),
    getDirectMessage: db.prepare<[string], DirectMessageRow>(`SELECT ${DM_COLS} FROM direct_messages WHERE id = ?`),
    recallDirectMessage: db.prepare<[string]>("UPDATE direct_messages SET content = '', recalled = 1, file_id = NULL, attachment = NULL WHERE id = ?"),

    block: db.prepare<[string, string, string, string]>(
      `INSERT INTO blocks (username, blocked) SELECT ?, ?
       WHERE NOT EXISTS (SELECT 1 FROM blocks WHERE username = ? AND blocked = ? COLLATE NOCASE)`,
    ),
    unblock: db.prepare<[string, string]>('DELETE FROM blocks WHERE username = ? AND blocked = ? COLLATE NOCASE'),
    blockedBy: db.prepare<[string], { blocked: string }>(
      'SELECT blocked FROM blocks WHERE username = ? ORDER BY blocked',
    ),
  } satisfies Record<string, Statement<unknown[], unknown>>;
}

export type SqliteStatements = ReturnType<typeof prepareStatements>;
