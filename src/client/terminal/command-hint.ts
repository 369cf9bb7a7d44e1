/**
 * What to suggest for a mistyped command: the known name closest by edit distance.
 */

/**
 * The edit distance between `a` and `b`: insertions, deletions, substitutions and swaps of two
 * neighbours (`joni` → `join`), each 1 (optimal string alignment). O(|a|·|b|): names are short.
 */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, d[i - 2]![j - 2]! + 1);
      d[i]![j] = best;
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * The name of `names` one edit away from `typed` (case-insensitive): one letter inserted,
 * deleted, replaced, or two neighbours swapped (`/lst`, `/lisst`, `/lust`, `/lsit` → `list`),
 * the README's "one letter away". Ties go to the earlier name; null when none is.
 *
 * @param maxDistance edits allowed: 1 for the hint and the `#word` catch (one rule for both);
 *   more only where erring costs nothing (masking a password in a mistyped command)
 */
export function closestName(typed: string, names: readonly string[], maxDistance = 1): string | null {
  const word = typed.toLowerCase();
  let best: string | null = null;
  let bestDistance = Infinity;
  for (const name of names) {
    const distance = editDistance(word, name);
    if (distance < bestDistance) {
      best = name;
      bestDistance = distance;
    }
  }
  return bestDistance <= maxDistance ? best : null;
}
