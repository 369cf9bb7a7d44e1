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
 * The name of `names` closest to `typed` (case-insensitive), if it is close enough to be a
 * likely typo: at most 2 edits, and fewer edits than half the typed length (so `/x` suggests
 * nothing); a name `typed` is a prefix of counts as close (`/hist` → `history`). Ties go to the
 * earlier name.
 */
export function closestName(typed: string, names: readonly string[]): string | null {
  const word = typed.toLowerCase();
  let best: string | null = null;
  let bestDistance = Infinity;
  for (const name of names) {
    const distance = name.startsWith(word) && word.length >= 2 ? 0.5 : editDistance(word, name);
    if (distance < bestDistance) {
      best = name;
      bestDistance = distance;
    }
  }
  if (best === null) return null;
  return bestDistance <= 2 && bestDistance < Math.max(1, word.length / 2) ? best : null;
}
