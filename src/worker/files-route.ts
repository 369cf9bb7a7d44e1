import fs from 'node:fs';
import type http from 'node:http';
import type { Logger } from 'pino';
import type { Config } from '../config/schema';
import { BlobTooLarge, FILE_ID, blobPath, filesDir, receiveBlob, thumbnailPath } from '../files/blob-store';
import { parseRange } from '../files/range';
import { INLINE_IMAGE_TYPES, TEXT_PLAIN } from '../files/sniff';
import { cleanFileName } from '../files/file-name';
import type { FileAnswer, FileAsk } from '../ipc/file-messages';
import { countHttpError, HttpError, sendJsonError, type HttpRoute } from './http-routes';

/** What the files route is built with. */
export interface FilesRouteDeps {
  config: Pick<Config, 'dataDir' | 'maxFileBytes'>;
  log: Logger;
  /** Asks the hub (src/worker/file-asker.ts). */
  askFiles(ask: FileAsk): Promise<FileAnswer>;
}

/** After a 413, the rest of the body is read and dropped for at most this long, then the connection is closed. */
const DRAIN_AFTER_REFUSAL_MS = 2000;

/**
 * The response headers every served file gets: never sniffed, never a document (a file
 * opened directly cannot run script or load anything: CSP `default-src 'none'` and a
 * sandbox), never read cross-origin, cached privately (content-addressed: the bytes under an
 * id never change).
 */
const FILE_HEADERS = {
  'X-Content-Type-Options': 'nosniff',
  'Content-Security-Policy': "default-src 'none'; sandbox",
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Cache-Control': 'private, max-age=31536000, immutable',
  'Accept-Ranges': 'bytes',
} as const;

/**
 * `POST /files?name=N` (the raw bytes as the body) and `GET|HEAD /files/<id>[/thumbnail]`
 * (Range supported), with `Authorization: Bearer <token>` (docs/PROTOCOL.md, "Files and
 * attachments"). The bytes stream to and from the data dir; the hub decides who may do what
 * (src/hub/file-service.ts).
 */
export function createFilesRoute(deps: FilesRouteDeps): HttpRoute {
  const dir = filesDir(deps.config.dataDir);
  return {
    handles: (pathname) => pathname === '/files' || pathname.startsWith('/files/'),
    handle: (req, res, url) => {
      const serve = url.pathname === '/files' ? upload(deps, dir, req, res, url) : download(deps, dir, req, res, url);
      serve.catch((err: Error) => {
        deps.log.error({ err, path: url.pathname }, 'a files request failed');
        sendJsonError(res, 500, HttpError.INTERNAL_ERROR, 'the server could not handle this request');
      });
    },
  };
}

function bearer(req: http.IncomingMessage): string | null {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
  return m ? m[1]! : null;
}

/** An answer's refusal as an HTTP error. */
function refuse(res: http.ServerResponse, answer: Extract<FileAnswer, { ok: false }>): void {
  switch (answer.code) {
    case 'NOT_LOGGED_IN':
      return sendJsonError(res, 401, answer.code, answer.message, { 'WWW-Authenticate': 'Bearer' });
    case 'QUOTA_EXCEEDED':
      return sendJsonError(res, 413, answer.code, answer.message);
    case 'NO_SUCH_FILE':
      return sendJsonError(res, 404, HttpError.NOT_FOUND, 'no such file');
    case 'BUSY':
    case 'STORE_FAILED':
      return sendJsonError(res, 503, answer.code, answer.message, { 'Retry-After': '1' });
    default:
      return sendJsonError(res, 500, answer.code, answer.message);
  }
}

/**
 * Answers 413 FILE_TOO_LARGE while the client may still be sending. The answer is written
 * whole at once but ended only once the body has been read and dropped (or
 * DRAIN_AFTER_REFUSAL_MS passed): Node closes a connection that is not kept alive as soon as
 * its answer ends, and closing with the client's bytes unread resets the connection, which can
 * make the client lose the answer.
 */
function refuseTooLarge(req: http.IncomingMessage, res: http.ServerResponse, max: number): void {
  countHttpError('FILE_TOO_LARGE');
  const body = JSON.stringify({ error: 'FILE_TOO_LARGE', message: `a file may have ${max} bytes at most` });
  res.writeHead(413, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' });
  res.write(body);
  const finish = (): void => {
    clearTimeout(timer);
    if (!res.writableEnded) res.end();
  };
  const timer = setTimeout(finish, DRAIN_AFTER_REFUSAL_MS).unref();
  if (req.readableEnded) return finish();
  req.once('end', finish);
  req.once('close', finish);
  req.resume();
}

async function upload(deps: FilesRouteDeps, dir: string, req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<void> {
  if (req.method !== 'POST') return sendJsonError(res, 405, HttpError.METHOD_NOT_ALLOWED, 'POST a file to /files', { Allow: 'POST' });
  const token = bearer(req);
  if (!token) return sendJsonError(res, 401, 'NOT_LOGGED_IN', 'a login token is required (Authorization: Bearer <token>)', { 'WWW-Authenticate': 'Bearer' });
  const max = deps.config.maxFileBytes;
  const declared = req.headers['content-length'] === undefined ? null : Number(req.headers['content-length']);
  if (declared !== null && declared > max) return refuseTooLarge(req, res, max);
  const auth = await deps.askFiles({ op: 'auth', token });
  if (!auth.ok) return refuse(res, auth);
  const name = cleanFileName(url.searchParams.get('name') ?? '');
  let blob;
  try {
    // Bounded by the file size limit only, not by the quota left: bytes the account already
    // holds cost nothing again, and only their hash, known at the end, tells. The hub judges
    // the quota when the upload is recorded (src/hub/file-service.ts).
    blob = await receiveBlob(dir, req, max);
  } catch (err) {
    if (!(err instanceof BlobTooLarge)) {
      // The client went away mid-body: nobody to answer.
      deps.log.debug({ err }, 'an upload ended early');
      res.destroy();
      return;
    }
    return refuseTooLarge(req, res, max);
  }
  const file = { id: blob.id, size: blob.size, type: blob.type, thumbnail: blob.thumbnail };
  const recorded = await deps.askFiles({ op: 'record', token, file, name });
  if (!recorded.ok) {
    await blob.discard();
    return refuse(res, recorded);
  }
  // Recorded first: the sweep cannot delete these bytes once an upload keeps them.
  await blob.commit();
  const body = JSON.stringify({ id: blob.id, name: name || blob.id, size: blob.size, type: blob.type, thumbnail: blob.thumbnail });
  res.writeHead(201, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' });
  res.end(body);
}

async function download(deps: FilesRouteDeps, dir: string, req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<void> {
  const m = /^\/files\/([^/]+)(\/thumbnail)?$/.exec(url.pathname);
  if (!m || !FILE_ID.test(m[1]!)) return sendJsonError(res, 404, HttpError.NOT_FOUND, 'no such file');
  if (req.method !== 'GET' && req.method !== 'HEAD') return sendJsonError(res, 405, HttpError.METHOD_NOT_ALLOWED, 'GET a file', { Allow: 'GET, HEAD' });
  const token = bearer(req);
  if (!token) return sendJsonError(res, 401, 'NOT_LOGGED_IN', 'a login token is required (Authorization: Bearer <token>)', { 'WWW-Authenticate': 'Bearer' });
  const id = m[1]!;
  const thumb = m[2] !== undefined;
  const access = await deps.askFiles({ op: 'access', token, id });
  if (!access.ok) return refuse(res, access);
  if (!('file' in access)) throw new Error('access answered without the file');
  const { file } = access;
  if (thumb && !file.thumbnail) return sendJsonError(res, 404, HttpError.NOT_FOUND, 'this file has no thumbnail');
  const path = thumb ? thumbnailPath(dir, id) : blobPath(dir, id);
  let size: number;
  try {
    size = (await fs.promises.stat(path)).size;
  } catch {
    // Recorded but not here: blobs not on storage shared by the nodes (docs/CLUSTER.md), or deleted by hand.
    deps.log.warn({ id, thumb }, 'a recorded file is missing from the blob store');
    return sendJsonError(res, 404, HttpError.NOT_FOUND, 'no such file');
  }
  const type = thumb ? 'image/webp' : file.type;
  const inline = thumb || INLINE_IMAGE_TYPES.has(type);
  const name = cleanFileName(url.searchParams.get('name') ?? '') || id;
  const headers: Record<string, string | number> = {
    ...FILE_HEADERS,
    'Content-Type': type === TEXT_PLAIN ? 'text/plain; charset=utf-8' : type,
    'Content-Disposition': `${inline ? 'inline' : 'attachment'}; ${dispositionName(thumb ? `${name}.thumbnail.webp` : name)}`,
    ETag: `"${id}${thumb ? '-t' : ''}"`,
  };
  // Content-addressed: the same id is the same bytes, so a cached copy is always good.
  if (req.headers['if-none-match'] === headers.ETag) {
    res.writeHead(304, headers);
    return void res.end();
  }
  const range = parseRange(req.headers.range, size);
  if (range === 'unsatisfiable') return sendJsonError(res, 416, 'RANGE_NOT_SATISFIABLE', `the file has ${size} bytes`, { 'Content-Range': `bytes */${size}` });
  const { start, end } = range ?? { start: 0, end: size - 1 };
  if (range) headers['Content-Range'] = `bytes ${start}-${end}/${size}`;
  headers['Content-Length'] = size === 0 ? 0 : end - start + 1;
  res.writeHead(range ? 206 : 200, headers);
  if (req.method === 'HEAD' || size === 0) return void res.end();
  const stream = fs.createReadStream(path, { start, end });
  stream.on('error', (err) => {
    deps.log.error({ err, id }, 'reading a file failed mid-answer');
    res.destroy();
  });
  res.on('close', () => stream.destroy());
  stream.pipe(res);
}

/** `filename="ascii"; filename*=UTF-8''percent-encoded` (RFC 6266): any name, safely quoted. */
function dispositionName(name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '_');
  return `filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name).replace(/['()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase())}`;
}
