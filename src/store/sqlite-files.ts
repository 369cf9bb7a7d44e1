import type { Database, Statement } from 'better-sqlite3';
import type { FileUpload, StoredFile } from './store';

/** A file nothing keeps: no upload and no live message carries it. */
const UNKEPT = `NOT EXISTS (SELECT 1 FROM file_uploads u WHERE u.file_id = f.id)
  AND NOT EXISTS (SELECT 1 FROM room_messages m WHERE m.file_id = f.id)
  AND NOT EXISTS (SELECT 1 FROM direct_messages d WHERE d.file_id = f.id)`;

/**
 * The file records of the SQLite store (migration 6): files, uploads, and the sweep. A recall
 * blanks a message's `file_id`, so "a live message carries it" is "a row has its file_id".
 */
export class SqliteFiles {
  private readonly q;
  private readonly recordTx;
  private readonly sweepTx;

  constructor(db: Database) {
    this.q = {
      getFile: db.prepare<[string], { id: string; size: number; type: string; thumbnail: number }>('SELECT id, size, type, thumbnail FROM files WHERE id = ?'),
      insertFile: db.prepare<[string, number, string, number]>(
        // A thumbnail made later (an upload after a failed one) is kept.
        'INSERT INTO files (id, size, type, thumbnail) VALUES (?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET thumbnail = max(thumbnail, excluded.thumbnail)',
      ),
      upsertUpload: db.prepare<[string, string, string, number]>(
        `INSERT INTO file_uploads (username, file_id, name, uploaded_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (username, file_id) DO UPDATE SET name = excluded.name, uploaded_at = excluded.uploaded_at`,
      ),
      usedExcept: db.prepare<[string, string], { bytes: number }>(
        'SELECT coalesce(sum(f.size), 0) AS bytes FROM file_uploads u JOIN files f ON f.id = u.file_id WHERE u.username = ? AND u.file_id <> ?',
      ),
      getUpload: db.prepare<[string, string], { username: string; file_id: string; name: string; uploaded_at: number }>(
        'SELECT username, file_id, name, uploaded_at FROM file_uploads WHERE username = ? AND file_id = ?',
      ),
      directAudience: db.prepare<[{ file: string; user: string }], { one: number }>(
        `SELECT 1 AS one WHERE EXISTS (SELECT 1 FROM file_uploads WHERE file_id = @file AND username = @user)
           OR EXISTS (SELECT 1 FROM direct_messages WHERE file_id = @file AND (sender = @user OR recipient = @user))`,
      ),
      rooms: db.prepare<[string, number], { roomid: string }>('SELECT DISTINCT roomid FROM room_messages WHERE file_id = ? LIMIT ?'),
      // An upload no live message of its uploader carries, older than the grace period.
      lapseUploads: db.prepare<[number]>(
        `DELETE FROM file_uploads WHERE uploaded_at < ?
           AND NOT EXISTS (SELECT 1 FROM room_messages m WHERE m.file_id = file_uploads.file_id AND m.sender = file_uploads.username)
           AND NOT EXISTS (SELECT 1 FROM direct_messages d WHERE d.file_id = file_uploads.file_id AND d.sender = file_uploads.username)`,
      ),
      unkept: db.prepare<[number], { id: string }>(`SELECT f.id FROM files f WHERE ${UNKEPT} LIMIT ?`),
      deleteFile: db.prepare<[string]>('DELETE FROM files WHERE id = ?'),
    } satisfies Record<string, Statement<unknown[], unknown>>;
    this.recordTx = db.transaction((file: StoredFile, upload: FileUpload, quota: number): boolean => {
      const used = this.q.usedExcept.get(upload.username, file.id)!.bytes;
      if (used + file.size > quota) return false;
      this.q.insertFile.run(file.id, file.size, file.type, file.thumbnail ? 1 : 0);
      this.q.upsertUpload.run(upload.username, file.id, upload.name, upload.uploadedAt);
      return true;
    });
    this.sweepTx = db.transaction((before: number, limit: number): string[] => {
      this.q.lapseUploads.run(before);
      const ids = this.q.unkept.all(limit).map((r) => r.id);
      for (const id of ids) this.q.deleteFile.run(id);
      return ids;
    });
  }

  getFile(id: string): StoredFile | null {
    const row = this.q.getFile.get(id);
    return row ? { id: row.id, size: row.size, type: row.type, thumbnail: row.thumbnail === 1 } : null;
  }

  recordUpload(file: StoredFile, upload: FileUpload, quota: number): boolean {
    return this.recordTx.immediate(file, upload, quota);
  }

  uploadedBytes(username: string): number {
    return this.q.usedExcept.get(username, '')!.bytes;
  }

  getUpload(username: string, fileId: string): FileUpload | null {
    const row = this.q.getUpload.get(username, fileId);
    return row ? { username: row.username, fileId: row.file_id, name: row.name, uploadedAt: row.uploaded_at } : null;
  }

  audience(username: string, fileId: string, maxRooms: number): { direct: boolean; rooms: string[] } {
    const direct = this.q.directAudience.get({ file: fileId, user: username }) !== undefined;
    const rooms = direct ? [] : this.q.rooms.all(fileId, Math.max(0, maxRooms)).map((r) => r.roomid);
    return { direct, rooms };
  }

  sweep(uploadedBefore: number, limit: number): string[] {
    return this.sweepTx.immediate(uploadedBefore, limit);
  }
}
