import { isUtf8 } from 'node:buffer';

/**
 * Splits a byte stream into newline-terminated lines, bounded: a line longer than `maxLineBytes`
 * is reported as soon as the bound is passed, without buffering the rest of it. Knows nothing
 * of sockets; the caller feeds chunks and acts on the result.
 */
export class LineSplitter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private overflowed = false;

  constructor(private maxLineBytes: number) {}

  /** A new bound from the next byte on (a settings reload); a line already longer fails at its next chunk. */
  setMaxLineBytes(max: number): void {
    this.maxLineBytes = max;
  }

  /**
   * Feeds one chunk. Calls `onLine` for each complete line (without the `\n`, a trailing `\r`
   * removed), with `utf8` false when its bytes were not valid UTF-8 (the decoded line then holds
   * U+FFFD in their place). Returns false once a line has passed the bound; the splitter then
   * stays closed.
   */
  push(chunk: Buffer, onLine: (line: string, utf8: boolean) => void): boolean {
    if (this.overflowed) return false;
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(0x0a, start);
      if (nl === -1) break;
      if (this.pendingBytes + (nl - start) > this.maxLineBytes) return this.overflow();
      const piece = chunk.subarray(start, nl);
      const line = this.pendingBytes === 0 ? piece : Buffer.concat([...this.pending, piece]);
      this.pending = [];
      this.pendingBytes = 0;
      start = nl + 1;
      const end = line.length > 0 && line[line.length - 1] === 0x0d ? line.length - 1 : line.length;
      const text = line.toString('utf8', 0, end);
      // Only a line showing U+FFFD can have had bytes replaced; a client may send U+FFFD itself.
      onLine(text, !text.includes('\uFFFD') || isUtf8(line.subarray(0, end)));
      if (this.overflowed) return false;
    }
    const rest = chunk.length - start;
    if (rest > 0) {
      if (this.pendingBytes + rest > this.maxLineBytes) return this.overflow();
      // Copy: the chunk may be a view into a pooled buffer that the stream reuses.
      this.pending.push(Buffer.from(chunk.subarray(start)));
      this.pendingBytes += rest;
    }
    return true;
  }

  /** Bytes of an unfinished line held. */
  get bufferedBytes(): number {
    return this.pendingBytes;
  }

  private overflow(): false {
    this.overflowed = true;
    this.pending = [];
    this.pendingBytes = 0;
    return false;
  }
}
