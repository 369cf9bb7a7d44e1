/**
 * True when `text` nests arrays/objects deeper than `maxDepth` (a top-level object is depth 1).
 * A single pass that counts `[` and `{` outside strings, run before JSON.parse so a hostile line
 * never reaches a parser, validator or handler that might recurse on it. It does not validate:
 * text that is not JSON gets an answer here that JSON.parse then makes moot.
 */
export function exceedsJsonDepth(text: string, maxDepth: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (++depth > maxDepth) return true;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      depth--;
    }
  }
  return false;
}
