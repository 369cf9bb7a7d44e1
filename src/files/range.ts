/**
 * The one byte range of a `Range` header (RFC 9110 §14.1.2) within a file of `size` bytes:
 * `bytes=a-b`, `bytes=a-` or `bytes=-n` (the last n). Null: serve the whole file (no header,
 * another unit, several ranges, or a malformed one, which a server may ignore);
 * 'unsatisfiable': a well-formed range wholly past the end (416).
 */
export function parseRange(header: string | undefined, size: number): { start: number; end: number } | null | 'unsatisfiable' {
  if (header === undefined) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return null;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) return 'unsatisfiable';
    return size === 0 ? 'unsatisfiable' : { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (m[2] !== '' && Number(m[2]) < start) return null;
  if (start >= size) return 'unsatisfiable';
  return { start, end };
}
