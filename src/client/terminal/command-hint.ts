/**
 * What to suggest for a mistyped command: the known name closest by edit distance.
 */

/**
 * The Levenshtein distance between `a` and `b` (insertions, deletions, substitutions; each 1).
 * O(|a|·|b|) time, O(|b|) memory: command names are short.
 */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
    }
    previous = current;
  }
  return previous[b.length]!;
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
