/**
 * Content-coding negotiation for the web app's precompressed files: the build writes
 * `x.js.br` and `x.js.gz` beside `x.js` (src/client/web/vite.config.mjs), and the static route
 * asks {@link acceptedCodings} which of them the client takes.
 */

/** A coding the build may have written a sibling file for. */
export type ContentCoding = 'br' | 'gzip';

/** Ours, best first: brotli is smaller than gzip at the same speed of decoding. */
const PREFERENCE: readonly ContentCoding[] = ['br', 'gzip'];

/**
 * The codings of ours that an `Accept-Encoding` value accepts (weight above 0), best first: by
 * the client's weight, then brotli before gzip. Per RFC 9110 §12.5.3: names are
 * case-insensitive, `x-gzip` is gzip, `*` covers the codings not named, `q=0` refuses, an
 * unreadable weight makes its entry count for nothing. No header (or an empty one) is taken
 * as "identity only": the RFC lets a server send anything then, but a client that sent no
 * header may well not decode what it gets.
 *
 * @example acceptedCodings('gzip, deflate, br') // ['br', 'gzip']
 * @example acceptedCodings('br;q=0, gzip')      // ['gzip']
 */
export function acceptedCodings(header: string | undefined): ContentCoding[] {
  if (header === undefined) return [];
  const weights = new Map<string, number>();
  for (const entry of header.split(',')) {
    const [rawName, ...params] = entry.split(';');
    let name = rawName!.trim().toLowerCase();
    if (name === '') continue;
    if (name === 'x-gzip') name = 'gzip';
    let q = 1;
    for (const param of params) {
      const [key, value] = param.split('=').map((s) => s.trim());
      if (key?.toLowerCase() === 'q') q = /^(0(\.\d{0,3})?|1(\.0{0,3})?)$/.test(value ?? '') ? Number(value) : 0;
    }
    // The same name twice: the most restrictive wins, so a stray `br;q=0` is never undone.
    weights.set(name, Math.min(q, weights.get(name) ?? 1));
  }
  const wildcard = weights.get('*') ?? 0;
  return PREFERENCE.map((coding) => ({ coding, q: weights.get(coding) ?? wildcard }))
    .filter((c) => c.q > 0)
    .sort((a, b) => b.q - a.q || PREFERENCE.indexOf(a.coding) - PREFERENCE.indexOf(b.coding))
    .map((c) => c.coding);
}

/** The suffix of a coding's sibling file, as the build names it. */
export const SIBLING_SUFFIX: Readonly<Record<ContentCoding, string>> = { br: '.br', gzip: '.gz' };

/** The suffix of a coding's ETag, so each encoding of a file validates on its own. */
export const ETAG_SUFFIX: Readonly<Record<ContentCoding, string>> = { br: '-br', gzip: '-gz' };

/**
 * The file extensions worth compressing (text); images, fonts and wasm are compressed already
 * or gain little. The build's list in src/client/web/vite.config.mjs is the same.
 */
export const COMPRESSIBLE = new Set(['.js', '.mjs', '.css', '.html', '.svg', '.json', '.map', '.txt', '.webmanifest']);

/**
 * Whether an `If-None-Match` value names `etag`: `*`, or any entry of its list by the weak
 * comparison (RFC 9110 §13.1.2: `W/` ignored), since a cache holding several encodings of a
 * file may send all their tags.
 */
export function etagMatches(ifNoneMatch: string | undefined, etag: string): boolean {
  if (ifNoneMatch === undefined) return false;
  const opaque = (tag: string): string => tag.trim().replace(/^W\//, '');
  const want = opaque(etag);
  return ifNoneMatch.split(',').some((tag) => tag.trim() === '*' || opaque(tag) === want);
}
