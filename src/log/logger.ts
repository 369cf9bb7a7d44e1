import pino, { type Logger } from 'pino';

export type ProcessRole = 'supervisor' | 'hub' | 'worker';

/**
 * One logger per process, made in its main.ts: JSON lines on stdout tagged with role and pid.
 * Once a line cannot be written (stdout is a terminal that hung up: EIO; a pipe whose reader
 * left: EPIPE) the log is off for good, as pino itself does on EPIPE: its stream would
 * otherwise retry the write forever when the process exits, and a server stopping because
 * its terminal hung up would never end.
 */
export function createLogger(role: ProcessRole, level: string, extra: Record<string, unknown> = {}): Logger {
  const destination = pino.destination({ dest: 1, sync: false });
  destination.on('error', () => {
    destination.write = () => true;
    destination.flush = () => {};
    destination.flushSync = () => {};
    destination.end = () => {};
  });
  return pino({ level, base: { role, pid: process.pid, ...extra } }, destination);
}

export type { Logger };
