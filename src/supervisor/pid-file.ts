import fs from 'node:fs';

/** Thrown when a pid file names a process that is alive: another server (or whatever took its pid) runs. */
export class PidFileInUse extends Error {
  readonly code = 'PID_FILE_IN_USE';
}

/** The pid a pid file names, or null when it is missing or holds no pid. */
export function readPidFile(file: string): number | null {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  const pid = Number(text.trim());
  return Number.isSafeInteger(pid) && pid > 0 ? pid : null;
}

/** True when process `pid` exists (EPERM: it does, and belongs to someone else). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Refuses (PidFileInUse) when `file` names a live process other than this one; a pid file
 * left by a process that is gone (killed, the machine rebooted) is stale and will be replaced.
 */
export function checkPidFile(file: string): void {
  const pid = readPidFile(file);
  if (pid !== null && pid !== process.pid && processAlive(pid)) throw new PidFileInUse(`pid file ${file} names process ${pid}, which is running: is a server running already? (remove the file if that process is not one)`);
}

/** Writes this process's pid, whole or not at all (a temporary file renamed over it). */
export function writePidFile(file: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${process.pid}\n`, { mode: 0o644 });
  fs.renameSync(tmp, file);
}

/** Removes the pid file if it still names this process (a later server's is left alone). */
export function removePidFile(file: string): void {
  try {
    if (readPidFile(file) === process.pid) fs.rmSync(file, { force: true });
  } catch {
    // Best effort at exit: a pid file we cannot read is not ours to remove.
  }
}
