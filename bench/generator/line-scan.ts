/**
 * Cheap scanning of the server's NDJSON lines: a delivery is recognised by the bytes of its
 * `type` and its send timestamp read in place, with no JSON parse and no string made.
 * Server lines begin `{"type":"`, so the type's first letters sit at fixed offsets.
 */

const TYPE_AT = 9; // '{"type":"'.length
const CONTENT = Buffer.from('"content":"');

/** What a line is, from its type's leading bytes. */
export const enum LineKind {
  Message,
  NewIdentity,
  RoomChange,
  RoomContents,
  Error,
  Other,
}

export function lineKind(buf: Buffer, start: number): LineKind {
  switch (buf[start + TYPE_AT]) {
    case 0x6d: // m(essage)
      return LineKind.Message;
    case 0x6e: // n(ewidentity)
      return LineKind.NewIdentity;
    case 0x65: // e(rror)
      return LineKind.Error;
    case 0x72: // r(oom...): roomchange, roomcontents, roomlist
      if (buf[start + TYPE_AT + 4] === 0x63) return buf[start + TYPE_AT + 5] === 0x68 ? LineKind.RoomChange : LineKind.RoomContents;
      return LineKind.Other;
    default:
      return LineKind.Other;
  }
}

/**
 * The sender's `now()` stamp (ms with a fraction) that ends a message line's content, or NaN.
 * The server writes `content` last, so the stamp sits just before the line's closing `"}`:
 * read backwards from there, no search. Another field order falls back to a search.
 */
export function messageTimestamp(buf: Buffer, start: number, end: number): number {
  let close = end - 2;
  if (buf[end - 1] !== 0x7d || buf[close] !== 0x22) {
    const at = buf.indexOf(CONTENT, start);
    if (at === -1 || at >= end) return NaN;
    close = buf.indexOf(0x22, at + CONTENT.length);
    if (close === -1 || close >= end) return NaN;
  }
  let i = close - 1;
  while (i > start && ((buf[i]! >= 0x30 && buf[i]! <= 0x39) || buf[i] === 0x2e)) i--;
  return parseNumberAt(buf, i + 1, close);
}

/** Parses `digits[.digits]` at `i`; NaN without a leading digit. */
export function parseNumberAt(buf: Buffer, i: number, end: number): number {
  let value = 0;
  let digits = 0;
  while (i < end) {
    const d = buf[i]! - 0x30;
    if (d < 0 || d > 9) break;
    value = value * 10 + d;
    digits++;
    i++;
  }
  if (digits === 0) return NaN;
  if (buf[i] === 0x2e) {
    let scale = 0.1;
    for (i++; i < end; i++) {
      const d = buf[i]! - 0x30;
      if (d < 0 || d > 9) break;
      value += d * scale;
      scale /= 10;
    }
  }
  return value;
}

/** The same for a content string (Socket.IO hands it over already decoded). */
export function contentTimestamp(text: string): number {
  return Number(text.slice(text.lastIndexOf(' ') + 1));
}

/** A message content: padding (ending in a space) then the stamp, `size` bytes in all. */
export function messageContent(stamp: number, padding: string): string {
  return padding + stamp.toFixed(3);
}

/** Padding that brings a content with a 17-character stamp to `size` bytes (at least a space). */
export function paddingFor(size: number): string {
  return 'x'.repeat(Math.max(0, size - 18)) + ' ';
}
