import http from 'node:http';
import type { Readable } from 'node:stream';

/** Test harness: raw HTTP calls to the files route (docs/PROTOCOL.md, "Files and attachments"). */

export interface HttpAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  json: Record<string, unknown> | undefined;
}

/**
 * POSTs `body` to /files?name=NAME. A Buffer goes with a Content-Length; a Readable goes
 * chunked (no length declared), so the server must count as it reads. Resolves with the
 * answer even when the server answers before the body is all sent (a 413).
 */
export function upload(port: number, token: string | null, name: string, body: Buffer | Readable, timeoutMs = 30_000): Promise<HttpAnswer> {
  const headers: Record<string, string> = { 'Content-Type': 'application/octet-stream' };
  if (token !== null) headers.Authorization = `Bearer ${token}`;
  if (Buffer.isBuffer(body)) headers['Content-Length'] = String(body.length);
  return call(port, { method: 'POST', path: `/files?name=${encodeURIComponent(name)}`, headers }, body, timeoutMs);
}

/** GETs (or HEADs) a file path (/files/ID or /files/ID/thumbnail) with optional extra headers. */
export function download(port: number, token: string | null, path: string, extra: Record<string, string> = {}, method = 'GET', timeoutMs = 30_000): Promise<HttpAnswer> {
  const headers: Record<string, string> = { ...extra };
  if (token !== null) headers.Authorization = `Bearer ${token}`;
  return call(port, { method, path, headers }, null, timeoutMs);
}

function call(port: number, options: http.RequestOptions, body: Buffer | Readable | null, timeoutMs: number): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, agent: false, ...options }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        clearTimeout(timer);
        const buf = Buffer.concat(chunks);
        let json: Record<string, unknown> | undefined;
        try {
          json = JSON.parse(buf.toString()) as Record<string, unknown>;
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode!, headers: res.headers, body: buf, json });
      });
      res.on('error', reject);
    });
    const timer = setTimeout(() => {
      req.destroy();
      reject(new Error(`HTTP ${options.method} ${options.path} not answered within ${timeoutMs} ms`));
    }, timeoutMs);
    // The server may answer (413) and close before the body is all written: not an error
    // when the answer came whole (it resolved first); otherwise it is.
    req.on('error', (err) => {
      clearTimeout(timer);
      setTimeout(() => reject(err), 200);
    });
    if (body === null) req.end();
    else if (Buffer.isBuffer(body)) req.end(body);
    else {
      body.on('error', () => req.destroy());
      body.pipe(req);
    }
  });
}

/** A GET whose answer has begun and is held: the reader stopped after the first chunk. */
export interface HeldDownload {
  status: number;
  /** Reads the rest and resolves with the whole body. */
  release: () => Promise<Buffer>;
}

/**
 * GETs `path` and stops reading after the first chunk of the body, the way a slow client on a
 * slow link does: a server that streams with backpressure then holds only a chunk for it (the
 * rest waits on disk and in the kernel's socket buffers); one that loads files whole holds it all.
 */
export function heldDownload(port: number, token: string, path: string): Promise<HeldDownload> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, agent: false, method: 'GET', path, headers: { Authorization: `Bearer ${token}` } }, (res) => {
      const chunks: Buffer[] = [];
      res.once('data', (first: Buffer) => {
        chunks.push(first);
        res.pause();
        const release = (): Promise<Buffer> =>
          new Promise((done, failed) => {
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () => done(Buffer.concat(chunks)));
            res.on('error', failed);
            res.resume();
          });
        resolve({ status: res.statusCode!, release });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}
