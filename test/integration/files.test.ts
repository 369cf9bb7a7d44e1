import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { workerPids } from '../helpers/chaos';
import { download, heldDownload, upload } from '../helpers/files-http';
import { login, ok, refused, register, welcomed, type Conn } from '../helpers/requests';
import * as proc from '../helpers/procfs';
import { startServer, type RunningServer } from '../helpers/server';
import { sleep, until } from '../helpers/wait';
import { runTag, uniqueNames } from '../helpers/unique-names';

/**
 * Files and attachments (docs/PROTOCOL.md, "Files and attachments") through the real HTTP port
 * of a real server (one worker, so its memory can be watched): upload limits and quota, type
 * sniffing and the download headers, who may download, recall, ranges, a large file streamed
 * both ways, deduplication, thumbnails, and the sweep that deletes what nothing keeps.
 */

const MiB = 1024 * 1024;
const MAX_FILE = 21 * MiB;
const QUOTA = 30 * MiB;
const GRACE_MS = 1500;

const RUN = runTag(3);
const uniq = uniqueNames(RUN);

let server: RunningServer;
let httpPort: number;

/** A logged-in account on a TCP connection, with its token. */
async function account(prefix = 'u'): Promise<Conn & { token: string; name: string }> {
  const conn = await welcomed(server.port);
  const name = uniq(prefix);
  await register(conn.c, name);
  const token = await login(conn, name);
  return { ...conn, token, name };
}

/** `n` bytes from a seed, produced chunk by chunk (never whole in memory), and their SHA-256. */
function bytes(n: number, seed: number): { stream: () => Readable; sha256: string } {
  const chunk = (i: number): Buffer => {
    const b = Buffer.alloc(Math.min(64 * 1024, n - i * 64 * 1024));
    for (let j = 0; j < b.length; j += 4) b.writeUInt32LE((seed * 2654435761 + i * 40503 + j) >>> 0, j);
    return b;
  };
  const count = Math.ceil(n / (64 * 1024));
  const hash = createHash('sha256');
  for (let i = 0; i < count; i++) hash.update(chunk(i));
  return {
    sha256: hash.digest('hex'),
    stream: () => {
      let i = 0;
      return new Readable({
        read() {
          this.push(i < count ? chunk(i++) : null);
        },
      });
    },
  };
}

async function png(width: number, height: number): Promise<Buffer> {
  const sharp = (await import('sharp')).default;
  return sharp({ create: { width, height, channels: 3, background: { r: 200, g: 40, b: 90 } } }).png().toBuffer();
}

before(async () => {
  server = await startServer({
    args: ['--http-port', '0', '--workers', '1', '--max-file-bytes', String(MAX_FILE), '--file-quota-bytes', String(QUOTA), '--file-upload-grace-ms', String(GRACE_MS), '--file-sweep-interval-ms', '200'],
  });
  httpPort = server.httpPort!;
});

after(async () => {
  await server?.stop();
});

describe('upload limits', () => {
  test('no token or a bad one: 401 NOT_LOGGED_IN', async () => {
    const none = await upload(httpPort, null, 'a.txt', Buffer.from('hi'));
    assert.equal(none.status, 401);
    assert.equal(none.json?.error, 'NOT_LOGGED_IN');
    const bad = await upload(httpPort, 'not-a-token', 'a.txt', Buffer.from('hi'));
    assert.equal(bad.status, 401);
    assert.equal(bad.json?.error, 'NOT_LOGGED_IN');
  });

  test('too large: 413 FILE_TOO_LARGE, declared or found while streaming; nothing kept', async () => {
    const a = await account();
    const declared = await upload(httpPort, a.token, 'big.bin', Buffer.alloc(MAX_FILE + 1));
    assert.equal(declared.status, 413);
    assert.equal(declared.json?.error, 'FILE_TOO_LARGE');
    const streamed = await upload(httpPort, a.token, 'big.bin', bytes(MAX_FILE + 3 * MiB, 1).stream());
    assert.equal(streamed.status, 413);
    assert.equal(streamed.json?.error, 'FILE_TOO_LARGE');
    // No temporary file left behind, no blob stored.
    const dir = path.join(server.dataDir, 'files');
    const left = fs.existsSync(dir) ? fs.readdirSync(dir, { recursive: true }).map(String).filter((f) => f.includes('.upload-')) : [];
    assert.deepEqual(left, []);
    await a.c.close();
  });

  test('quota: 413 QUOTA_EXCEEDED past --file-quota-bytes, nothing kept; the same file again counts once, even at a full quota', async () => {
    const a = await account();
    const b = await account();
    // A DM carrying an upload keeps it past the uploads' grace period: the quota counts it throughout.
    const keep = (id: unknown): Promise<unknown> => ok(a.c, { type: 'dm', to: b.name, content: '', attachment: { id } }, 'dm');
    const dir = path.join(server.dataDir, 'files');
    const stored = (id: string): boolean => fs.existsSync(path.join(dir, id.slice(0, 2), id.slice(2, 4), id));
    const first = bytes(20 * MiB, 2);
    const one = await upload(httpPort, a.token, 'one.bin', first.stream());
    assert.equal(one.status, 201, JSON.stringify(one.json));
    assert.equal(one.json?.id, first.sha256);
    await keep(one.json?.id);
    const small = Buffer.alloc(1 * MiB, 5);
    const smallUp = await upload(httpPort, a.token, 'small.bin', small);
    assert.equal(smallUp.status, 201);
    await keep(smallUp.json?.id);
    assert.equal((await upload(httpPort, a.token, 'small-again.bin', small)).status, 201, 'the same bytes again');
    const tooMuch = Buffer.alloc(10 * MiB, 7);
    const declared = await upload(httpPort, a.token, 'two.bin', tooMuch);
    assert.equal(declared.status, 413);
    assert.equal(declared.json?.error, 'QUOTA_EXCEEDED');
    const chunked = bytes(10 * MiB, 3);
    const streamed = await upload(httpPort, a.token, 'two.bin', chunked.stream());
    assert.equal(streamed.status, 413);
    assert.equal(streamed.json?.error, 'QUOTA_EXCEEDED');
    // 20 + 1 (counted once) + 9 MiB is the quota exactly.
    const last = Buffer.alloc(9 * MiB, 8);
    const fits = await upload(httpPort, a.token, 'three.bin', last);
    assert.equal(fits.status, 201, 'what fits in the quota is taken');
    await keep(fits.json?.id);
    // Full: bytes the account holds already cost nothing, declared length or streamed.
    const again = await upload(httpPort, a.token, 'three-again.bin', last);
    assert.equal(again.status, 201, `a file it has, at a full quota: ${JSON.stringify(again.json)}`);
    assert.equal(again.json?.name, 'three-again.bin');
    const firstAgain = await upload(httpPort, a.token, 'one-again.bin', first.stream());
    assert.equal(firstAgain.status, 201, `a file it has, streamed, at a full quota: ${JSON.stringify(firstAgain.json)}`);
    assert.equal(firstAgain.json?.id, first.sha256);
    // New bytes, even one, do not fit.
    const oneByte = await upload(httpPort, a.token, 'byte.bin', Buffer.from('x'));
    assert.equal(oneByte.status, 413);
    assert.equal(oneByte.json?.error, 'QUOTA_EXCEEDED');
    // Refused uploads leave nothing: no temporary file, no blob.
    for (const id of [createHash('sha256').update(tooMuch).digest('hex'), chunked.sha256, createHash('sha256').update('x').digest('hex')]) {
      assert.equal(stored(id), false, `refused ${id} not stored`);
    }
    assert.deepEqual(fs.readdirSync(dir, { recursive: true }).map(String).filter((f) => f.includes('.upload-')), []);
    await a.c.close();
    await b.c.close();
  });
});

describe('sniffing and headers', () => {
  test('HTML named x.png is never served as HTML or inline', async () => {
    const a = await account();
    const html = Buffer.from('<!doctype html><html><body><script>alert(1)</script></body></html>');
    const up = await upload(httpPort, a.token, 'x.png', html);
    assert.equal(up.status, 201);
    assert.equal(up.json?.type, 'text/plain', 'sniffed from the bytes, not the name');
    assert.equal(up.json?.name, 'x.png');
    assert.equal(up.json?.thumbnail, false);
    const got = await download(httpPort, a.token, `/files/${up.json!.id as string}`);
    assert.equal(got.status, 200);
    assert.equal(got.headers['content-type'], 'text/plain; charset=utf-8');
    assert.match(String(got.headers['content-disposition']), /^attachment;/);
    assert.equal(got.headers['x-content-type-options'], 'nosniff');
    assert.match(String(got.headers['content-security-policy']), /default-src 'none'/);
    assert.deepEqual(got.body, html);
    // Binary that is no known format: octet-stream.
    const bin = await upload(httpPort, a.token, 'y.svg', Buffer.from([0, 1, 2, 0xff, 0xfe, 0, 3]));
    assert.equal(bin.json?.type, 'application/octet-stream');
    await a.c.close();
  });

  test('a PNG is served inline, with a WebP thumbnail of at most 320 px', async () => {
    const a = await account();
    const image = await png(1200, 800);
    const up = await upload(httpPort, a.token, 'photo.dat', image);
    assert.equal(up.status, 201);
    assert.equal(up.json?.type, 'image/png');
    assert.equal(up.json?.thumbnail, true);
    const id = up.json!.id as string;
    const full = await download(httpPort, a.token, `/files/${id}`);
    assert.equal(full.headers['content-type'], 'image/png');
    assert.match(String(full.headers['content-disposition']), /^inline;/);
    const thumb = await download(httpPort, a.token, `/files/${id}/thumbnail`);
    assert.equal(thumb.status, 200);
    assert.equal(thumb.headers['content-type'], 'image/webp');
    const sharp = (await import('sharp')).default;
    const meta = await sharp(thumb.body).metadata();
    assert.equal(meta.format, 'webp');
    assert.equal(meta.width, 320);
    assert.ok(meta.height! <= 320 && meta.height! > 0);
    assert.ok(fs.existsSync(path.join(server.dataDir, 'files', id.slice(0, 2), id.slice(2, 4), `${id}.thumb.webp`)), 'stored beside the blob');
    await a.c.close();
  });
});

describe('attachments and access', () => {
  test('room message and DM carry the server\'s record; a third user gets 404; recall hides it', async () => {
    const alice = await account('al');
    const bob = await account('bo');
    const eve = await account('ev');
    const room = uniq('r');
    await ok(alice.c, { type: 'createroom', roomid: room, private: true }, 'roomlist');
    await ok(alice.c, { type: 'invite', roomid: room, identity: bob.name }, 'invite');
    await ok(alice.c, { type: 'join', roomid: room }, 'roomchange', (m) => m.identity === alice.name);
    await ok(bob.c, { type: 'join', roomid: room }, 'roomchange', (m) => m.identity === bob.name);
    const up = await upload(httpPort, alice.token, 'report.pdf', Buffer.from('%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n', 'latin1'));
    assert.equal(up.status, 201);
    const id = up.json!.id as string;
    // Someone else's file cannot be attached.
    await refused(bob.c, { type: 'message', content: '', attachment: { id } }, 'NO_SUCH_FILE');
    const sent = await ok(alice.c, { type: 'message', content: '', attachment: { id } }, 'message', (m) => m.identity === alice.name);
    assert.deepEqual(sent.attachment, { id, name: 'report.pdf', size: up.json!.size, type: 'application/pdf', thumbnail: false });
    const seen = await bob.c.waitFor((m) => m.type === 'message' && m.id === sent.id);
    assert.deepEqual(seen.attachment, sent.attachment);
    const hist = await ok(bob.c, { type: 'history', roomid: room }, 'history');
    assert.deepEqual((hist.messages as Array<{ attachment?: unknown }>).at(-1)?.attachment, sent.attachment);
    // Bob may read the room: he may download. Eve may not: 404, as for a file that does not exist.
    assert.equal((await download(httpPort, bob.token, `/files/${id}`)).status, 200);
    const denied = await download(httpPort, eve.token, `/files/${id}`);
    assert.equal(denied.status, 404);
    const missing = await download(httpPort, eve.token, `/files/${'0'.repeat(64)}`);
    assert.equal(missing.status, 404);
    assert.deepEqual(denied.json, missing.json, 'not told apart');
    // A DM carries it to Eve: now she may.
    const dm = await ok(alice.c, { type: 'dm', to: eve.name, content: 'for you', attachment: { id } }, 'dm');
    assert.deepEqual(dm.attachment, sent.attachment);
    const got = await eve.c.waitFor((m) => m.type === 'dm' && m.id === dm.id);
    assert.deepEqual(got.attachment, sent.attachment);
    assert.equal((await download(httpPort, eve.token, `/files/${id}`)).status, 200);
    const dmh = await ok(eve.c, { type: 'dmhistory', with: alice.name }, 'dmhistory');
    assert.deepEqual((dmh.messages as Array<{ attachment?: unknown }>).at(-1)?.attachment, sent.attachment);
    // Recall the DM: Eve loses it (no other message of hers carries it), history shows none.
    await ok(alice.c, { type: 'recall', id: dm.id }, 'recalled');
    assert.equal((await download(httpPort, eve.token, `/files/${id}`)).status, 404);
    const dmh2 = await ok(eve.c, { type: 'dmhistory', with: alice.name }, 'dmhistory');
    const recalledDm = (dmh2.messages as Array<{ id: string; attachment?: unknown; recalled?: boolean }>).find((m) => m.id === dm.id)!;
    assert.equal(recalledDm.recalled, true);
    assert.equal(recalledDm.attachment, undefined);
    // Recall the room message: Bob loses it too.
    await ok(alice.c, { type: 'recall', id: sent.id }, 'recalled');
    assert.equal((await download(httpPort, bob.token, `/files/${id}`)).status, 404);
    const hist2 = await ok(bob.c, { type: 'history', roomid: room }, 'history');
    const recalled = (hist2.messages as Array<{ id: string; attachment?: unknown }>).find((m) => m.id === sent.id)!;
    assert.equal(recalled.attachment, undefined);
    for (const a of [alice, bob, eve]) await a.c.close();
  });

  test('a guest cannot attach; an unknown id is NO_SUCH_FILE', async () => {
    const guest = await welcomed(server.port);
    await refused(guest.c, { type: 'message', content: 'x', attachment: { id: 'a'.repeat(64) } }, 'NOT_LOGGED_IN');
    const a = await account();
    await refused(a.c, { type: 'dm', to: a.name, content: 'x', attachment: { id: 'b'.repeat(64) } }, 'NO_SUCH_FILE');
    await refused(a.c, { type: 'message', content: 'x', attachment: { id: 'not-hex' } }, 'INVALID_FIELD');
    await guest.c.close();
    await a.c.close();
  });
});

describe('streaming, ranges, dedup, deletion', () => {
  test('20 MiB streamed to disk as it arrives and to slow readers with backpressure; ranges', async () => {
    const a = await account();
    const [worker] = workerPids(server);
    assert.ok(worker !== undefined);
    const data = bytes(20 * MiB, 9);
    // Upload: the body stops half way until its bytes are on disk under the temporary name, so
    // a server that kept the request in memory until its end would never get past this point.
    const blobDir = path.join(server.dataDir, 'files');
    const onDisk = (): number =>
      (fs.existsSync(blobDir) ? fs.readdirSync(blobDir) : [])
        .filter((f) => f.startsWith('.upload-') && !f.endsWith('.webp'))
        .reduce((sum, f) => sum + (fs.statSync(path.join(blobDir, f), { throwIfNoEntry: false })?.size ?? 0), 0);
    const source = data.stream();
    const gated = Readable.from(
      (async function* () {
        let sent = 0;
        let waited = false;
        for await (const chunk of source) {
          if (!waited && sent >= 10 * MiB) {
            waited = true;
            await until('the first half of the upload on disk before the body ends', () => onDisk() >= 6 * MiB, 10_000);
          }
          sent += (chunk as Buffer).length;
          yield chunk as Buffer;
        }
      })(),
    );
    const up = await upload(httpPort, a.token, 'large.bin', gated);
    assert.equal(up.status, 201);
    assert.equal(up.json?.id, data.sha256);
    assert.equal(up.json?.size, 20 * MiB);
    // A DM carries it, so the sweep keeps it past the uploads' grace period.
    const b = await account();
    await ok(a.c, { type: 'dm', to: b.name, content: '', attachment: { id: data.sha256 } }, 'dm');
    // Download: five readers stop after their first chunk. Streamed with backpressure, the
    // worker holds a chunk or so for each (the rest waits in the kernel's socket buffers, not
    // in its RSS); loaded whole, it would hold 5 × 20 MiB. The bound sits far from both.
    const before = proc.rssKb(worker)!;
    const held = await Promise.all(Array.from({ length: 5 }, () => heldDownload(httpPort, a.token, `/files/${data.sha256}`)));
    await sleep(300);
    const grown = proc.rssKb(worker)! - before;
    assert.ok(grown < 40 * 1024, `worker RSS grew ${grown} KiB with five 20 MiB downloads held open`);
    const bodies = await Promise.all(held.map((h) => h.release()));
    for (const [i, body] of bodies.entries()) {
      assert.equal(held[i]!.status, 200);
      assert.equal(createHash('sha256').update(body).digest('hex'), data.sha256);
    }
    const down = await download(httpPort, a.token, `/files/${data.sha256}`);
    assert.equal(down.status, 200);
    assert.equal(down.headers['content-length'], String(20 * MiB));
    const part = await download(httpPort, a.token, `/files/${data.sha256}`, { Range: 'bytes=1000-1999' });
    assert.equal(part.status, 206);
    assert.equal(part.headers['content-range'], `bytes 1000-1999/${20 * MiB}`);
    assert.deepEqual(part.body, down.body.subarray(1000, 2000));
    const tail = await download(httpPort, a.token, `/files/${data.sha256}`, { Range: 'bytes=-10' });
    assert.deepEqual(tail.body, down.body.subarray(down.body.length - 10));
    const past = await download(httpPort, a.token, `/files/${data.sha256}`, { Range: `bytes=${20 * MiB}-` });
    assert.equal(past.status, 416);
    const cached = await download(httpPort, a.token, `/files/${data.sha256}`, { 'If-None-Match': String(down.headers.etag) });
    assert.equal(cached.status, 304);
    assert.equal(cached.body.length, 0);
    await a.c.close();
    await b.c.close();
  });

  test('the same bytes from two accounts are stored once; deleted once nothing keeps them', async () => {
    const a = await account();
    const b = await account();
    const content = Buffer.from(`dedup ${RUN} ${Date.now()}`);
    const one = await upload(httpPort, a.token, 'a.txt', content);
    const two = await upload(httpPort, b.token, 'b.txt', content);
    assert.equal(one.json?.id, two.json?.id);
    const id = one.json!.id as string;
    const blob = path.join(server.dataDir, 'files', id.slice(0, 2), id.slice(2, 4), id);
    assert.ok(fs.existsSync(blob));
    assert.equal(fs.readdirSync(path.dirname(blob)).filter((f) => f === id).length, 1);
    // A DM keeps it past the uploads' grace period, until it is recalled.
    const dm = await ok(a.c, { type: 'dm', to: b.name, content: '', attachment: { id } }, 'dm');
    await sleep(GRACE_MS + 600);
    assert.ok(fs.existsSync(blob), 'kept while a live message carries it');
    assert.equal((await download(httpPort, b.token, `/files/${id}`)).status, 200);
    await ok(a.c, { type: 'recall', id: dm.id }, 'recalled');
    await until('the blob deleted', () => !fs.existsSync(blob), 5000);
    assert.equal((await download(httpPort, a.token, `/files/${id}`)).status, 404);
    await a.c.close();
    await b.c.close();
  });
});
