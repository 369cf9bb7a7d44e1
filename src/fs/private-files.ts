import fs from 'node:fs';

/**
 * Files and directories that hold what users trust the server with (password hashes, DMs,
 * chat history, session tokens, transcripts) are the owner's alone: files 0600, directories
 * 0700, as PostgreSQL and OpenSSH keep theirs. Created that way, not fixed afterwards, and a
 * file or directory left looser by an older version is tightened when it is opened again.
 */
export const PRIVATE_FILE_MODE = 0o600;
export const PRIVATE_DIR_MODE = 0o700;

/**
 * Every file and directory this process creates from now on, by any means (SQLite's own
 * -wal/-shm/-journal and backup files included), gets no group or other bits: umask 077, as
 * PostgreSQL's server sets. Inherited by the processes it forks.
 */
export function usePrivateUmask(): void {
  process.umask(0o077);
}

/** Creates `dir` (and missing parents) as 0700, or tightens an existing one to 0700. */
export function ensurePrivateDir(dir: string): void {
  fs.mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  tighten(dir, PRIVATE_DIR_MODE);
}

/** Creates `file` empty as 0600 if it is missing; tightens it to 0600 if it is looser. */
export function ensurePrivateFile(file: string): void {
  fs.closeSync(fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_CREAT, PRIVATE_FILE_MODE));
  tighten(file, PRIVATE_FILE_MODE);
}

/** Tightens `file` to 0600 if it exists and is looser; a missing file is fine. */
export function tightenIfPresent(file: string): void {
  try {
    tighten(file, PRIVATE_FILE_MODE);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

/** chmod to `mode` only when group or other have any bit: the owner's own bits are theirs to keep. */
function tighten(p: string, mode: number): void {
  if ((fs.statSync(p).mode & 0o077) !== 0) fs.chmodSync(p, mode);
}
