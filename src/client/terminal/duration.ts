/**
 * Ban durations as typed: `30s`, `10m`, `2h`, `1d`, or a plain number of seconds.
 */

const SECONDS_PER_UNIT: Readonly<Record<string, number>> = { '': 1, s: 1, m: 60, h: 3600, d: 86_400 };

const DURATION = /^(\d+)([smhd]?)$/i;

/** What a duration is written as, for messages to the user. */
export const DURATION_FORMS = '30s, 10m, 2h, 1d or a number of seconds';

/**
 * Whether `word` was meant as a duration (it starts with a digit or a sign), so that a typo in
 * it is reported rather than taken for the first word of a reason.
 */
export function looksLikeDuration(word: string): boolean {
  return /^[+-]?\.?\d/.test(word);
}

/** A duration read: its seconds, or why it could not be. */
export type ParsedDuration = { ok: true; seconds: number } | { ok: false; why: string };

/**
 * The number of seconds `word` stands for.
 *
 * @example
 * parseDuration('90')   // → { ok: true, seconds: 90 }
 * parseDuration('10m')  // → { ok: true, seconds: 600 }
 * parseDuration('1d')   // → { ok: true, seconds: 86400 }
 * parseDuration('1.5h') // → { ok: false, why: '"1.5h" is not a duration: use 30s, 10m, ...' }
 */
export function parseDuration(word: string): ParsedDuration {
  const match = DURATION.exec(word);
  if (!match) return { ok: false, why: `"${word}" is not a duration: use ${DURATION_FORMS}` };
  const seconds = Number(match[1]) * SECONDS_PER_UNIT[match[2]!.toLowerCase()]!;
  // Milliseconds are what a ban's end is counted in: they must stay exact.
  if (!Number.isSafeInteger(seconds * 1000)) return { ok: false, why: `"${word}" is too long a duration` };
  return { ok: true, seconds };
}
