// The HTTP side of the gateway: the web app's static files (content types, caching, no path
// out of the web root, 404 JSON, precompressed siblings by Accept-Encoding), the built-in page without a build, the Origin rule of /ws,
// and HTTP connections counted in the per-address connection limit like any other (the one
// over it answered 429 by the supervisor).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { parseAnswer, readUntilClosed, type RawAnswer } from '../helpers/raw-http';
import { startServer, type RunningServer } from '../helpers/server';
import { sleep } from '../helpers/wait';
import { WsTestClient } from '../helpers/ws-client';

const T = { timeout: 30_000 };

type Answer = RawAnswer;

/** One request written verbatim (no client-side path clean-up) on a fresh connection. */
async function raw(port: number, request: string): Promise<Answer> {
  return parseAnswer(await readUntilClosed(port, request.includes('\r\n\r\n') ? request : `${request}\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`));
}

/** A GET (or HEAD) whose body is kept as the bytes sent: no decoding by the client. */
function getBytes(port: number, target: string, headers: Record<string, string> = {}, method = 'GET'): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: target, method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

async function get(port: number, target: string, extra: Record<string, string> = {}): Promise<Answer> {
  const res = await fetch(`http://127.0.0.1:${port}${target}`, { headers: extra });
  return { status: res.status, headers: Object.fromEntries(res.headers), body: await res.text() };
}

describe('static files of the web app', () => {
  let server: RunningServer;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sb-web-'));
  const root = path.join(dir, 'web');
  // A bundle big enough to compress, with both siblings as the build writes them, and a
  // stylesheet with only a gzip one.
  const bundle = Buffer.from(Array.from({ length: 200 }, (_, i) => `export const value${i} = "switchboard ${i}";\n`).join(''));
  const css = Buffer.from('body{margin:0}\n'.repeat(100));
  before(async () => {
    fs.mkdirSync(path.join(root, 'assets'), { recursive: true });
    fs.writeFileSync(path.join(root, 'index.html'), '<!doctype html><title>chat</title><script type="module" src="/assets/app-1a2b3c4d.js"></script>');
    fs.writeFileSync(path.join(root, 'assets', 'app-1a2b3c4d.js'), 'console.log("app")');
    fs.writeFileSync(path.join(root, 'assets', 'style-9f8e7d6c.css'), 'body{}');
    fs.writeFileSync(path.join(root, 'assets', 'big-0a1b2c3d.js'), bundle);
    fs.writeFileSync(path.join(root, 'assets', 'big-0a1b2c3d.js.gz'), zlib.gzipSync(bundle, { level: 9 }));
    fs.writeFileSync(path.join(root, 'assets', 'big-0a1b2c3d.js.br'), zlib.brotliCompressSync(bundle));
    fs.writeFileSync(path.join(root, 'assets', 'gz-only-4e5f6a7b.css'), css);
    fs.writeFileSync(path.join(root, 'assets', 'gz-only-4e5f6a7b.css.gz'), zlib.gzipSync(css, { level: 9 }));
    fs.writeFileSync(path.join(root, '.hidden'), 'dot file');
    fs.writeFileSync(path.join(dir, 'secret.txt'), 'outside the web root');
    fs.symlinkSync(path.join(dir, 'secret.txt'), path.join(root, 'link.txt'));
    server = await startServer({ args: ['--http-port', '0', '--web-root', root] });
  });
  after(async () => {
    await server?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('/ is index.html, not cached without revalidation, with the page policy', T, async () => {
    const page = await get(server.httpPort!, '/');
    assert.equal(page.status, 200);
    assert.match(page.body, /<title>chat<\/title>/);
    assert.equal(page.headers['content-type'], 'text/html; charset=utf-8');
    assert.equal(page.headers['cache-control'], 'no-cache');
    assert.match(page.headers['content-security-policy']!, /default-src 'self'/);
    assert.equal(page.headers['x-content-type-options'], 'nosniff');
    assert.equal(page.headers['set-cookie'], undefined, 'no cookies');
    // Revalidation: the same ETag is a 304 without a body.
    const again = await get(server.httpPort!, '/', { 'If-None-Match': page.headers.etag! });
    assert.equal(again.status, 304);
    assert.equal(again.body, '');
  });

  test('hashed assets: their type and a year of immutable caching', T, async () => {
    const js = await get(server.httpPort!, '/assets/app-1a2b3c4d.js');
    assert.equal(js.status, 200);
    assert.equal(js.body, 'console.log("app")');
    assert.equal(js.headers['content-type'], 'text/javascript; charset=utf-8');
    assert.equal(js.headers['cache-control'], 'public, max-age=31536000, immutable');
    const css = await get(server.httpPort!, '/assets/style-9f8e7d6c.css');
    assert.equal(css.headers['content-type'], 'text/css; charset=utf-8');
    const head = await raw(server.httpPort!, 'HEAD /assets/app-1a2b3c4d.js HTTP/1.1');
    assert.equal(head.status, 200);
    assert.equal(head.headers['content-length'], String('console.log("app")'.length));
    assert.equal(head.body, '');
  });

  test('precompressed siblings: br before gzip, q=0 honoured, identity otherwise; Vary always; a tag and a 304 per encoding', T, async () => {
    const port = server.httpPort!;
    const target = '/assets/big-0a1b2c3d.js';
    const br = await getBytes(port, target, { 'Accept-Encoding': 'gzip, deflate, br' });
    assert.equal(br.status, 200);
    assert.equal(br.headers['content-encoding'], 'br');
    assert.equal(br.headers['content-type'], 'text/javascript; charset=utf-8');
    assert.equal(br.headers['cache-control'], 'public, max-age=31536000, immutable');
    assert.equal(br.headers.vary, 'Accept-Encoding');
    assert.equal(Number(br.headers['content-length']), br.body.length);
    assert.ok(br.body.length < bundle.length / 2, `${br.body.length} bytes compressed of ${bundle.length}`);
    assert.deepEqual(zlib.brotliDecompressSync(br.body), bundle);

    const gz = await getBytes(port, target, { 'Accept-Encoding': 'br;q=0, gzip' });
    assert.equal(gz.headers['content-encoding'], 'gzip');
    assert.equal(gz.headers.vary, 'Accept-Encoding');
    assert.equal(Number(gz.headers['content-length']), gz.body.length);
    assert.deepEqual(zlib.gunzipSync(gz.body), bundle);

    for (const acceptEncoding of [undefined, 'identity', 'br;q=0, gzip;q=0', 'deflate']) {
      const plain = await getBytes(port, target, acceptEncoding === undefined ? {} : { 'Accept-Encoding': acceptEncoding });
      assert.equal(plain.headers['content-encoding'], undefined, String(acceptEncoding));
      assert.equal(plain.headers.vary, 'Accept-Encoding', String(acceptEncoding));
      assert.equal(Number(plain.headers['content-length']), bundle.length, String(acceptEncoding));
      assert.deepEqual(plain.body, bundle, String(acceptEncoding));
    }
    const identity = await getBytes(port, target);

    // Three representations, three tags; each revalidates only as itself.
    const tags = [br.headers.etag!, gz.headers.etag!, identity.headers.etag!];
    assert.equal(new Set(tags).size, 3, tags.join(' '));
    assert.match(br.headers.etag!, /-br"$/);
    assert.match(gz.headers.etag!, /-gz"$/);
    const notModified = await getBytes(port, target, { 'Accept-Encoding': 'br', 'If-None-Match': br.headers.etag! });
    assert.equal(notModified.status, 304);
    assert.equal(notModified.headers['content-encoding'], 'br');
    assert.equal(notModified.headers.vary, 'Accept-Encoding');
    assert.equal(notModified.body.length, 0);
    assert.equal((await getBytes(port, target, { 'Accept-Encoding': 'gzip', 'If-None-Match': gz.headers.etag! })).status, 304);
    assert.equal((await getBytes(port, target, { 'If-None-Match': identity.headers.etag! })).status, 304);
    const otherTag = await getBytes(port, target, { 'Accept-Encoding': 'gzip', 'If-None-Match': br.headers.etag! });
    assert.equal(otherTag.status, 200, "the brotli tag does not validate the gzip answer");
    assert.deepEqual(zlib.gunzipSync(otherTag.body), bundle);
    const both = await getBytes(port, target, { 'Accept-Encoding': 'gzip', 'If-None-Match': `${br.headers.etag}, ${gz.headers.etag}` });
    assert.equal(both.status, 304, 'a list of tags');

    // HEAD: the compressed answer's headers, no body.
    const head = await getBytes(port, target, { 'Accept-Encoding': 'br' }, 'HEAD');
    assert.equal(head.headers['content-encoding'], 'br');
    assert.equal(Number(head.headers['content-length']), br.body.length);
    assert.equal(head.body.length, 0);
    // Range is not served: the whole compressed body, never a slice of it.
    const ranged = await getBytes(port, target, { 'Accept-Encoding': 'br', Range: 'bytes=0-9' });
    assert.equal(ranged.status, 200);
    assert.deepEqual(zlib.brotliDecompressSync(ranged.body), bundle);
  });

  test('precompressed siblings: a missing one falls back to the next coding, then to the file itself; the siblings by name are downloads', T, async () => {
    const port = server.httpPort!;
    const gzOnly = await getBytes(port, '/assets/gz-only-4e5f6a7b.css', { 'Accept-Encoding': 'br, gzip' });
    assert.equal(gzOnly.headers['content-encoding'], 'gzip');
    assert.equal(gzOnly.headers['content-type'], 'text/css; charset=utf-8');
    assert.deepEqual(zlib.gunzipSync(gzOnly.body), css);
    // A root without siblings (as this app bundle is): the file itself, still varying.
    for (const target of ['/assets/app-1a2b3c4d.js', '/']) {
      const plain = await getBytes(port, target, { 'Accept-Encoding': 'br, gzip' });
      assert.equal(plain.status, 200, target);
      assert.equal(plain.headers['content-encoding'], undefined, target);
      assert.equal(plain.headers.vary, 'Accept-Encoding', target);
      assert.equal(Number(plain.headers['content-length']), plain.body.length, target);
    }
    assert.equal((await getBytes(port, '/assets/app-1a2b3c4d.js', { 'Accept-Encoding': 'br' })).body.toString(), 'console.log("app")');
    // /x.js.gz is that file: gzip bytes as a download, not the script decoded.
    const direct = await getBytes(port, '/assets/big-0a1b2c3d.js.gz', { 'Accept-Encoding': 'br, gzip' });
    assert.equal(direct.status, 200);
    assert.equal(direct.headers['content-type'], 'application/gzip');
    assert.equal(direct.headers['content-encoding'], undefined);
    assert.equal(direct.headers.vary, undefined);
    assert.deepEqual(zlib.gunzipSync(direct.body), bundle);
    assert.equal((await getBytes(port, '/assets/app-1a2b3c4d.js.gz', { 'Accept-Encoding': 'gzip' })).status, 404, 'no such file');
  });

  test('nothing outside the web root: .., encoded .., dot files, symlinks out; 404 JSON', T, async () => {
    const port = server.httpPort!;
    for (const target of ['/../package.json', '/../secret.txt', '/%2e%2e/secret.txt', '/assets/%2e%2e/%2e%2e/secret.txt', '/assets/..%2f..%2fsecret.txt', '/assets%5c..%5c..%5csecret.txt', '/.hidden', '/link.txt', '/%00', '/%zz']) {
      const answer = await raw(port, `GET ${target} HTTP/1.1`);
      assert.ok(answer.status === 404 || answer.status === 400, `${target}: ${answer.status}`);
      assert.doesNotMatch(answer.body, /outside the web root|dot file|"name": "switchboard"/, target);
      if (answer.status === 404) assert.equal(JSON.parse(answer.body).error, 'NOT_FOUND', target);
    }
  });

  test('unknown paths are 404 JSON; other methods 405; a plain GET /ws 426', T, async () => {
    const missing = await get(server.httpPort!, '/no/such/thing');
    assert.equal(missing.status, 404);
    assert.equal(missing.headers['content-type'], 'application/json; charset=utf-8');
    assert.deepEqual(Object.keys(JSON.parse(missing.body)).sort(), ['error', 'message']);
    assert.equal(JSON.parse(missing.body).error, 'NOT_FOUND');
    const post = await fetch(`http://127.0.0.1:${server.httpPort}/`, { method: 'POST', body: 'x' });
    assert.equal(post.status, 405);
    assert.equal(((await post.json()) as { error: string }).error, 'METHOD_NOT_ALLOWED');
    const ws = await get(server.httpPort!, '/ws');
    assert.equal(ws.status, 426);
    assert.equal(JSON.parse(ws.body).error, 'UPGRADE_REQUIRED');
  });

  test('slow headers: a request whose headers are not complete within 10 s gets 408 and a close', T, async () => {
    const socket = net.connect(server.httpPort!, '127.0.0.1');
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (c: string) => (text += c));
    socket.on('error', () => {});
    const closed = new Promise((resolve) => socket.once('close', resolve));
    const t0 = Date.now();
    socket.write(`GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n`);
    // One header every second: never idle, never done.
    const drip = setInterval(() => socket.write(`X-Drip-${Date.now()}: 1\r\n`), 1000);
    try {
      await closed;
    } finally {
      clearInterval(drip);
    }
    const ms = Date.now() - t0;
    assert.match(text, /^HTTP\/1\.1 408 /);
    assert.match(text, /"error":"REQUEST_TIMEOUT"/);
    assert.ok(ms >= 9000 && ms < 15_000, `closed after ${ms} ms`);
  });

  test('bounded headers: over 16 KiB of them is refused (431) and the server keeps serving', T, async () => {
    const big = await raw(server.httpPort!, `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\nConnection: close\r\n\r\n`);
    assert.equal(big.status, 431);
    assert.equal(JSON.parse(big.body).error, 'HEADERS_TOO_LARGE');
    const bad = await raw(server.httpPort!, 'NOT HTTP AT ALL\r\n\r\n');
    assert.equal(bad.status, 400);
    assert.equal(JSON.parse(bad.body).error, 'BAD_REQUEST');
    assert.equal((await get(server.httpPort!, '/')).status, 200);
  });
});

test('without a build the page says the web app is not built; /ws still works', T, async () => {
  const server = await startServer({ args: ['--http-port', '0', '--web-root', path.join(os.tmpdir(), `sb-no-such-web-${process.pid}`)] });
  try {
    const page = await get(server.httpPort!, '/');
    assert.equal(page.status, 200);
    assert.match(page.body, /not built/);
    assert.match(page.body, /npm run build/);
    const { client } = await WsTestClient.welcomed(`ws://127.0.0.1:${server.httpPort}/ws`);
    await client.close();
  } finally {
    await server.stop();
  }
});

describe('the Origin rule of /ws', () => {
  let sameHost: RunningServer;
  let listed: RunningServer;
  before(async () => {
    sameHost = await startServer({ args: ['--http-port', '0'] });
    listed = await startServer({ args: ['--http-port', '0', '--http-origins', 'https://chat.example.com'] });
  });
  after(() => Promise.all([sameHost?.stop(), listed?.stop()]));

  const url = (s: RunningServer): string => `ws://127.0.0.1:${s.httpPort}/ws`;
  const refused = async (s: RunningServer, origin: string): Promise<void> => {
    const err = (await WsTestClient.connect(url(s), { origin }).then(
      (c) => (c.close(), null),
      (e: { status?: number; body?: string }) => e,
    )) as { status?: number; body?: string } | null;
    assert.ok(err, `${origin} was let in`);
    assert.equal(err.status, 403);
    assert.equal(JSON.parse(err.body!).error, 'ORIGIN_REFUSED');
  };

  test('default: the page\'s own origin and non-browser clients (no Origin) only', T, async () => {
    await refused(sameHost, 'http://evil.example');
    await refused(sameHost, `http://127.0.0.1:${sameHost.httpPort! + 1}`);
    await refused(sameHost, 'null');
    for (const origin of [`http://127.0.0.1:${sameHost.httpPort}`, undefined]) {
      const { client } = await WsTestClient.welcomed(url(sameHost), origin ? { origin } : {});
      await client.close();
    }
  });

  test('--http-origins: the listed origins only', T, async () => {
    const { client } = await WsTestClient.welcomed(url(listed), { origin: 'https://chat.example.com' });
    await client.close();
    await refused(listed, `http://127.0.0.1:${listed.httpPort}`);
    await refused(listed, 'https://evil.example');
  });
});

test('HTTP connections count towards --max-connections-per-address, and free their place on close', T, async () => {
  const server = await startServer({ args: ['--http-port', '0', '--max-connections-per-address', '3', '--workers', '1'] });
  const open: net.Socket[] = [];
  try {
    for (let i = 0; i < 3; i++) {
      const s = net.connect(server.httpPort!, '127.0.0.1');
      s.on('error', () => {});
      await new Promise((resolve) => s.once('connect', resolve));
      open.push(s);
    }
    await sleep(300);
    // The fourth is answered by the supervisor, without its request being read, and closed.
    const refused = await raw(server.httpPort!, 'GET / HTTP/1.1');
    assert.equal(refused.status, 429);
    assert.equal(refused.headers['retry-after'], '5');
    assert.equal(JSON.parse(refused.body).error, 'TOO_MANY_CONNECTIONS');
    for (const s of open) s.destroy();
    let status = 0;
    for (const deadline = Date.now() + 5000; status !== 200 && Date.now() < deadline; await sleep(100)) {
      status = await raw(server.httpPort!, 'GET / HTTP/1.1').then((a) => a.status, () => 0);
    }
    assert.equal(status, 200, 'served again once the idle connections closed');
  } finally {
    for (const s of open) s.destroy();
    await server.stop();
  }
});

test('idle HTTP connections do not starve a worker: pages and WebSocket chat keep flowing beside 150 of them', T, async (t) => {
  const server = await startServer({ args: ['--http-port', '0', '--workers', '1', '--max-connections-per-address', '200'] });
  const idle: net.Socket[] = [];
  try {
    for (let i = 0; i < 150; i++) {
      const s = net.connect(server.httpPort!, '127.0.0.1');
      s.on('error', () => {});
      // Half say nothing; half start a request and never finish it.
      if (i % 2 === 1) s.write('GET / HTTP/1.1\r\nHost: x\r\n');
      idle.push(s);
    }
    await sleep(300);
    const t0 = Date.now();
    assert.equal((await get(server.httpPort!, '/')).status, 200);
    const a = await WsTestClient.welcomed(`ws://127.0.0.1:${server.httpPort}/ws`);
    const b = await WsTestClient.welcomed(`ws://127.0.0.1:${server.httpPort}/ws`);
    a.client.send({ type: 'message', content: 'through the crowd' });
    await b.client.waitFor((m) => m.type === 'message' && m.content === 'through the crowd');
    t.diagnostic(`page + two sessions + a message in ${Date.now() - t0} ms`);
    await Promise.all([a.client.close(), b.client.close()]);
  } finally {
    for (const s of idle) s.destroy();
    await server.stop();
  }
});
