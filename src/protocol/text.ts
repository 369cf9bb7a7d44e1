/**
 * Well-formed text at the boundary. A JavaScript string may hold a lone surrogate (JSON allows
 * `"\ud800"`), which UTF-8 cannot carry: every encoder on the way (IPC, SQLite, the socket)
 * would silently turn it into U+FFFD. Likewise bytes that are not UTF-8 are decoded to U+FFFD.
 * Such text is refused (`INVALID_TEXT`) where the line is read, so every text field the server
 * keeps or relays is carried exactly (docs/PROTOCOL.md, Messages).
 */

/** Matches a lone surrogate: in `u` mode a well-formed pair is one code point, not `Cs`. */
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * True when some string in `value` (a parsed JSON value: any depth, object keys included) holds
 * a lone surrogate. `line` is the JSON text it was parsed from: a lone surrogate can only come
 * from a `\u` escape there (decoding UTF-8 never yields one), so lines without one cost a
 * single scan.
 */
export function hasLoneSurrogate(line: string, value: unknown): boolean {
  return line.includes('\\u') && walk(value);
}

function walk(value: unknown): boolean {
  if (typeof value === 'string') return LONE_SURROGATE.test(value);
  if (typeof value !== 'object' || value === null) return false;
  if (Array.isArray(value)) return value.some(walk);
  for (const [key, item] of Object.entries(value)) if (LONE_SURROGATE.test(key) || walk(item)) return true;
  return false;
}
