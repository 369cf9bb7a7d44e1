// TLS end to end: `switchboard cert`, the TLS listener (accepted by the supervisor, handshaken
// by a worker), the policy (TLS 1.2+, AEAD ciphers), handshake time limit, the terminal client's
// --tls/--ca/--insecure, and the certificate reload on SIGHUP. 127.0.0.1 only; every process
// started here is killed by its pid if it outlives its test.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type tls from 'node:tls';
import { TestClient, type Msg } from '../helpers/client';
import * as proc from '../helpers/procfs';
import { startServer, type RunningServer } from '../helpers/server';

const BIN = path.resolve(__dirname, '..', '..', '..', 'bin', 'switchboard.js');
const TEST_TIMEOUT = { timeout: 60_000 };

const started = new Set<ChildProcess>();
process.on('exit', () => {
  for (const p of started) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
});

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sb-tls-'));
const configHome = path.join(tmp, 'config');
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));

interface Pair {
  cert: string;
  key: string;
  pem: string;
  fingerprint: string;
}

/** `switchboard cert --out DIR`, checked to have worked. */
function makePair(name: string, ...args: string[]): Pair & { stdout: string } {
  const dir = path.join(tmp, name);
  const run = spawnSync(process.execPath, [BIN, 'cert', '--out', dir, ...args], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(run.status, 0, run.stderr);
  const pem = fs.readFileSync(path.join(dir, 'cert.pem'), 'utf8');
  return { cert: path.join(dir, 'cert.pem'), key: path.join(dir, 'key.pem'), pem, fingerprint: new crypto.X509Certificate(pem).fingerprint256, stdout: run.stdout };
}

/** Replaces a file whole, as an operator's deploy (or certbot) does. */
function install(from: string, to: string): void {
  fs.copyFileSync(from, to + '.new');
  fs.renameSync(to + '.new', to);
}

const peerFingerprint = (c: TestClient): string => (c.socket as tls.TLSSocket).getPeerCertificate().fingerprint256;

/** A message sent by `from` in its room arrives at `to` (and back at `from`). */
async function chat(from: TestClient, to: TestClient, content: string): Promise<void> {
  from.send({ type: 'message', content });
  const match = (m: Msg): boolean => m.type === 'message' && m.content === content;
  await Promise.all([from.waitFor(match), to.waitFor(match)]);
}

/** The outcome of a client that must fail: its error code (or 'closed'). */
async function failure(connecting: Promise<TestClient>): Promise<string> {
  try {
    const client = await connecting;
    // Handshake done but closed at once (a refusal): that must not look like a welcome.
    const first = await client.next(5000).catch(() => null);
    await client.close();
    return first ? `welcomed: ${JSON.stringify(first)}` : 'closed';
  } catch (err) {
    return (err as NodeJS.ErrnoException).code ?? (err as Error).message;
  }
}

let pairA: Pair;
let pairB: Pair;

before(() => {
  pairA = makePair('a');
  // Another subject: with two self-signed certificates of one name, a client trusting both
  // may check the server's against the wrong one.
  pairB = makePair('b', '--host', 'reloaded.test');
});

test('switchboard cert: a self-signed pair for localhost and 127.0.0.1, key mode 0600', () => {
  const made = makePair('named', '--host', 'chat.example.test', '--days', '10');
  const cert = new crypto.X509Certificate(made.pem);
  assert.match(cert.subject, /CN=chat\.example\.test/);
  for (const san of ['DNS:chat.example.test', 'DNS:localhost', 'IP Address:127.0.0.1']) assert.ok(cert.subjectAltName?.includes(san), cert.subjectAltName);
  assert.ok(cert.checkPrivateKey(crypto.createPrivateKey(fs.readFileSync(made.key))));
  assert.equal(fs.statSync(made.key).mode & 0o777, 0o600);
  const days = (Date.parse(cert.validTo) - Date.now()) / 86_400_000;
  assert.ok(days > 9 && days <= 10.01, `valid for ${days} days`);
  assert.equal(cert.ca, false);
  assert.match(made.stdout, new RegExp(made.fingerprint));
  assert.equal(fs.readdirSync(path.dirname(made.cert)).sort().join(' '), 'cert.pem key.pem');

  const bad = spawnSync(process.execPath, [BIN, 'cert', '--out', path.join(tmp, 'x'), '--days', '0'], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /--days/);
});

test('serve refuses to start with a key that does not match the certificate', TEST_TIMEOUT, async () => {
  await assert.rejects(
    startServer({ args: ['--tls-port', '0', '--tls-cert', pairA.cert, '--tls-key', pairB.key] }),
    /does not belong to the certificate/,
  );
});

describe('plain TCP and TLS side by side (pool)', () => {
  let server: RunningServer;
  let live: { cert: string; key: string };
  const ca = (): tls.ConnectionOptions => ({ ca: [pairA.pem, pairB.pem] });

  before(async () => {
    // The files the server is configured with; tests replace them, then SIGHUP.
    const dir = path.join(tmp, 'live');
    fs.mkdirSync(dir);
    live = { cert: path.join(dir, 'cert.pem'), key: path.join(dir, 'key.pem') };
    install(pairA.cert, live.cert);
    install(pairA.key, live.key);
    server = await startServer({ args: ['--workers', '2', '--tls-port', '0', '--tls-cert', live.cert, '--tls-key', live.key] });
  });
  after(async () => {
    await server?.stop();
  });

  test('the banner and the listening line give both ports', async () => {
    await banner(server);
    assert.equal(typeof server.port, 'number');
    assert.equal(typeof server.tlsPort, 'number');
    assert.notEqual(server.port, server.tlsPort);
    assert.match(server.stderr(), new RegExp(`^Switchboard listening on 127\\.0\\.0\\.1:${server.port} and TLS 127\\.0\\.0\\.1:${server.tlsPort};`, 'm'));
  });

  test('a TLS client and a plain client talk in one room', TEST_TIMEOUT, async () => {
    const { client: secure, identity: secureId } = await TestClient.welcomedTls(server.tlsPort!, ca());
    const { client: plain, identity: plainId } = await TestClient.welcomed(server.port);
    try {
      const socket = secure.socket as tls.TLSSocket;
      assert.equal(socket.authorized, true);
      assert.equal(socket.getProtocol(), 'TLSv1.3');
      assert.equal(peerFingerprint(secure), pairA.fingerprint);
      const room = `Tls${process.pid}`;
      secure.send({ type: 'createroom', roomid: room });
      secure.send({ type: 'join', roomid: room });
      await secure.waitFor((m) => m.type === 'roomchange' && m.identity === secureId && m.roomid === room);
      plain.send({ type: 'join', roomid: room });
      await plain.waitFor((m) => m.type === 'roomchange' && m.identity === plainId && m.roomid === room);
      await chat(secure, plain, 'over TLS');
      await chat(plain, secure, 'over plain TCP');
      const heard = secure.received.find((m) => m.type === 'message' && m.content === 'over plain TCP');
      assert.equal(heard?.identity, plainId);
    } finally {
      await Promise.all([secure.close(), plain.close()]);
    }
  });

  test('TLS 1.1 and CBC-only clients are refused; TLS 1.2 gets an AEAD cipher; others unharmed', TEST_TIMEOUT, async () => {
    const { client: bystander } = await TestClient.welcomedTls(server.tlsPort!, ca());
    try {
      // SECLEVEL=0 lets this client offer TLS 1.1 at all: the refusal must be the server's.
      const old = await failure(TestClient.connectTls(server.tlsPort!, { ...ca(), minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' }));
      assert.match(old, /PROTOCOL_VERSION|UNSUPPORTED_PROTOCOL/);
      await server.waitForLog((l) => l.role === 'worker' && l.msg === 'TLS handshake failed; client closed' && l.code === 'ERR_SSL_UNSUPPORTED_PROTOCOL');

      const cbc = await failure(TestClient.connectTls(server.tlsPort!, { ...ca(), maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES128-SHA256:ECDHE-ECDSA-AES128-SHA' }));
      assert.match(cbc, /HANDSHAKE_FAILURE|NO_SHARED_CIPHER/);

      const { client: v12 } = await TestClient.welcomedTls(server.tlsPort!, { ...ca(), maxVersion: 'TLSv1.2' });
      const socket = v12.socket as tls.TLSSocket;
      assert.equal(socket.getProtocol(), 'TLSv1.2');
      assert.match(socket.getCipher().name, /^ECDHE-ECDSA-(AES(128|256)-GCM-SHA(256|384)|CHACHA20-POLY1305)$/);
      await v12.close();

      // A plain-text client on the TLS port: its JSON is no ClientHello.
      const confused = await TestClient.connect(server.tlsPort!);
      confused.send({ type: 'list' });
      await confused.closed;
      assert.equal(confused.received.length, 0);

      bystander.send({ type: 'list' });
      await bystander.waitFor((m) => m.type === 'roomlist');
    } finally {
      await bystander.close();
    }
  });

  test('terminal client: --tls --ca works, without --ca it fails verification (exit 1), --insecure works with a warning', TEST_TIMEOUT, async () => {
    const target = `127.0.0.1:${server.tlsPort}`;
    const ok = await runClient([target, '--tls', '--ca', pairA.cert, '--no-reconnect'], 'hello over tls\n');
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, new RegExp(`^Connected to ${target.replace(/\./g, '\\.')} as guest\\d+$`, 'm'));
    assert.match(ok.stdout, /^guest\d+: hello over tls/m);

    const untrusted = await runClient([target, '--tls'], 'never sent\n');
    assert.equal(untrusted.code, 1, untrusted.stdout);
    assert.match(untrusted.stderr, /certificate was not accepted: .*DEPTH_ZERO_SELF_SIGNED_CERT.*--ca FILE/);
    assert.doesNotMatch(untrusted.stdout, /Connected/);

    const insecure = await runClient([target, '--tls', '--insecure', '--no-reconnect'], 'hello anyway\n');
    assert.equal(insecure.code, 0, insecure.stderr);
    assert.match(insecure.stderr, /^warning: --insecure: .*not verified/m);
    assert.match(insecure.stdout, /^guest\d+: hello anyway/m);

    const plainPort = await runClient([`127.0.0.1:${server.port}`, '--tls', '--ca', pairA.cert], 'x\n');
    assert.equal(plainPort.code, 1);
    assert.match(plainPort.stderr, /did not answer in TLS/);
  });

  test('SIGHUP with a new pair: open TLS sessions go on, new ones get the new certificate', TEST_TIMEOUT, async () => {
    const { client: before1 } = await TestClient.welcomedTls(server.tlsPort!, ca());
    const { client: plain } = await TestClient.welcomed(server.port);
    try {
      assert.equal(peerFingerprint(before1), pairA.fingerprint);
      install(pairB.key, live.key);
      install(pairB.cert, live.cert);
      const seen = server.logs.length;
      process.kill(server.pid, 'SIGHUP');
      const reloaded = await server.waitForLog((l) => server.logs.indexOf(l) >= seen && l.msg === 'TLS certificate reloaded; new connections use it');
      assert.equal(reloaded.fingerprint256, pairB.fingerprint);

      const { client: after1 } = await TestClient.welcomedTls(server.tlsPort!, ca());
      assert.equal(peerFingerprint(after1), pairB.fingerprint);
      // The old session is untouched: same certificate, still talking to the others.
      assert.equal(peerFingerprint(before1), pairA.fingerprint);
      await chat(before1, after1, 'across the reload');
      await chat(after1, plain, 'and to plain TCP');
      // Trusting only the old certificate no longer works for a new connection.
      assert.match(await failure(TestClient.connectTls(server.tlsPort!, { ca: pairA.pem })), /DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED/);
      await after1.close();
      assert.equal(server.process.exitCode, null);
    } finally {
      await Promise.all([before1.close(), plain.close()]);
    }
  });

  test('SIGHUP with a broken certificate or a mismatched key: logged, the current pair stays', TEST_TIMEOUT, async () => {
    const { client: open } = await TestClient.welcomedTls(server.tlsPort!, ca());
    const current = peerFingerprint(open);
    try {
      const cases: Array<[string, () => void, RegExp]> = [
        ['garbage certificate', () => fs.writeFileSync(live.cert, '-----BEGIN CERTIFICATE-----\nnot base64 at all\n'), /is not a PEM certificate/],
        ['key of another certificate', () => { install(pairA.cert, live.cert); install(pairB.key, live.key); }, /does not belong/],
        ['missing key', () => fs.rmSync(live.key), /cannot read the TLS private key/],
      ];
      for (const [what, breakIt, why] of cases) {
        breakIt();
        const seen = server.logs.length;
        process.kill(server.pid, 'SIGHUP');
        const line = await server.waitForLog((l) => server.logs.indexOf(l) >= seen && l.msg === 'TLS reload failed; still serving the previous certificate');
        assert.match(JSON.stringify(line.err), why, what);
        const { client: fresh } = await TestClient.welcomedTls(server.tlsPort!, ca());
        assert.equal(peerFingerprint(fresh), current, what);
        await chat(fresh, open, `still serving after a ${what}`);
        await fresh.close();
      }
      assert.equal(server.process.exitCode, null);
    } finally {
      await open.close();
    }
  });
});

describe('TLS only, one process per client (dedicated)', () => {
  let server: RunningServer;

  before(async () => {
    server = await startServer({
      args: ['--port', 'null', '--tls-port', '0', '--tls-cert', pairA.cert, '--tls-key', pairA.key, '--placement', 'dedicated', '--spares', '1', '--max-clients', '3', '--tls-handshake-timeout-ms', '1500'],
    });
  });
  after(async () => {
    await server?.stop();
  });

  test('no plain listener; a client that never finishes its handshake hurts no one and is closed in time', TEST_TIMEOUT, async () => {
    assert.throws(() => server.port, /no plain TCP listener/);
    await banner(server);
    assert.match(server.stderr(), new RegExp(`^Switchboard listening on TLS 127\\.0\\.0\\.1:${server.tlsPort}; connect with: \\./bin/switchboard\\.js connect 127\\.0\\.0\\.1:${server.tlsPort} --tls$`, 'm'));
    const t0 = Date.now();
    const stalled = net.createConnection({ host: '127.0.0.1', port: server.tlsPort! });
    stalled.on('error', () => {});
    const stalledClosed = new Promise<number>((resolve) => stalled.once('close', () => resolve(Date.now() - t0)));
    // The start of a ClientHello record, and then nothing.
    stalled.write(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01]));

    const opts = { ca: pairA.pem };
    const { client: one } = await TestClient.welcomedTls(server.tlsPort!, opts);
    const { client: two } = await TestClient.welcomedTls(server.tlsPort!, opts);
    await chat(one, two, 'while someone stalls');
    const closedAfter = await stalledClosed;
    // Not before the handshake timeout; the log line below says the timeout closed it.
    assert.ok(closedAfter >= 1300, `closed after ${closedAfter} ms`);
    await server.waitForLog((l) => l.role === 'worker' && l.msg === 'TLS handshake timed out; client closed');

    // The stalled connection no longer counts: a third client fits under --max-clients 3 (once
    // the supervisor has heard from the worker that it ended: until then it is refused) ...
    const three = await admittedTls(server.tlsPort!, opts);
    // ... and a fourth is refused over TLS too: closed before any handshake (a client that has
    // said nothing gets no line; the supervisor spends no crypto on it), the reason logged.
    await assert.rejects(TestClient.connectTls(server.tlsPort!, opts), (err: NodeJS.ErrnoException) => err.code === 'ECONNRESET' || err.code === 'EPIPE');
    await server.waitForLog((l) => l.msg === 'refused a client: too many users');
    await chat(three, one, 'all three fine');
    await Promise.all([one.close(), two.close(), three.close()]);
  });

  test('terminal client over TLS: kill -9 of its worker, it reconnects over TLS', TEST_TIMEOUT, async () => {
    const target = `127.0.0.1:${server.tlsPort}`;
    const client = new Client(spawn(process.execPath, [BIN, 'connect', target, '--tls', '--ca', pairA.cert, '--config-dir', configHome], { stdio: ['pipe', 'pipe', 'pipe'] }));
    try {
      client.write('before the crash\n');
      await client.waitFor(/^guest\d+: before the crash/m);
      const victim = await holderOf(server, client.child.pid!);
      process.kill(victim, 'SIGKILL');
      await client.waitFor(/^Reconnected to 127\.0\.0\.1:\d+ as guest\d+$/m, 20_000);
      client.write('after the crash\n');
      await client.waitFor(/^guest\d+: after the crash/m);
      client.child.stdin!.end();
      const { code } = await client.finish();
      assert.equal(code, 0, client.stderr);
    } finally {
      client.kill();
    }
  });
});

/** A TLS client welcomed once there is a place for it (a refusal is a close before the handshake). */
async function admittedTls(port: number, opts: tls.ConnectionOptions): Promise<TestClient> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      return (await TestClient.welcomedTls(port, opts)).client;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

/** Waits for the stderr banner (it may come a moment after the log line the harness waits for). */
async function banner(srv: RunningServer): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!srv.stderr().includes('Switchboard listening on') && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
}

/** A `switchboard connect` process with its output collected. */
class Client {
  stdout = '';
  stderr = '';
  readonly exited: Promise<number | null>;

  constructor(readonly child: ChildProcess) {
    started.add(child);
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (this.stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (this.stderr += d));
    child.stdin!.on('error', () => undefined);
    this.exited = new Promise((resolve) =>
      child.once('exit', (code) => {
        started.delete(child);
        resolve(code);
      }),
    );
  }

  write(text: string): void {
    this.child.stdin!.write(text);
  }

  async waitFor(pattern: RegExp, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pattern.test(this.stdout)) {
      if (Date.now() > deadline || this.child.exitCode !== null) throw new Error(`no ${pattern} in:\n${this.stdout}\nstderr:\n${this.stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  async finish(timeoutMs = 10_000): Promise<{ code: number | null }> {
    const timer = setTimeout(() => this.kill(), timeoutMs);
    const code = await this.exited;
    clearTimeout(timer);
    return { code };
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}

/** Runs `switchboard connect ARGS` with `input` on stdin (line mode) to its end. */
async function runClient(args: string[], input: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const client = new Client(spawn(process.execPath, [BIN, 'connect', ...args, '--config-dir', configHome], { stdio: ['pipe', 'pipe', 'pipe'] }));
  client.child.stdin!.end(input);
  const { code } = await client.finish(20_000);
  return { code, stdout: client.stdout, stderr: client.stderr };
}

/** The server process (a worker) holding the TLS connection of client process `pid`. */
async function holderOf(srv: RunningServer, pid: number): Promise<number> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const inodes = proc.socketInodes(pid);
    const local = proc.tcpTable().find((r) => inodes.has(r.inode) && r.remotePort === srv.tlsPort && r.state === '01');
    if (local) {
      const holders = proc.pidsHoldingTcpConnection(srv.tlsPort!, local.localPort, proc.descendants(srv.pid));
      if (holders.length === 1) return holders[0]!;
    }
    if (Date.now() > deadline) throw new Error(`no single worker holds the connection of client ${pid}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
