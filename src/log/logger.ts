import pino, { type Logger } from 'pino';

export type ProcessRole = 'supervisor' | 'hub' | 'worker';

/** One logger per process, made in its main.ts: JSON lines on stdout tagged with role and pid. */
export function createLogger(role: ProcessRole, level: string, extra: Record<string, unknown> = {}): Logger {
  return pino({ level, base: { role, pid: process.pid, ...extra } });
}

export type { Logger };
