import type { StoredFile } from '../store/store';

/**
 * What a worker asks the hub about files for its HTTP clients (src/worker/files-route.ts),
 * outside any chat session: each ask carries a correlation id (`cid`, u32, the worker's own)
 * that its answer repeats. Tokens are the `loggedin` reply's (src/auth/tokens.ts).
 */
export type FileAsk =
  /** Who the token belongs to (asked before an upload's body is read). */
  | { op: 'auth'; token: string }
  /**
   * Records an upload received and hashed by the worker, against the account's quota: only
   * here, with the id known, can bytes the account already holds be counted once.
   */
  | { op: 'record'; token: string; file: StoredFile; name: string }
  /** The file, when the token's account may see it (docs/PROTOCOL.md, "Files and attachments"). */
  | { op: 'access'; token: string; id: string };

/** Why an ask was refused: an ErrorCode of src/protocol/errors.ts. */
export type FileRefusal = 'NOT_LOGGED_IN' | 'QUOTA_EXCEEDED' | 'NO_SUCH_FILE' | 'STORE_FAILED' | 'BUSY' | 'INTERNAL_ERROR';

export type FileAnswer =
  | { ok: true; username: string }
  | { ok: true; file: StoredFile }
  | { ok: false; code: FileRefusal; message: string };

export interface FileAskFrame {
  cid: number;
  ask: FileAsk;
}

export interface FileAnswerFrame {
  cid: number;
  answer: FileAnswer;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The shape of a FILE_ASK payload, checked (the hub trusts its workers, but not a bug in one). */
export function isFileAskFrame(v: unknown): v is FileAskFrame {
  if (!isObject(v) || !Number.isInteger(v.cid) || (v.cid as number) < 0 || (v.cid as number) > 0xffffffff || !isObject(v.ask)) return false;
  const a = v.ask;
  if (typeof a.token !== 'string') return false;
  switch (a.op) {
    case 'auth':
      return true;
    case 'record': {
      const f = a.file as Record<string, unknown> | undefined;
      return isObject(f) && typeof f.id === 'string' && Number.isSafeInteger(f.size) && typeof f.type === 'string' && typeof f.thumbnail === 'boolean' && typeof a.name === 'string';
    }
    case 'access':
      return typeof a.id === 'string';
    default:
      return false;
  }
}
