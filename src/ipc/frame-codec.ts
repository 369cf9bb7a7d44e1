/**
 * Length-prefixed binary frames for the Unix-socket links between processes:
 * `u32be length | u8 kind | payload`, where length counts kind + payload.
 * The decoder is pure and bounded; a frame over the bound is a protocol violation.
 */

export const FRAME_HEADER_BYTES = 5;

export class FrameTooLargeError extends Error {
  readonly code = 'IPC_FRAME_TOO_LARGE';
  constructor(size: number, max: number) {
    super(`IPC frame of ${size} bytes exceeds the bound of ${max}`);
  }
}

export function encodeFrame(kind: number, payload: Buffer): Buffer {
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payload.length);
  frame.writeUInt32BE(1 + payload.length, 0);
  frame[4] = kind;
  payload.copy(frame, FRAME_HEADER_BYTES);
  return frame;
}

/** A frame whose payload is written by `fill` into a buffer of exactly `payloadBytes`. */
export function buildFrame(kind: number, payloadBytes: number, fill: (frame: Buffer, offset: number) => void): Buffer {
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payloadBytes);
  frame.writeUInt32BE(1 + payloadBytes, 0);
  frame[4] = kind;
  fill(frame, FRAME_HEADER_BYTES);
  return frame;
}

export class FrameDecoder {
  private buffered: Buffer = Buffer.alloc(0);

  constructor(private readonly maxFrameBytes: number) {}

  /**
   * Feeds bytes; calls `onFrame(kind, payload)` for each complete frame. The payload is a view
   * valid only during the call. Throws FrameTooLargeError.
   */
  push(chunk: Buffer, onFrame: (kind: number, payload: Buffer) => void): void {
    const buf = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    let offset = 0;
    while (buf.length - offset >= 4) {
      const length = buf.readUInt32BE(offset);
      if (length < 1 || length > this.maxFrameBytes) throw new FrameTooLargeError(length, this.maxFrameBytes);
      if (buf.length - offset - 4 < length) break;
      const kind = buf[offset + 4]!;
      onFrame(kind, buf.subarray(offset + FRAME_HEADER_BYTES, offset + 4 + length));
      offset += 4 + length;
    }
    // Keep only the unfinished tail, copied so the stream's chunk can be released.
    this.buffered = offset === buf.length ? Buffer.alloc(0) : Buffer.from(buf.subarray(offset));
  }
}
