// HTTP under load: a connection's request rate (--http-rate-limit, --http-rate-burst) answers
// 429 with Retry-After past its burst while other clients are served, closes a connection that
// goes on far past it, follows a reload; and a plain-HTTP connection the supervisor refuses
// for load gets a fixed 503 (or 429 for its address) instead of a silent close, while the chat
// listener's refused clients still get no byte.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { metricsPort, scrape, total } from '../helpers/metrics';
import { parseAnswer, readUntilClosed } from '../helpers/raw-http';
import { startServer, type RunningServer } from '../helpers/server';
import { sleep } from '../helpers/wait';

const T = { timeout: 30_000 };
const BIN = path.resolve(__dirname, '..', '..', '..', 'bin', 'switchboard.js');

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** The client's port: the same one means the same connection. */
  localPort: number;
}

/** One GET through `agent` (keep-alive, one socket: requests follow each other on one connection). */
function get(agent: http.Agent, port: number, target: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: target, agent }, (res) => {
      // Read now: at its end the socket goes back to the agent and the answer forgets it.
      const localPort = res.socket.localPort!;
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body, localPort }));
    });
    req.on('error', reject);
  });
}

const keepAlive = (): http.Agent => new http.Agent({ keepAlive: true, maxSockets: 1 });

describe('the HTTP request rate of a connection', () => {
  let server: RunningServer;
  before(async () => {
    // One token every 2 s: the test's requests cannot earn a second one by being slow.
    server = await startServer({ args: ['--http-port', '0', '--workers', '1', '--http-rate-limit', '0.5', '--http-rate-burst', '5', '--metrics-port', '0'] });
  });
  after(async () => {
    await server?.stop();
  });

  test('past its burst a keep-alive connection gets 429 with Retry-After; another client is served meanwhile; the refusals are counted by code', T, async () => {
    const metrics = await metricsPort(server);
    const errors = async (code: string): Promise<number> => total(await scrape(metrics), 'switchboard_http_errors_total', { code });
    assert.equal(await errors('RATE_LIMITED'), 0, 'shown at 0 before any refusal');
    const flooder = keepAlive();
    const other = keepAlive();
    try {
      const answers: Answer[] = [];
      for (let i = 0; i < 9; i++) answers.push(await get(flooder, server.httpPort!, '/no-such-page'));
      assert.equal(new Set(answers.map((a) => a.localPort)).size, 1, 'all on one connection');
      assert.deepEqual(answers.slice(0, 5).map((a) => a.status), [404, 404, 404, 404, 404], 'the burst is served');
      const limited = answers.slice(5);
      assert.deepEqual(limited.map((a) => a.status), [429, 429, 429, 429], 'past the burst: refused');
      for (const a of limited) {
        assert.equal(a.headers['retry-after'], '2', 'a token comes back in 2 s');
        assert.match(String(a.headers['content-type']), /^application\/json/);
        const body = JSON.parse(a.body) as { error: string; message: string };
        assert.equal(body.error, 'RATE_LIMITED');
        assert.match(body.message, /requests a second/);
      }
      // Another connection has its own budget, untouched by the first one's flood.
      const served = await get(other, server.httpPort!, '/no-such-page');
      assert.equal(served.status, 404);
      assert.notEqual(served.localPort, answers[0]!.localPort);
      // Limited is not closed: the flooder's connection still answers (with 429).
      const again = await get(flooder, server.httpPort!, '/no-such-page');
      assert.equal(again.localPort, answers[0]!.localPort, 'the same connection');
      assert.equal(again.status, 429);
      // Each answer is counted as it is sent: five 429s, and the six 404s of the routes.
      assert.equal(await errors('RATE_LIMITED'), 5, 'switchboard_http_errors_total{code="RATE_LIMITED"}');
      assert.equal(await errors('NOT_FOUND'), 6, 'switchboard_http_errors_total{code="NOT_FOUND"}');
    } finally {
      flooder.destroy();
      other.destroy();
    }
  });

  test('a connection that goes on far past the limit is closed after a 429 saying Connection: close', T, async () => {
    // Burst 5: five served, then 5 x 4 = 20 refusals are tolerated within 10 s; the next is the last.
    const requests = Array.from({ length: 40 }, () => `GET /no-such-page HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`).join('');
    const text = await readUntilClosed(server.httpPort!, requests);
    const statuses = [...text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));
    assert.deepEqual(statuses, [...Array<number>(5).fill(404), ...Array<number>(21).fill(429)], 'served, refused, then closed');
    const last = parseAnswer(text.slice(text.lastIndexOf('HTTP/1.1 ')));
    assert.equal(last.headers.connection, 'close');
    assert.equal(JSON.parse(last.body).error, 'RATE_LIMITED');
  });
});

test('a reload changes the request rate of the connections already open', T, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sb-http-reload-'));
  const file = path.join(dir, 'switchboard.json');
  fs.writeFileSync(file, JSON.stringify({ workers: 1, httpRateLimit: 1000, httpRateBurst: 1000 }));
  const server = await startServer({ args: ['--http-port', '0', '--config', file] });
  const agent = keepAlive();
  try {
    const first = await get(agent, server.httpPort!, '/no-such-page');
    assert.equal(first.status, 404);
    fs.writeFileSync(file, JSON.stringify({ workers: 1, httpRateLimit: 0.5, httpRateBurst: 2 }));
    process.kill(server.pid, 'SIGHUP');
    await server.waitForLog((l) => l.msg === 'reload: applied --http-rate-limit, --http-rate-burst');
    await sleep(200);
    const answers: Answer[] = [];
    for (let i = 0; i < 4; i++) answers.push(await get(agent, server.httpPort!, '/no-such-page'));
    assert.ok(answers.every((a) => a.localPort === first.localPort), 'the connection opened before the reload');
    assert.deepEqual(answers.map((a) => a.status), [404, 404, 429, 429], 'the new burst of 2');
  } finally {
    agent.destroy();
    await server.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('--max-clients: a refused plain-HTTP connection gets 503 with Retry-After unread; refused chat and HTTPS clients still get nothing', T, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sb-http-refused-'));
  const made = spawnSync(process.execPath, [BIN, 'cert', '--out', dir], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(made.status, 0, made.stderr);
  const tlsArgs = ['--https-port', '0', '--tls-cert', path.join(dir, 'cert.pem'), '--tls-key', path.join(dir, 'key.pem')];
  const server = await startServer({ args: ['--http-port', '0', ...tlsArgs, '--workers', '1', '--max-clients', '1'] });
  const holder = net.connect(server.httpPort!, '127.0.0.1');
  holder.on('error', () => {});
  try {
    await new Promise((resolve) => holder.once('connect', resolve));
    await sleep(300);
    // Nothing sent: the answer cannot come from reading a request.
    const refused = parseAnswer(await readUntilClosed(server.httpPort!));
    assert.equal(refused.status, 503);
    assert.equal(refused.headers['retry-after'], '5');
    assert.equal(refused.headers.connection, 'close');
    assert.match(refused.headers['content-type']!, /^application\/json/);
    assert.equal(Number(refused.headers['content-length']), Buffer.byteLength(refused.body));
    assert.equal(JSON.parse(refused.body).error, 'TOO_MANY_USERS');
    // A request sent at once is answered the same (and not parsed: no 400 for a bad one).
    assert.equal(parseAnswer(await readUntilClosed(server.httpPort!, 'NONSENSE\r\n\r\n')).status, 503);
    // The chat listener keeps the seed's behaviour: a core client gets no line.
    assert.equal(await readUntilClosed(server.port), '');
    // HTTPS is not handshaken for a refusal (no crypto under a connect flood): no byte either.
    assert.equal(await readUntilClosed(server.httpsPort!), '');
  } finally {
    holder.destroy();
    await server.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
