import type { StoredFile } from './store';

/** A `files` row as PostgreSQL returns it. */
export interface FileRow {
  id: string;
  size: number | string;
  type: string;
  thumbnail: boolean;
}

export function toStoredFile(r: FileRow): StoredFile {
  return { id: r.id, size: Number(r.size), type: r.type, thumbnail: r.thumbnail };
}

/**
 * The file statements of PostgresStore (migration 3), as SqliteFiles has them. A recall
 * blanks a message's `file_id`, so "a live message carries it" is "a row has its file_id".
 */
export const FILE_SQL = {
  getFile: 'SELECT id, size, type, thumbnail FROM files WHERE id = $1',
  // A thumbnail made later (an upload after a failed one) is kept.
  insertFile: `INSERT INTO files (id, size, type, thumbnail) VALUES ($1, $2, $3, $4)
    ON CONFLICT (id) DO UPDATE SET thumbnail = files.thumbnail OR excluded.thumbnail`,
  upsertUpload: `INSERT INTO file_uploads (username, file_id, name, uploaded_at) VALUES ($1, $2, $3, $4)
    ON CONFLICT (username, file_id) DO UPDATE SET name = excluded.name, uploaded_at = excluded.uploaded_at`,
  usedExcept: `SELECT coalesce(sum(f.size), 0)::text AS bytes FROM file_uploads u JOIN files f ON f.id = u.file_id
    WHERE u.username = $1 AND u.file_id <> $2`,
  getUpload: 'SELECT username, file_id, name, uploaded_at FROM file_uploads WHERE username = $1 AND file_id = $2',
  directAudience: `SELECT 1 WHERE EXISTS (SELECT 1 FROM file_uploads WHERE file_id = $1 AND username = $2)
    OR EXISTS (SELECT 1 FROM direct_messages WHERE file_id = $1 AND (sender = $2 OR recipient = $2))`,
  rooms: 'SELECT DISTINCT roomid FROM room_messages WHERE file_id = $1 LIMIT $2',
  lapseUploads: `DELETE FROM file_uploads u WHERE u.uploaded_at < $1
    AND NOT EXISTS (SELECT 1 FROM room_messages m WHERE m.file_id = u.file_id AND m.sender = u.username)
    AND NOT EXISTS (SELECT 1 FROM direct_messages d WHERE d.file_id = u.file_id AND d.sender = u.username)`,
  deleteUnkept: `DELETE FROM files WHERE id IN (
      SELECT f.id FROM files f
      WHERE NOT EXISTS (SELECT 1 FROM file_uploads u WHERE u.file_id = f.id)
        AND NOT EXISTS (SELECT 1 FROM room_messages m WHERE m.file_id = f.id)
        AND NOT EXISTS (SELECT 1 FROM direct_messages d WHERE d.file_id = f.id)
      LIMIT $1 FOR UPDATE SKIP LOCKED)
    RETURNING id`,
} as const;
