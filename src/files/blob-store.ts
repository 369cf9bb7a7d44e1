import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { SNIFF_BYTES, THUMBNAIL_SOURCE_TYPES, TextSniffer, sniffType } from './sniff';
import { makeThumbnail } from './thumbnail';

/** A file id: the hex SHA-256 of its bytes. */
export const FILE_ID = /^[0-9a-f]{64}$/;

/** Where the blobs of a data dir live. */
export function filesDir(dataDir: string): string {
  return path.join(dataDir, 'files');
}

/** `<files>/ab/cd/<id>`: two levels of fan-out keep every directory small. */
export function blobPath(dir: string, id: string): string {
  return path.join(dir, id.slice(0, 2), id.slice(2, 4), id);
}

/** The thumbnail beside the blob. */
export function thumbnailPath(dir: string, id: string): string {
  return blobPath(dir, id) + '.thumb.webp';
}

/** The body passed the size limit: nothing is kept. `limit`: the bound it passed (bytes). */
export class BlobTooLarge extends Error {
  constructor(readonly limit: number) {
    super(`more than ${limit} bytes`);
  }
}

/** A received upload, hashed, typed and on disk under a temporary name until `commit`. */
export interface ReceivedBlob {
  id: string;
  size: number;
  type: string;
  thumbnail: boolean;
  /** Moves the bytes (and thumbnail) to their place, or drops them when the same bytes are there already. */
  commit(): Promise<void>;
  /** Removes the temporary files (an upload refused after it was received). */
  discard(): Promise<void>;
}

/**
 * Streams `body` to a temporary file in the blob directory (the same file system, so the final
 * rename is atomic) while hashing it, sniffing its type and counting it: past `maxBytes` it
 * stops reading (the stream is left paused, not destroyed, so an HTTP caller can still answer
 * 413 on its connection), removes the temporary file and rejects with BlobTooLarge. The bytes
 * are fsync'd before it resolves. Memory: one chunk at a time (the stream is paused while a
 * chunk is written), plus the first SNIFF_BYTES.
 */
export async function receiveBlob(dir: string, body: Readable, maxBytes: number): Promise<ReceivedBlob> {
  await fs.promises.mkdir(dir, { recursive: true });
  const tmp = path.join(dir, `.upload-${process.pid}-${randomBytes(8).toString('hex')}`);
  const thumbTmp = tmp + '.thumb.webp';
  const handle = await fs.promises.open(tmp, 'wx', 0o600);
  const hash = createHash('sha256');
  const text = new TextSniffer();
  const head: Buffer[] = [];
  let headBytes = 0;
  let size = 0;
  const discard = async (): Promise<void> => {
    await fs.promises.rm(tmp, { force: true });
    await fs.promises.rm(thumbTmp, { force: true });
  };
  try {
    await new Promise<void>((resolve, reject) => {
      let writing: Promise<void> = Promise.resolve();
      let failed = false;
      const stop = (err: Error): void => {
        if (failed) return;
        failed = true;
        body.off('data', onData);
        body.off('end', onEnd);
        // Paused, not destroyed: an HTTP caller still answers on the same connection.
        body.pause();
        reject(err);
      };
      const onData = (chunk: Buffer): void => {
        size += chunk.length;
        if (size > maxBytes) return stop(new BlobTooLarge(maxBytes));
        hash.update(chunk);
        text.push(chunk);
        if (headBytes < SNIFF_BYTES) {
          head.push(Buffer.from(chunk.subarray(0, SNIFF_BYTES - headBytes)));
          headBytes += Math.min(chunk.length, SNIFF_BYTES - headBytes);
        }
        // One chunk in memory at a time: the stream waits while it is written.
        body.pause();
        writing = writing.then(async () => {
          let written = 0;
          while (written < chunk.length) written += (await handle.write(chunk, written)).bytesWritten;
          if (!failed) body.resume();
        });
        writing.catch(stop);
      };
      const onEnd = (): void => {
        writing.then(() => {
          if (!failed) resolve();
        }, stop);
      };
      body.on('data', onData);
      body.once('end', onEnd);
      body.once('error', stop);
      body.once('close', () => {
        if (!body.readableEnded) stop(new Error('the body ended early (the client went away)'));
      });
      body.resume();
    });
    await handle.sync();
    await handle.close();
  } catch (err) {
    await handle.close().catch(() => undefined);
    await discard();
    throw err;
  }
  const id = hash.digest('hex');
  const type = await sniffType(Buffer.concat(head), text.end());
  const thumbnail = THUMBNAIL_SOURCE_TYPES.has(type) && (await makeThumbnail(tmp, thumbTmp));
  return {
    id,
    size,
    type,
    thumbnail,
    discard,
    commit: async () => {
      const target = blobPath(dir, id);
      await fs.promises.mkdir(path.dirname(target), { recursive: true });
      await placeOnce(tmp, target);
      if (thumbnail) await placeOnce(thumbTmp, thumbnailPath(dir, id));
      await syncDir(path.dirname(target));
    },
  };
}

/**
 * Content-addressed, so a file already at `target` holds the same bytes: the new copy is
 * dropped (deduplication). Else the rename makes it appear whole or not at all.
 */
async function placeOnce(tmp: string, target: string): Promise<void> {
  if (fs.existsSync(target)) {
    await fs.promises.rm(tmp, { force: true });
    return;
  }
  await fs.promises.rename(tmp, target);
}

/** The rename survives a crash once its directory is synced. */
async function syncDir(dir: string): Promise<void> {
  const handle = await fs.promises.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Deletes a blob and its thumbnail (the hub's sweep, once no record keeps them). Synchronous:
 * the hub runs it between two of its own steps, so no record of the same id is made between
 * the row's delete and the unlink (src/hub/file-service.ts).
 */
export function removeBlob(dir: string, id: string): void {
  if (!FILE_ID.test(id)) return;
  for (const file of [blobPath(dir, id), thumbnailPath(dir, id)]) {
    try {
      fs.unlinkSync(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
}

/**
 * Removes temporary upload files (`.upload-*` in the blob directory) last written before
 * `before` (ms since the epoch): left by a worker killed mid-upload. Failures are ignored (the
 * next sweep tries again).
 */
export function removeStaleUploads(dir: string, before: number): void {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith('.upload-')) continue;
    const file = path.join(dir, name);
    try {
      if (fs.statSync(file).mtimeMs < before) fs.unlinkSync(file);
    } catch {
      // gone meanwhile, or not ours to remove: the next sweep looks again
    }
  }
}
