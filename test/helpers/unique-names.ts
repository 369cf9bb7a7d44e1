/** Test harness: names that do not collide with those of other tests sharing a server or a database. */

/** A random tag for this run of a test file: `width` base-36 characters. */
export function runTag(width: number): string {
  return Math.random()
    .toString(36)
    .slice(2, 2 + width)
    .padEnd(width, '0');
}

/**
 * A maker of names unique in this run: `prefix`, then `run`, then a counter in base 36. With a
 * short letters-only prefix the name is valid as identity, username and room id.
 */
export function uniqueNames(run: string): (prefix: string) => string {
  let n = 0;
  return (prefix) => `${prefix}${run}${(++n).toString(36)}`;
}
