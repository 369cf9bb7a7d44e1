/**
 * A bounded splitter of a byte stream into newline-terminated UTF-8 lines. Pure: knows nothing
 * of sockets.
 */

/** One result of splitting: a complete line, or the size of a line too long to keep. */
export type SplitEvent = { kind: 'line'; text: string } | { kind: 'overflow'; bytes: number };

/** Default limit on one server line (1 MiB). */
export const DEFAULT_MAX_LINE_BYTES = 1024 * 1024;

/**
 * Splits chunks into lines. Chunks are kept as a list and joined once per line, so a long line
 * arriving in many chunks costs linear time; a line longer than `maxBytes` is dropped (reported
 * as `overflow` with its length) instead of growing memory without bound. A trailing `\r` is
 * removed, so CRLF works too.
 */
export class LineSplitter {
  private parts: Buffer[] = [];
  private size = 0;
  private overflowing = false;

  constructor(private readonly maxBytes: number = DEFAULT_MAX_LINE_BYTES) {}

  /** Feeds one chunk; returns the events it completes, in order. */
  push(chunk: Buffer): SplitEvent[] {
    const events: SplitEvent[] = [];
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(0x0a, start);
      if (nl === -1) break;
      this.append(chunk.subarray(start, nl));
      events.push(this.take());
      start = nl + 1;
    }
    if (start < chunk.length) this.append(chunk.subarray(start));
    return events;
  }

  /** Ends the stream: an unterminated last line, if any, is returned as a line. */
  end(): SplitEvent[] {
    return this.size > 0 || this.overflowing ? [this.take()] : [];
  }

  private append(piece: Buffer): void {
    this.size += piece.length;
    if (this.size > this.maxBytes) {
      this.overflowing = true;
      this.parts = [];
    } else if (piece.length > 0) {
      this.parts.push(piece);
    }
  }

  private take(): SplitEvent {
    const size = this.size;
    let event: SplitEvent;
    if (this.overflowing) {
      event = { kind: 'overflow', bytes: size };
    } else {
      let text = Buffer.concat(this.parts, size).toString('utf8');
      if (text.endsWith('\r')) text = text.slice(0, -1);
      event = { kind: 'line', text };
    }
    this.parts = [];
    this.size = 0;
    this.overflowing = false;
    return event;
  }
}
