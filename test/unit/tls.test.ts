// The TLS pieces on their own: checking a pair, the acceptor (handshake on an already accepted
// socket, time limit, context replacement), `cert` arguments. Real sockets on 127.0.0.1.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { DEFAULT_CERT_HOSTS, makeSelfSignedCert, parseCertArgs } from '../../src/cli/cert-command';
import { checkTlsMaterial, readTlsFiles, TlsAcceptor, TlsFilesError, type HandshakeFailure, type TlsMaterial } from '../../src/net/tls';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sb-tls-unit-'));
let a: TlsMaterial & { fingerprint: string };
let b: TlsMaterial & { fingerprint: string };

function pair(name: string, host: string): TlsMaterial & { fingerprint: string } {
  const made = makeSelfSignedCert({ outDir: path.join(tmp, name), days: 2, hosts: [host, ...DEFAULT_CERT_HOSTS] });
  return { cert: fs.readFileSync(made.certFile, 'utf8'), key: fs.readFileSync(made.keyFile, 'utf8'), fingerprint: made.fingerprint256 };
}

before(() => {
  a = pair('a', 'a.test');
  b = pair('b', 'b.test');
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

test('checkTlsMaterial: accepts a pair, says what is wrong with a bad one', () => {
  const info = checkTlsMaterial(a);
  assert.equal(info.fingerprint256, a.fingerprint);
  assert.equal(info.expired, false);
  assert.match(info.subjectAltName ?? '', /DNS:a\.test/);
  assert.throws(() => checkTlsMaterial({ cert: 'nope', key: a.key }), (e) => e instanceof TlsFilesError && /not a PEM certificate/.test(e.message));
  assert.throws(() => checkTlsMaterial({ cert: a.cert, key: 'nope' }), /not an unencrypted PEM private key/);
  assert.throws(() => checkTlsMaterial({ cert: a.cert, key: b.key }), /does not belong to the certificate/);
  assert.throws(() => readTlsFiles(path.join(tmp, 'none.pem'), path.join(tmp, 'a', 'key.pem')), /cannot read the TLS certificate .*ENOENT/);
  assert.equal(readTlsFiles(path.join(tmp, 'a', 'cert.pem'), path.join(tmp, 'a', 'key.pem')).info.fingerprint256, a.fingerprint);
});

test('parseCertArgs: hosts first (the first is the name), defaults after; bad values refused', () => {
  const o = parseCertArgs(['--out', 'certs', '--host', 'chat.example.org,10.0.0.5', '--host', 'localhost'], '/srv');
  assert.equal(o.outDir, '/srv/certs');
  assert.equal(o.days, 365);
  assert.deepEqual(o.hosts, ['chat.example.org', '10.0.0.5', 'localhost', '127.0.0.1', '::1']);
  assert.throws(() => parseCertArgs([], '/'), /--out/);
  assert.throws(() => parseCertArgs(['--out', 'x', '--days', '1.5'], '/'), /--days/);
  assert.throws(() => parseCertArgs(['--out', 'x', '--host', 'bad name\nCN = evil'], '/'), /neither an IP address nor a DNS name/);
});

/** A listener whose accepted sockets go to `acceptor`, as a worker's handed-over sockets do. */
async function acceptingServer(acceptor: TlsAcceptor) {
  const secured: tls.TLSSocket[] = [];
  const failures: HandshakeFailure[] = [];
  const server = net.createServer({ pauseOnConnect: true }, (socket) =>
    acceptor.accept(
      socket,
      (s) => {
        secured.push(s);
        s.on('data', (d) => s.write(d)); // echo
      },
      (f) => failures.push(f),
    ),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as net.AddressInfo).port, secured, failures };
}

function tlsClient(port: number, ca: string[]): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, ca }, () => resolve(s));
    s.once('error', reject);
  });
}

function echo(s: tls.TLSSocket, text: string): Promise<string> {
  return new Promise((resolve) => {
    s.once('data', (d) => resolve(String(d)));
    s.write(text);
  });
}

test('TlsAcceptor: handshakes on an accepted socket; a new pair is used for new sockets only', async () => {
  const acceptor = new TlsAcceptor(5000);
  acceptor.setMaterial(a);
  const srv = await acceptingServer(acceptor);
  try {
    const first = await tlsClient(srv.port, [a.cert, b.cert]);
    assert.equal(first.getPeerCertificate().fingerprint256, a.fingerprint);
    assert.throws(() => acceptor.setMaterial({ cert: b.cert, key: a.key }));
    acceptor.setMaterial(b);
    const second = await tlsClient(srv.port, [a.cert, b.cert]);
    assert.equal(second.getPeerCertificate().fingerprint256, b.fingerprint);
    assert.equal(await echo(first, 'still here'), 'still here');
    assert.equal(await echo(second, 'me too'), 'me too');
    assert.equal(srv.secured.length, 2);
    assert.equal(acceptor.pendingCount, 0);
    first.destroy();
    second.destroy();
  } finally {
    for (const s of srv.secured) s.destroy();
    srv.server.close();
  }
});

test('TlsAcceptor: a silent client times out, a garbage one fails, neither is secured', async () => {
  const acceptor = new TlsAcceptor(300);
  acceptor.setMaterial(a);
  const srv = await acceptingServer(acceptor);
  try {
    const silent = net.createConnection({ host: '127.0.0.1', port: srv.port });
    const garbage = net.createConnection({ host: '127.0.0.1', port: srv.port });
    garbage.on('error', () => {});
    silent.on('error', () => {});
    garbage.write('{"type":"list"}\n');
    const t0 = Date.now();
    await Promise.all([new Promise((r) => silent.once('close', r)), new Promise((r) => garbage.once('close', r))]);
    assert.ok(Date.now() - t0 >= 250, 'the silent one waited for the time limit');
    assert.deepEqual(srv.failures.map((f) => f.reason).sort(), ['error', 'timeout']);
    assert.equal(srv.failures.find((f) => f.reason === 'timeout')?.remoteAddress, '127.0.0.1');
    assert.equal(srv.secured.length, 0);
    assert.equal(acceptor.pendingCount, 0);
  } finally {
    srv.server.close();
  }
});

test('TlsAcceptor without a pair closes the socket and says so', async () => {
  const acceptor = new TlsAcceptor(1000);
  const srv = await acceptingServer(acceptor);
  try {
    const s = net.createConnection({ host: '127.0.0.1', port: srv.port });
    s.on('error', () => {});
    await new Promise((r) => s.once('close', r));
    assert.deepEqual(srv.failures.map((f) => f.reason), ['no-certificate']);
  } finally {
    srv.server.close();
  }
});
