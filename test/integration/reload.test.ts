import assert from 'node:assert/strict';
import fs from 'node:fs';
import type net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Msg } from '../helpers/client';
import { ask, expectFields, login, refused, register, runCli, welcomed, type Conn } from '../helpers/requests';
import { startServer, type RunningServer } from '../helpers/server';
import { sleep, within } from '../helpers/wait';
import { WsTestClient } from '../helpers/ws-client';

/** Polls an async probe until it gives something truthy; fails after `timeoutMs`. */
async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() >= deadline) throw new Error(`timed out waiting for: ${what}`);
    await sleep(100);
  }
}

/**
 * Settings reloaded while the server runs (SIGHUP, `switchboard reload`): a live setting
 * changed in the config file applies to a session that was open before; a restart-only one is
 * named in the log and kept; a bad file changes nothing and the reload says why. WebSocket
 * sessions (/ws) follow a live setting as TCP ones do.
 */

const isError = (code: string) => (m: Msg) => m.type === 'error' && m.code === code;

describe('reloading settings', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sb-reload-'));
  const file = path.join(dir, 'switchboard.json');
  const base = { workers: 1, rateLimit: 1000, rateBurst: 1000 };
  const write = (settings: object): void => fs.writeFileSync(file, JSON.stringify(settings));
  let server: RunningServer;
  let conn: Conn;

  before(async () => {
    write(base);
    server = await startServer({ args: ['--host', '127.0.0.1', '--http-port', '0', '--config', file] });
    conn = await welcomed(server.port);
  });

  after(async () => {
    await within(conn.c.close(), 2000);
    await server?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Sends `n` messages at once; resolves with how many came back and how many were refused RATE_LIMITED. */
  async function burst(n: number, tag: string): Promise<{ delivered: number; limited: number }> {
    const earlier = new Set(conn.c.received);
    for (let i = 0; i < n; i++) conn.c.send({ type: 'message', content: `${tag}${i}` });
    await sleep(800);
    const later = conn.c.received.filter((m) => !earlier.has(m));
    return { delivered: later.filter((m) => m.type === 'message' && String(m.content).startsWith(tag)).length, limited: later.filter(isError('RATE_LIMITED')).length };
  }

  test('SIGHUP: a new rate limit applies to a session opened before it', async () => {
    const before = await burst(20, 'a');
    assert.deepEqual(before, { delivered: 20, limited: 0 });
    // Below the flood bound (4 bursts of refusals close the connection): 10 refused of 15.
    write({ ...base, rateLimit: 1, rateBurst: 5 });
    process.kill(server.pid, 'SIGHUP');
    await server.waitForLog((l) => l.msg === 'reload: applied --rate-limit, --rate-burst');
    // The worker got it on the same channel right after; a moment for it to apply.
    await sleep(200);
    const afterReload = await burst(15, 'b');
    assert.ok(afterReload.delivered >= 5 && afterReload.delivered <= 6, `the new burst (5, plus a refill) delivered: ${JSON.stringify(afterReload)}`);
    assert.equal(afterReload.delivered + afterReload.limited, 15, `the rest refused: ${JSON.stringify(afterReload)}`);
  });

  test('switchboard reload: applied settings are listed; an idle timeout switched on closes a silent session', async () => {
    write({ ...base, idleTimeoutMs: 1000 });
    const r = await runCli(['reload', '--data-dir', server.dataDir]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^applied: --rate-limit 1 -> 1000$/m);
    assert.match(r.stdout, /^applied: --idle-timeout-ms 0 -> 1000$/m);
    const silent = await welcomed(server.port);
    // Opened before this reload too: the session that sent the bursts.
    const why = await conn.c.waitFor(isError('IDLE_TIMEOUT'), 5000);
    expectFields(why, { code: 'IDLE_TIMEOUT' });
    assert.ok(await within(silent.c.closed, 5000), 'a session opened after it is held to it too');
    write(base);
    assert.equal((await runCli(['reload', '--data-dir', server.dataDir])).code, 0);
    conn = await welcomed(server.port);
  });

  test('an account named in admins by a reload is an administrator at once, without logging in again', async (t) => {
    const alice = await welcomed(server.port);
    t.after(() => within(alice.c.close(), 2000));
    await register(alice.c, 'alice');
    await login(alice, 'alice');
    await refused(alice.c, { type: 'notice', content: 'before' }, 'NOT_ALLOWED', ['notice']);
    write({ ...base, admins: ['alice'] });
    const r = await runCli(['reload', '--data-dir', server.dataDir]);
    assert.match(r.stdout, /^applied: --admins \[\] -> \["alice"\]$/m);
    await until('alice is an administrator', async () => {
      const m = await ask(alice.c, { type: 'notice', content: 'after' }, (x) => x.type === 'notice');
      return m.type === 'notice' || undefined;
    });
    write(base);
    assert.equal((await runCli(['reload', '--data-dir', server.dataDir])).code, 0);
  });

  test('a restart-only setting is named in the log and kept', async () => {
    write({ ...base, workers: 3 });
    const r = await runCli(['reload', '--data-dir', server.dataDir, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout) as { applied: unknown[]; ignored: Array<{ key: string; from: unknown; to: unknown }> };
    assert.deepEqual(report.applied, []);
    assert.deepEqual(report.ignored.map((c) => [c.key, c.from, c.to]), [['workers', 1, 3]]);
    await server.waitForLog((l) => l.msg === 'reload: --workers needs a restart; kept 1');
    const text = await runCli(['reload', '--data-dir', server.dataDir]);
    assert.match(text.stdout, /needs a restart: --workers \(kept 1; the configuration says 3\)/);
    const status = JSON.parse((await runCli(['status', '--data-dir', server.dataDir, '--json'])).stdout) as { processes: Array<{ role: string }> };
    assert.equal(status.processes.filter((p) => p.role === 'worker').length, 1, 'still one worker');
  });

  test('a bad file changes nothing and the reload says why', async () => {
    write({ ...base, rateLimit: 'fast', rateBurst: 2 });
    const r = await runCli(['reload', '--data-dir', server.dataDir]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /CONFIG_INVALID: invalid configuration: "rateLimit" in .*: expected a number greater than 0, got "fast"; nothing changed/);
    process.kill(server.pid, 'SIGHUP');
    await server.waitForLog((l) => l.msg === 'reload: the configuration is invalid; nothing changed');
    fs.writeFileSync(file, '{ not json');
    const notJson = await runCli(['reload', '--data-dir', server.dataDir]);
    assert.equal(notJson.code, 1);
    assert.match(notJson.stderr, /is not valid JSON/);
    // rateBurst 2 was not applied with it: the old limits hold.
    assert.deepEqual(await burst(20, 'c'), { delivered: 20, limited: 0 });
    write(base);
    const same = await runCli(['reload', '--data-dir', server.dataDir]);
    assert.equal(same.stdout.trim(), 'no setting changed');
  });

  test('a lower --max-line-bytes closes a WebSocket sending a frame over it with 1009 naming the new limit, opened before the reload or after', async (t) => {
    const url = `ws://127.0.0.1:${server.httpPort}/ws`;
    const opened: WsTestClient[] = [];
    t.after(() => Promise.all(opened.map((c) => within(c.close(), 2000))));
    const connect = async (): Promise<WsTestClient> => {
      const { client } = await WsTestClient.welcomed(url);
      opened.push(client);
      return client;
    };
    const earlier = await connect();
    write({ ...base, maxLineBytes: 4096 });
    const r = await runCli(['reload', '--data-dir', server.dataDir]);
    assert.match(r.stdout, /^applied: --max-line-bytes 65536 -> 4096$/m);
    const later = await connect();
    // Between the new limit and the old: accepted before the reload (and under --max-content-length).
    const frame = { type: 'message', content: 'x'.repeat(8000) };
    for (const [which, client] of [['opened before the reload', earlier], ['opened after it', later]] as const) {
      client.send(frame);
      assert.ok(await within(client.closed, 5000), `the session ${which} is closed`);
      assert.deepEqual(await client.closed, { code: 1009, reason: 'LINE_TOO_LONG: message too big: at most 4096 bytes (--max-line-bytes)' }, which);
      assert.ok(!client.received.some((m) => m.type === 'message'), `the frame went nowhere (${which})`);
    }
    write(base);
    assert.match((await runCli(['reload', '--data-dir', server.dataDir])).stdout, /^applied: --max-line-bytes 4096 -> 65536$/m);
  });

  test('a shorter --line-timeout-ms closes a WebSocket opened before the reload that leaves a frame unfinished', async (t) => {
    const { client } = await WsTestClient.welcomed(`ws://127.0.0.1:${server.httpPort}/ws`);
    t.after(() => within(client.close(), 2000));
    write({ ...base, lineTimeoutMs: 1000 });
    const r = await runCli(['reload', '--data-dir', server.dataDir]);
    assert.match(r.stdout, /^applied: --line-timeout-ms 30000 -> 1000$/m);
    // A masked text frame announcing 100 bytes, of which 10 are sent (the default 30 s would not close it in time).
    const raw = (client.ws as unknown as { _socket: net.Socket })._socket;
    raw.write(Buffer.concat([Buffer.from([0x81, 0x80 | 100, 1, 2, 3, 4]), Buffer.alloc(10, 0x20)]));
    assert.ok(await within(client.closed, 6000), 'closed by the new line timeout');
    const { code, reason } = await client.closed;
    assert.equal(code, 1008);
    assert.match(reason, /^LINE_TIMEOUT: a frame was started but not finished within 1000 ms/);
    write(base);
    assert.equal((await runCli(['reload', '--data-dir', server.dataDir])).code, 0);
  });
});
