import { randomFillSync } from 'node:crypto';

/**
 * Message ids: UUIDv7 (RFC 9562), time-ordered, so consecutive messages land next to each
 * other in the store's unique index instead of on a random page of it (random v4 ids cut
 * ingest to a fifth once a million messages are stored: bench/store-ingest.ts --ids).
 * Within one millisecond a 12-bit counter keeps them increasing.
 */

const pool = Buffer.alloc(4096);
let poolAt = pool.length;
let lastMs = -1;
let counter = 0;

function random(n: number): Buffer {
  if (poolAt + n > pool.length) {
    randomFillSync(pool);
    poolAt = 0;
  }
  const out = pool.subarray(poolAt, poolAt + n);
  poolAt += n;
  return out;
}

export function newMessageId(now = Date.now()): string {
  if (now <= lastMs) {
    counter = (counter + 1) & 0xfff;
    // Counter wrapped within one millisecond: borrow the next one, order is what matters.
    if (counter === 0) lastMs++;
  } else {
    lastMs = now;
    counter = random(2).readUInt16BE(0) & 0x7ff;
  }
  const bytes = Buffer.allocUnsafe(16);
  bytes.writeUIntBE(lastMs, 0, 6);
  bytes.writeUInt16BE(0x7000 | counter, 6);
  random(8).copy(bytes, 8);
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
