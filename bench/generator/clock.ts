import { performance } from 'node:perf_hooks';

/**
 * Wall-clock milliseconds with a microsecond fraction. Unlike process.hrtime, this is
 * comparable across processes of one machine, so a receiver can subtract a sender's stamp.
 */
export function now(): number {
  return performance.timeOrigin + performance.now();
}

/** Microseconds between two `now()` readings, at least 1 (a histogram's lowest value). */
export function microsBetween(from: number, to: number): number {
  const us = Math.round((to - from) * 1000);
  return us < 1 ? 1 : us;
}
