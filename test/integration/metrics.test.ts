import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { holderOf, hubPid, sleep, workerPids } from '../helpers/chaos';
import { TestClient } from '../helpers/client';
import { get, metricsPort, parseExposition, scrape, total, type Sample } from '../helpers/metrics';
import * as proc from '../helpers/procfs';
import { startServer, type RunningServer } from '../helpers/server';
import { StoreFaults } from '../helpers/store-faults';
import { WsTestClient } from '../helpers/ws-client';

/**
 * Issue 12, "Metrics and health", through the real server and real HTTP: the exposition parses
 * line by line, the counters move with real traffic, refusals are counted by reason, counters
 * survive a worker killed with SIGKILL, and /readyz follows the hub through a crash.
 */

/** Polls an async probe until it returns something truthy; fails naming `what` after `timeoutMs`. */
async function eventually<T>(what: string, probe: () => Promise<T | null | undefined | false>, timeoutMs = 15_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`);
    await sleep(everyMs);
  }
}

const clients: TestClient[] = [];
async function guest(port: number | { path: string }, opts: { core?: boolean } = {}): Promise<TestClient> {
  const { client } = await TestClient.welcomed(port, 20_000, opts);
  clients.push(client);
  return client;
}

describe('metrics and health endpoints (pool, two workers)', () => {
  let server: RunningServer;
  let port: number;

  before(async () => {
    server = await startServer({ args: ['--workers', '2', '--metrics-port', '0', '--max-clients', '3', '--log-level', 'info'] });
    port = await metricsPort(server);
  });
  after(async () => {
    for (const c of clients) c.socket.destroy();
    await server?.stop();
  });

  test('/healthz is 200 and /readyz 200 once the server is up', async () => {
    const health = await get(port, '/healthz');
    assert.equal(health.status, 200);
    assert.deepEqual(JSON.parse(health.body), { status: 'alive' });
    const ready = await eventually('readyz 200', async () => {
      const r = await get(port, '/readyz');
      return r.status === 200 ? r : null;
    });
    const body = JSON.parse(ready.body) as { ready: boolean; checks: Record<string, { ok: boolean }> };
    assert.equal(body.ready, true);
    assert.deepEqual(Object.keys(body.checks).sort(), ['hub', 'store', 'workers']);
    assert.equal((await get(port, '/nowhere')).status, 404);
  });

  test('the banner names the metrics URL, at the port taken', () => {
    assert.match(server.stderr(), new RegExp(`^metrics: http://127\\.0\\.0\\.1:${port}/metrics$`, 'm'));
  });

  test('/metrics is the Prometheus text format, every line well-formed, with per-process series', async () => {
    const res = await get(port, '/metrics');
    assert.equal(res.status, 200);
    assert.match(res.type ?? '', /^text\/plain; version=0\.0\.4/);
    const samples = parseExposition(res.body);
    assert.ok(samples.length > 100, `${samples.length} samples`);
    // Per-process series: the supervisor, the hub and each worker, told apart by role and worker id.
    const heaps = samples.filter((s) => s.name === 'nodejs_heap_size_used_bytes');
    const processes = heaps.map((s) => `${s.labels.role}/${s.labels.worker}`).sort();
    assert.deepEqual(processes, ['hub/', 'supervisor/', 'worker/1', 'worker/2']);
    assert.ok(heaps.every((s) => s.value > 0));
    assert.equal(samples.filter((s) => s.name === 'nodejs_eventloop_lag_seconds').length, 4);
    // Summed series carry no per-process label.
    const ours = samples.filter((s) => s.name.startsWith('switchboard_'));
    assert.ok(ours.length > 50);
    assert.deepEqual(ours.filter((s) => s.labels.worker !== undefined), []);
    assert.equal(total(samples, 'switchboard_processes', { role: 'worker' }), 2);
  });

  test('counters move with traffic; refusals are counted by reason; counters survive a worker killed with SIGKILL', async () => {
    const before = await scrape(port);
    const a = await guest(server.port);
    const b = await guest(server.port, { core: true });
    const messages = 10;
    for (let i = 0; i < messages; i++) a.send({ type: 'message', content: `hello ${i}` });
    await b.waitFor((m) => m.type === 'message' && m.content === `hello ${messages - 1}`, 10_000);
    // An extended client's bad line: one INVALID_MESSAGE error.
    a.send('{"type":"message"}\n');
    await a.waitFor((m) => m.type === 'error');

    const moved = await eventually('the counters to show the traffic', async () => {
      const s = await scrape(port);
      return total(s, 'switchboard_messages_in_total', { kind: 'chat' }) - total(before, 'switchboard_messages_in_total', { kind: 'chat' }) >= messages ? s : null;
    });
    const delta = (name: string, where: Record<string, string> = {}): number => total(moved, name, where) - total(before, name, where);
    assert.equal(delta('switchboard_messages_in_total', { kind: 'chat' }), messages);
    assert.ok(delta('switchboard_messages_in_total', { kind: 'keepalive' }) >= 1, 'the hello');
    // Each message to both members of MainHall.
    assert.ok(delta('switchboard_deliveries_total') >= 2 * messages, `deliveries ${delta('switchboard_deliveries_total')}`);
    assert.ok(delta('switchboard_client_received_bytes_total') >= messages * '{"type":"message","content":"hello 0"}'.length);
    assert.ok(delta('switchboard_client_sent_bytes_total') >= 2 * messages * 40);
    assert.equal(total(moved, 'switchboard_connections', { state: 'open' }), 2);
    assert.equal(total(moved, 'switchboard_connections', { listener: 'tcp', state: 'open' }), 2);
    assert.ok(delta('switchboard_connections_accepted_total', { listener: 'tcp' }) >= 2);
    assert.ok(delta('switchboard_errors_total') >= 1, 'the INVALID_MESSAGE error');
    // One chat message in 8 is timed (the others cost no clock read).
    assert.ok(delta('switchboard_hub_request_duration_seconds_count', { type: 'message' }) >= Math.floor(messages / 8));
    assert.ok(total(moved, 'switchboard_store_operation_duration_seconds_count', { operation: 'appendRoomMessages' }) >= 1);
    assert.equal(delta('switchboard_admissions_refused_total', { reason: 'TOO_MANY_USERS' }), 0);

    // --max-clients 3: a third client is taken, the fourth refused.
    await guest(server.port);
    const refused = await TestClient.connect(server.port);
    clients.push(refused);
    await refused.closed;
    const afterRefusal = await eventually('the refusal counted', async () => {
      const s = await scrape(port);
      return total(s, 'switchboard_admissions_refused_total', { reason: 'TOO_MANY_USERS' }) === 1 ? s : null;
    });
    assert.equal(total(afterRefusal, 'switchboard_admissions_refused_total'), 1);

    // Kill a worker that served traffic; its counters must not leave the sums.
    const chatBefore = total(afterRefusal, 'switchboard_messages_in_total');
    const deliveriesBefore = total(afterRefusal, 'switchboard_deliveries_total');
    const bucketsBefore = total(afterRefusal, 'switchboard_hub_request_duration_seconds_count');
    const victim = workerPids(server)[0]!;
    process.kill(victim, 'SIGKILL');
    const restarted = await eventually('the worker replaced and the restart counted', async () => {
      const s = await scrape(port);
      return total(s, 'switchboard_process_restarts_total', { role: 'worker' }) === 1 && total(s, 'switchboard_processes', { role: 'worker' }) === 2 ? s : null;
    });
    assert.ok(total(restarted, 'switchboard_messages_in_total') >= chatBefore, `messages_in went from ${chatBefore} to ${total(restarted, 'switchboard_messages_in_total')}`);
    assert.ok(total(restarted, 'switchboard_deliveries_total') >= deliveriesBefore);
    assert.ok(total(restarted, 'switchboard_hub_request_duration_seconds_count') >= bucketsBefore);
    // The dead worker's own per-process series are gone; the new one has its own.
    const workers = restarted.filter((s: Sample) => s.name === 'nodejs_heap_size_used_bytes' && s.labels.role === 'worker').map((s) => s.labels.worker);
    assert.equal(workers.length, 2);
    assert.ok(workers.includes('3'), `worker ids ${workers.join(',')}`);
  });

  test('/readyz is 503 naming the hub while the hub is down, and 200 again once it is back', async () => {
    await eventually('readyz 200', async () => (await get(port, '/readyz')).status === 200);
    const pid = hubPid(server);
    process.kill(pid, 'SIGKILL');
    const down = await eventually('readyz 503', async () => {
      const r = await get(port, '/readyz');
      return r.status === 503 ? r : null;
    }, 10_000, 10);
    const body = JSON.parse(down.body) as { ready: boolean; checks: Record<string, { ok: boolean; reason?: string }> };
    assert.equal(body.ready, false);
    assert.equal(body.checks.hub!.ok, false);
    assert.match(body.checks.hub!.reason!, /hub/);
    // Alive all along: liveness is the supervisor's.
    assert.equal((await get(port, '/healthz')).status, 200);
    await eventually('readyz 200 after the hub restart', async () => (await get(port, '/readyz')).status === 200, 20_000);
    const s = await scrape(port);
    assert.equal(total(s, 'switchboard_process_restarts_total', { role: 'hub' }), 1);
    assert.notEqual(hubPid(server), pid);
    assert.deepEqual(s.filter((x) => x.name === 'switchboard_readiness_check').map((x) => `${x.labels.check}=${x.value}`).sort(), ['hub=1', 'store=1', 'workers=1']);
  });

  test('every metric the Grafana dashboard and the documented alerts use is exported', async () => {
    const docs = path.resolve(__dirname, '..', '..', '..', 'docs');
    const used = new Set<string>();
    for (const file of ['grafana-dashboard.json', 'OPERATIONS.md']) {
      for (const m of fs.readFileSync(path.join(docs, file), 'utf8').matchAll(/\b((?:switchboard|nodejs|process)_[a-z0-9_]+)/g)) used.add(m[1]!.replace(/_(bucket|sum|count)$/, ''));
    }
    const res = await get(port, '/metrics');
    const families = new Set([...res.body.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!));
    // Cluster gauges exist on clustered nodes only.
    const missing = [...used].filter((name) => !families.has(name) && !name.startsWith('switchboard_cluster_'));
    assert.deepEqual(missing, []);
    assert.ok(used.size > 20);
  });
});

describe('TLS handshakes and connections by listener', () => {
  test('a good handshake and a failed one are counted; TLS and Unix-socket sessions show on their listeners', async (t) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sb-metrics-tls-'));
    t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
    const bin = path.resolve(__dirname, '..', '..', '..', 'bin', 'switchboard.js');
    const made = spawnSync(process.execPath, [bin, 'cert', '--out', dir], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(made.status, 0, made.stderr);
    const unixSocket = path.join(dir, 'chat.sock');
    const server = await startServer({ args: ['--workers', '1', '--metrics-port', '0', '--tls-port', '0', '--tls-cert', path.join(dir, 'cert.pem'), '--tls-key', path.join(dir, 'key.pem'), '--unix-socket', unixSocket] });
    t.after(() => server.stop());
    const port = await metricsPort(server);
    const { client } = await TestClient.welcomedTls(server.tlsPort!, { ca: fs.readFileSync(path.join(dir, 'cert.pem'), 'utf8') });
    clients.push(client);
    const local = await guest({ path: unixSocket });
    // Plain text to the TLS port: the worker's handshake fails.
    const plain = net.createConnection({ host: '127.0.0.1', port: server.tlsPort! });
    plain.on('error', () => {});
    plain.write('{"type":"hello"}\n');
    await new Promise((resolve) => plain.on('close', resolve));
    const s = await eventually('both handshakes counted', async () => {
      const s = await scrape(port);
      return total(s, 'switchboard_tls_handshakes_total') === 2 ? s : null;
    });
    assert.equal(total(s, 'switchboard_tls_handshakes_total', { result: 'ok' }), 1);
    assert.equal(total(s, 'switchboard_connections_accepted_total', { listener: 'tls' }), 2);
    assert.equal(total(s, 'switchboard_connections', { listener: 'tls', state: 'open' }), 1);
    assert.equal(total(s, 'switchboard_connections', { listener: 'tcp', state: 'open' }), 0);
    assert.equal(total(s, 'switchboard_connections', { listener: 'unix', state: 'open' }), 1);
    assert.equal(total(s, 'switchboard_connections_accepted_total', { listener: 'unix' }), 1);
    client.socket.destroy();
    local.socket.destroy();
  });
});

describe('WebSocket sessions', () => {
  test('a WebSocket session shows on its listener and its message bytes move the byte counters for listener websocket', async (t) => {
    const server = await startServer({ args: ['--workers', '1', '--metrics-port', '0', '--http-port', '0'] });
    t.after(() => server.stop());
    const port = await metricsPort(server);
    const { client } = await WsTestClient.welcomed(`ws://127.0.0.1:${server.httpPort}/ws`);
    t.after(() => client.close());
    // The hello is answered before the pong: everything before the baseline has been read.
    client.send({ type: 'ping' });
    await client.waitFor((m) => m.type === 'pong');
    const before = await scrape(port);
    let framesIn = 0;
    client.ws.on('message', (data: Buffer) => (framesIn += data.length));
    const sent = Array.from({ length: 10 }, (_, i) => JSON.stringify({ type: 'message', content: `over the web ${i}` }));
    for (const frame of sent) client.send(frame);
    await client.waitFor((m) => m.type === 'message' && m.content === 'over the web 9');
    const delta = (s: Sample[], name: string, listener: string): number => total(s, name, { listener }) - total(before, name, { listener });
    const sentBytes = sent.reduce((sum, f) => sum + Buffer.byteLength(f), 0);
    const moved = await eventually('the WebSocket bytes counted', async () => {
      const s = await scrape(port);
      return delta(s, 'switchboard_client_received_bytes_total', 'websocket') >= sentBytes ? s : null;
    });
    // Exactly the payloads sent: frame headers and the HTTP upgrade are not counted.
    assert.equal(delta(moved, 'switchboard_client_received_bytes_total', 'websocket'), sentBytes);
    assert.ok(delta(moved, 'switchboard_client_sent_bytes_total', 'websocket') >= framesIn, `sent ${delta(moved, 'switchboard_client_sent_bytes_total', 'websocket')}, the client got ${framesIn}`);
    assert.ok(framesIn >= sentBytes, 'the client got its messages back');
    for (const name of ['switchboard_client_received_bytes_total', 'switchboard_client_sent_bytes_total']) assert.equal(delta(moved, name, 'tcp'), 0, `${name} tcp`);
    assert.equal(total(moved, 'switchboard_connections', { listener: 'websocket', state: 'open' }), 1);
    // Closed, its bytes stay in the counters.
    await client.close();
    const closed = await eventually('the WebSocket session gone', async () => {
      const s = await scrape(port);
      return total(s, 'switchboard_connections', { listener: 'websocket', state: 'open' }) === 0 ? s : null;
    });
    assert.ok(total(closed, 'switchboard_client_received_bytes_total', { listener: 'websocket' }) >= total(moved, 'switchboard_client_received_bytes_total', { listener: 'websocket' }));
    assert.ok(total(closed, 'switchboard_client_sent_bytes_total', { listener: 'websocket' }) >= total(moved, 'switchboard_client_sent_bytes_total', { listener: 'websocket' }));
  });
});

describe('store failures', () => {
  test('a failing store is counted by code and makes /readyz 503 naming the store; ready again once it works', async (t) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sb-metrics-store-'));
    t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
    const faults = new StoreFaults(dir);
    const server = await startServer({ args: ['--workers', '1', '--metrics-port', '0'], env: faults.env() });
    t.after(() => server.stop());
    const port = await metricsPort(server);
    await eventually('readyz 200', async () => (await get(port, '/readyz')).status === 200);
    const a = await guest(server.port);
    // Room messages cannot be stored, nor anything else written (the readiness probe included).
    faults.fail('appendRoomMessages', 'revokeToken');
    a.send({ type: 'message', content: 'lost' });
    await a.waitFor((m) => m.type === 'error' && m.code === 'STORE_FAILED', 10_000);
    const down = await eventually('readyz 503', async () => {
      const r = await get(port, '/readyz');
      return r.status === 503 ? r : null;
    });
    const checks = (JSON.parse(down.body) as { checks: Record<string, { ok: boolean; reason?: string }> }).checks;
    assert.equal(checks.store!.ok, false);
    assert.match(checks.store!.reason!, /STORE_UNAVAILABLE/);
    assert.equal(checks.hub!.ok, true);
    const s = await scrape(port);
    assert.ok(total(s, 'switchboard_store_errors_total', { code: 'STORE_UNAVAILABLE' }) >= 2, 'the batch and the probe');
    assert.ok(total(s, 'switchboard_errors_total', { code: 'STORE_FAILED' }) >= 1, 'the client was told');
    assert.equal(total(s, 'switchboard_readiness_check', { check: 'store' }), 0);
    faults.clear();
    await eventually('readyz 200 again', async () => (await get(port, '/readyz')).status === 200);
  });
});

describe('dedicated placement', () => {
  test('no per-process series for the per-client workers; a client\'s worker ends and its counters stay', async (t) => {
    const server = await startServer({ args: ['--placement', 'dedicated', '--spares', '1', '--metrics-port', '0'] });
    t.after(() => server.stop());
    const port = await metricsPort(server);
    const a = await guest(server.port);
    const b = await guest(server.port);
    for (let i = 0; i < 5; i++) a.send({ type: 'message', content: `m${i}` });
    await b.waitFor((m) => m.type === 'message' && m.content === 'm4', 10_000);
    const before = await eventually('the messages counted', async () => {
      const s = await scrape(port);
      return total(s, 'switchboard_messages_in_total', { kind: 'chat' }) === 5 ? s : null;
    });
    assert.deepEqual([...new Set(before.filter((s) => s.name === 'nodejs_heap_size_used_bytes').map((s) => s.labels.role))].sort(), ['hub', 'supervisor']);
    // a leaves: its worker process exits (the dedicated model), its counters must stay.
    const holder = holderOf(server, a.localPort);
    assert.ok(holder !== undefined, 'the worker holding a');
    a.socket.destroy();
    await eventually('a\'s worker process gone', async () => !proc.isAlive(holder));
    const after = await scrape(port);
    assert.equal(total(after, 'switchboard_connections', { state: 'open' }), 1);
    assert.equal(total(after, 'switchboard_messages_in_total', { kind: 'chat' }), 5);
    assert.equal(total(after, 'switchboard_process_restarts_total'), 0, 'a worker that ends with its client is no restart');
  });
});

describe('metrics off by default', () => {
  test('no metrics server unless --metrics-port is given', async (t) => {
    const server = await startServer({ args: ['--workers', '1'] });
    t.after(() => server.stop());
    const { client } = await TestClient.welcomed(server.port);
    client.socket.destroy();
    assert.equal(server.logs.some((l) => l.msg === 'metrics listening'), false);
    // The supervisor listens on the chat port only.
    const mine = proc.socketInodes(server.pid);
    const listening = proc.tcpTable().filter((e) => e.state === '0A' && mine.has(e.inode)).map((e) => e.localPort);
    assert.deepEqual(listening, [server.port]);
  });
});
