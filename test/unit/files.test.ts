import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import { BlobTooLarge, blobPath, receiveBlob, removeBlob, removeStaleUploads, thumbnailPath } from '../../src/files/blob-store';
import { cleanFileName } from '../../src/files/file-name';
import { parseRange } from '../../src/files/range';
import { TextSniffer, sniffType } from '../../src/files/sniff';

/** The blob store, sniffing, names and ranges of files (docs/PROTOCOL.md, "Files and attachments"). */

function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'sb-blobs-'));
}

const chunks = (...parts: Array<string | Buffer>): Readable => Readable.from(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : p)));

describe('blob store', () => {
  test('content-addressed, fan-out, deduplicated; nothing left behind', async () => {
    const dir = tmpDir();
    try {
      const one = await receiveBlob(dir, chunks('hello ', 'world'), 100);
      assert.equal(one.id, 'b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9');
      assert.equal(one.size, 11);
      assert.equal(one.type, 'text/plain');
      await one.commit();
      const target = blobPath(dir, one.id);
      assert.equal(target, path.join(dir, 'b9', '4d', one.id));
      assert.equal(fs.readFileSync(target, 'utf8'), 'hello world');
      assert.equal(fs.statSync(target).mode & 0o777, 0o600);
      const two = await receiveBlob(dir, chunks('hello world'), 100);
      assert.equal(two.id, one.id);
      await two.commit();
      assert.deepEqual(fs.readdirSync(dir).filter((f) => f.startsWith('.upload-')), [], 'the second copy dropped');
      removeBlob(dir, one.id);
      assert.equal(fs.existsSync(target), false);
      removeBlob(dir, one.id);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('past the limit: BlobTooLarge, the temporary file removed', async () => {
    const dir = tmpDir();
    try {
      await assert.rejects(receiveBlob(dir, chunks(Buffer.alloc(60), Buffer.alloc(60)), 100), (err) => err instanceof BlobTooLarge && err.limit === 100);
      assert.deepEqual(fs.readdirSync(dir), []);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a PNG gets a thumbnail beside it; a broken one none', async () => {
    const dir = tmpDir();
    try {
      const sharp = (await import('sharp')).default;
      const png = await sharp({ create: { width: 100, height: 400, channels: 4, background: '#08f8' } }).png().toBuffer();
      const blob = await receiveBlob(dir, chunks(png), png.length);
      assert.equal(blob.type, 'image/png');
      assert.equal(blob.thumbnail, true);
      await blob.commit();
      const meta = await sharp(thumbnailPath(dir, blob.id)).metadata();
      assert.deepEqual([meta.format, meta.width, meta.height], ['webp', 80, 320]);
      const broken = await receiveBlob(dir, chunks(png.subarray(0, 60)), png.length);
      assert.equal(broken.type, 'image/png');
      assert.equal(broken.thumbnail, false);
      await broken.discard();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

test('stale temporary uploads are removed, fresh ones kept', () => {
  const dir = tmpDir();
  try {
    fs.writeFileSync(path.join(dir, '.upload-old'), 'x');
    fs.writeFileSync(path.join(dir, '.upload-new'), 'x');
    fs.writeFileSync(path.join(dir, 'other'), 'x');
    const hourAgo = new Date(Date.now() - 2 * 3600_000);
    fs.utimesSync(path.join(dir, '.upload-old'), hourAgo, hourAgo);
    removeStaleUploads(dir, Date.now() - 3600_000);
    assert.deepEqual(fs.readdirSync(dir).sort(), ['.upload-new', 'other']);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

describe('sniffing', () => {
  test('by the bytes: formats, text, binary; markup is text', async () => {
    const gif = Buffer.from('GIF89a\x01\x00\x01\x00\x00\x00\x00', 'latin1');
    assert.equal(await sniffType(gif, false), 'image/gif');
    assert.equal(await sniffType(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"></svg>'), true), 'text/plain');
    assert.equal(await sniffType(Buffer.from('<?xml version="1.0"?><a/>'), true), 'text/plain');
    assert.equal(await sniffType(Buffer.from([1, 2, 3]), false), 'application/octet-stream');
    assert.equal(await sniffType(Buffer.alloc(0), true), 'text/plain');
  });

  test('TextSniffer: UTF-8 split across chunks is text; NUL or a bad byte is not', () => {
    const euro = Buffer.from('€');
    const split = new TextSniffer();
    split.push(euro.subarray(0, 1));
    split.push(euro.subarray(1));
    assert.equal(split.end(), true);
    const cut = new TextSniffer();
    cut.push(euro.subarray(0, 2));
    assert.equal(cut.end(), false);
    const nul = new TextSniffer();
    nul.push(Buffer.from('a\0b'));
    assert.equal(nul.end(), false);
    const latin = new TextSniffer();
    latin.push(Buffer.from([0x63, 0xe9, 0x74]));
    assert.equal(latin.end(), false);
  });
});

describe('names and ranges', () => {
  test('cleanFileName strips paths, controls and quotes, keeps the rest, bounds the length', () => {
    assert.equal(cleanFileName('../../etc/passwd'), 'passwd');
    assert.equal(cleanFileName('C:\\Users\\x\\report "final".pdf'), 'report final.pdf');
    assert.equal(cleanFileName('a\r\nb<script>.txt'), 'abscript.txt');
    assert.equal(cleanFileName('photo 🐈.jpg'), 'photo 🐈.jpg');
    assert.equal(cleanFileName('..'), '');
    assert.equal([...cleanFileName('x'.repeat(300))].length, 255);
  });

  test('parseRange: one range, suffixes, open ends, unsatisfiable, ignored forms', () => {
    assert.equal(parseRange(undefined, 100), null);
    assert.deepEqual(parseRange('bytes=0-9', 100), { start: 0, end: 9 });
    assert.deepEqual(parseRange('bytes=90-', 100), { start: 90, end: 99 });
    assert.deepEqual(parseRange('bytes=95-200', 100), { start: 95, end: 99 });
    assert.deepEqual(parseRange('bytes=-10', 100), { start: 90, end: 99 });
    assert.deepEqual(parseRange('bytes=-500', 100), { start: 0, end: 99 });
    assert.equal(parseRange('bytes=100-', 100), 'unsatisfiable');
    assert.equal(parseRange('bytes=-0', 100), 'unsatisfiable');
    assert.equal(parseRange('bytes=0-1,5-6', 100), null);
    assert.equal(parseRange('items=0-1', 100), null);
    assert.equal(parseRange('bytes=9-2', 100), null);
  });
});
