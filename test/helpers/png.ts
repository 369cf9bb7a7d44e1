import zlib from 'node:zlib';

/**
 * A valid RGB PNG of `width` x `height` pixels (a colour gradient, light at the top like a sky),
 * made in memory so tests and the screenshot script need no fixture file.
 */
export function gradientPng(width: number, height: number): Buffer {
  const row = width * 3 + 1; // a filter byte (0: none) then RGB triples
  const raw = Buffer.alloc(row * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = y * row + 1 + x * 3;
      const sky = y < height * 0.62;
      raw[o] = sky ? 90 + (y * 100) / height : 40 + (x * 60) / width;
      raw[o + 1] = sky ? 150 + (y * 80) / height : 110 + (y * 40) / height;
      raw[o + 2] = sky ? 230 : 60;
    }
  }
  const chunk = (type: string, data: Buffer): Buffer => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(zlib.crc32(body) >>> 0);
    return Buffer.concat([len, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // colour type: RGB
  return Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), chunk('IHDR', ihdr), chunk('IDAT', zlib.deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}
