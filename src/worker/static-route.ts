import fs from 'node:fs';
import type http from 'node:http';
import path from 'node:path';
import type { Logger } from 'pino';
import { acceptedCodings, COMPRESSIBLE, ETAG_SUFFIX, etagMatches, SIBLING_SUFFIX, type ContentCoding } from './content-coding';
import { HttpError, sendJsonError, type HttpRoute } from './http-routes';

/**
 * The built web app's files (`npm run build` writes them to dist/web/): `/` is index.html,
 * `/assets/...` the hashed bundles. Only GET and HEAD; only regular files inside the root
 * (no `..`, no dot files, no symlink out of it); anything else is a 404 JSON. Without a
 * build, `/` is a small page saying so, and the rest of the server works as ever.
 *
 * Text files are answered from the build's precompressed siblings (`x.js.br`, `x.js.gz`) when
 * the client's `Accept-Encoding` takes them, else as they are; see {@link pickEncoding}. The
 * siblings are also plain files of the root: `/x.js.gz` is that file, as a download.
 */

/** The package root: this file is dist/src/worker/static-route.js. */
const PACKAGE_ROOT = path.resolve(__dirname, '..', '..', '..');

/** Where `npm run build` puts the web app. */
export const DEFAULT_WEB_ROOT = path.join(PACKAGE_ROOT, 'dist', 'web');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.webmanifest': 'application/manifest+json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.wasm': 'application/wasm',
  // Asked for by their own name, the precompressed siblings are downloads, never decoded.
  '.gz': 'application/gzip',
};

/**
 * The page's policy: everything from this origin only, WebSocket to it (ws:/wss: since CSP 2
 * `'self'` does not cover them in every browser), images also from blob:/data: (previews of
 * files being sent), no framing.
 */
export const WEB_APP_CSP =
  "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' blob: data:; media-src 'self' blob:; style-src 'self' 'unsafe-inline'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

/** Hashed bundles never change under their name: cached for a year. */
const IMMUTABLE = 'public, max-age=31536000, immutable';

const NOT_BUILT_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Switchboard</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family: sans-serif; max-width: 40em; margin: 3em auto; line-height: 1.5">
<h1>Switchboard</h1>
<p>The web app is not built. Run <code>npm run build</code> and restart the server to serve it here.</p>
<p>The server is running: the WebSocket endpoint <code>/ws</code> and the terminal client work.</p>
</body></html>
`;

/**
 * The static route over `root` (null: the package's dist/web). Mounted last: it takes every
 * path and answers 404 JSON for what is not a file of the build.
 */
export function createStaticRoute(root: string | null, log: Logger): HttpRoute {
  const base = path.resolve(root ?? DEFAULT_WEB_ROOT);
  let realBase: string | null = null;
  return {
    handles: () => true,
    handle(req, res, url) {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        return sendJsonError(res, 405, HttpError.METHOD_NOT_ALLOWED, `${req.method} is not allowed here`, { Allow: 'GET, HEAD' });
      }
      const relative = safeRelativePath(url.pathname);
      if (relative === null) return sendJsonError(res, 404, HttpError.NOT_FOUND, `no such path: ${url.pathname}`);
      void serve(req, res, relative).catch((err: unknown) => {
        log.warn({ err, path: url.pathname }, 'static file failed');
        sendJsonError(res, 500, HttpError.INTERNAL_ERROR, 'the file could not be read');
      });
    },
  };

  async function serve(req: http.IncomingMessage, res: http.ServerResponse, relative: string): Promise<void> {
    const file = path.join(base, relative);
    const stat = await regularFileInside(file);
    if (stat === null) {
      if (relative === 'index.html') return sendPage(req, res, NOT_BUILT_PAGE);
      return sendJsonError(res, 404, HttpError.NOT_FOUND, `no such file: /${relative}`);
    }
    const type = TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
    const compressible = COMPRESSIBLE.has(path.extname(file).toLowerCase());
    const chosen = compressible ? await pickEncoding(file, req.headers['accept-encoding']) : null;
    const served = chosen?.stat ?? stat;
    // Each encoding is its own representation with its own tag (from its own file), so a
    // cache holding the gzip one never revalidates it against the brotli one's tag.
    const etag = `W/"${served.size.toString(16)}-${Math.floor(served.mtimeMs).toString(16)}${chosen ? ETAG_SUFFIX[chosen.coding] : ''}"`;
    const headers: Record<string, string | number> = {
      'Content-Type': type,
      'Cache-Control': relative.startsWith('assets/') ? IMMUTABLE : 'no-cache',
      ETag: etag,
      'Last-Modified': stat.mtime.toUTCString(),
      'X-Content-Type-Options': 'nosniff',
    };
    // On every answer for a compressible file, identity included: which body a cache may
    // reuse depends on the asker's Accept-Encoding, even where this root has no siblings.
    if (compressible) headers.Vary = 'Accept-Encoding';
    if (chosen) headers['Content-Encoding'] = chosen.coding;
    if (relative.endsWith('.html')) Object.assign(headers, pageHeaders());
    if (etagMatches(req.headers['if-none-match'], etag)) {
      res.writeHead(304, headers);
      res.end();
      return;
    }
    // Range is not served (no Accept-Ranges, a Range header is ignored: always the whole 200),
    // so a compressed answer is never a slice of bytes a client would have to map onto the
    // decoded file. Adding ranges later should keep them to identity answers.
    headers['Content-Length'] = served.size;
    res.writeHead(200, headers);
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    const stream = fs.createReadStream(chosen?.file ?? file);
    stream.on('error', () => res.destroy());
    stream.pipe(res);
  }

  /**
   * The precompressed sibling of `file` to send for this `Accept-Encoding`: the client's best
   * accepted coding whose sibling exists (a regular file inside the root, like any other), or
   * null for the file as it is (nothing accepted, or a root built without siblings).
   */
  async function pickEncoding(
    file: string,
    acceptEncoding: string | undefined,
  ): Promise<{ coding: ContentCoding; file: string; stat: fs.Stats } | null> {
    for (const coding of acceptedCodings(acceptEncoding)) {
      const sibling = file + SIBLING_SUFFIX[coding];
      const stat = await regularFileInside(sibling);
      if (stat !== null) return { coding, file: sibling, stat };
    }
    return null;
  }

  /** The file's stat when it is a regular file whose real path is inside the root; else null. */
  async function regularFileInside(file: string): Promise<fs.Stats | null> {
    try {
      const real = await fs.promises.realpath(file);
      realBase ??= await fs.promises.realpath(base);
      if (!real.startsWith(realBase + path.sep)) return null;
      const stat = await fs.promises.stat(real);
      return stat.isFile() ? stat : null;
    } catch {
      return null;
    }
  }
}

function sendPage(req: http.IncomingMessage, res: http.ServerResponse, html: string): void {
  res.writeHead(200, {
    'Content-Type': 'text/html; charset=utf-8',
    'Content-Length': Buffer.byteLength(html),
    'Cache-Control': 'no-cache',
    'X-Content-Type-Options': 'nosniff',
    ...pageHeaders(),
  });
  res.end(req.method === 'HEAD' ? undefined : html);
}

function pageHeaders(): Record<string, string> {
  return { 'Content-Security-Policy': WEB_APP_CSP, 'Referrer-Policy': 'no-referrer', 'X-Frame-Options': 'DENY' };
}

/**
 * The path below the root that `pathname` names (`/` is index.html), or null when it is not a
 * plain one: an undecodable escape, an empty, `.` or `..` segment, a dot file, a backslash or
 * NUL. The URL parser has already resolved `/../` segments; this refuses what decoding makes.
 */
export function safeRelativePath(pathname: string): string | null {
  if (pathname === '/' || pathname === '') return 'index.html';
  const segments = pathname.slice(1).split('/');
  const out: string[] = [];
  for (const raw of segments) {
    let segment: string;
    try {
      segment = decodeURIComponent(raw);
    } catch {
      return null;
    }
    if (segment === '' || segment.startsWith('.') || /[\\/\0]/.test(segment)) return null;
    out.push(segment);
  }
  return out.join('/');
}
