/**
 * The `--log FILE` transcript: every line shown and every line typed, appended with an ISO
 * timestamp and a tag (`out` shown, `in` typed, `err` shown on stderr, `---` session marks).
 */
import * as fs from 'node:fs';
import { PRIVATE_FILE_MODE } from '../../fs/private-files';

export interface SessionLog {
  shown(line: string): void;
  typed(line: string): void;
  failed(line: string): void;
  mark(line: string): void;
  close(): void;
}

/** A log that records nothing, for sessions without `--log`. */
export const noSessionLog: SessionLog = {
  shown: () => undefined,
  typed: () => undefined,
  failed: () => undefined,
  mark: () => undefined,
  close: () => undefined,
};

/**
 * Opens `file` for appending (creating it). Throws if it cannot be opened; a later write
 * failure (disk full…) turns the log off and is reported once through `onError`.
 */
export function openSessionLog(file: string, onError: (err: Error) => void): SessionLog {
  // Synchronous appends keep the transcript in order and complete even if the process exits
  // right after; a chat session writes little.
  // The transcript holds DMs: the user's alone (0600), also when the file already existed.
  let fd: number | null = fs.openSync(file, 'a', PRIVATE_FILE_MODE);
  if ((fs.fstatSync(fd).mode & 0o077) !== 0) fs.fchmodSync(fd, PRIVATE_FILE_MODE);
  const write = (tag: string, line: string): void => {
    if (fd === null) return;
    try {
      fs.writeSync(fd, `${new Date().toISOString()} ${tag} ${line}\n`);
    } catch (err) {
      try {
        fs.closeSync(fd);
      } catch {
        // already reported the write error; nothing more to do
      }
      fd = null;
      onError(err as Error);
    }
  };
  return {
    shown: (line) => write('out', line),
    typed: (line) => write('in', line),
    failed: (line) => write('err', line),
    mark: (line) => write('---', line),
    close: () => {
      if (fd === null) return;
      fs.closeSync(fd);
      fd = null;
    },
  };
}
