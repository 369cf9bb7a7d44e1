// `switchboard connect` file transfer (src/client/terminal/transfer.ts) against the real server:
// `/send PATH` uploads over the HTTP port and sends the file to the room, where a raw client
// sees the attachment; `/send PATH to USER` sends it as a DM; `/get ID PATH` downloads it,
// byte for byte, with progress lines. Everything listens on 127.0.0.1.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { TestClient } from '../helpers/client';
import { startServer, type RunningServer } from '../helpers/server';
import * as net from 'node:net';
import { TerminalClient } from '../helpers/terminal-client';

let root: string;
let server: RunningServer;

before(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'sb-term-files-'));
  server = await startServer({ args: ['--http-port', '0', '--workers', '1'] });
});

after(async () => {
  await server?.stop();
  fs.rmSync(root, { recursive: true, force: true });
});

test('/send uploads and sends to the room and as a DM; /get downloads it', { timeout: 60_000 }, async () => {
  const watcher = (await TestClient.welcomed(server.port)).client;
  watcher.send({ type: 'register', username: 'watcher', password: 'pw-watcher-1' });
  await watcher.waitFor((m) => m.type === 'registered');
  watcher.send({ type: 'login', username: 'watcher', password: 'pw-watcher-1' });
  await watcher.waitFor((m) => m.type === 'loggedin');
  const file = path.join(root, 'notes file.txt');
  const content = Buffer.alloc(3 * 1024 * 1024, 'switchboard files\n');
  fs.writeFileSync(file, content);
  const id = createHash('sha256').update(content).digest('hex');
  const out = path.join(root, 'copy.txt');
  const client = TerminalClient.start(`127.0.0.1:${server.port}`, ['--http', `http://127.0.0.1:${server.httpPort}`], {
    input: ['/send nothing.txt', '/register carol pw-carol-1', '/login carol pw-carol-1', `/send ${file}`, `/send ${file} to watcher`, `/get ${id} ${out}`, '/quit', ''].join('\n'),
  });
  await client.next('Files need an account: /login first');
  await client.next(/Uploading notes file\.txt: 100% \(3\.0 MiB of 3\.0 MiB\)/);
  const seen = await watcher.waitFor((m) => m.type === 'message' && m.identity === 'carol');
  assert.deepEqual(seen.attachment, { id, name: 'notes file.txt', size: content.length, type: 'text/plain', thumbnail: false });
  await client.next(new RegExp(`carol: \\[file notes file\\.txt, 3\\.0 MiB, text/plain: ${id}\\]`));
  const dm = await watcher.waitFor((m) => m.type === 'dm' && m.from === 'carol');
  assert.equal((dm.attachment as { id: string }).id, id);
  await client.next(/Downloading copy\.txt: 100%/);
  await client.next(new RegExp(`Saved ${out.replace(/[.]/g, '\\.')}`));
  // The guest's /send failed: a failed command, as in the README.
  assert.equal(await client.exited, 3, client.stderr);
  assert.ok(fs.readFileSync(out).equals(content), 'the same bytes');
  await watcher.close();
});

test('without --http: the HTTP port the server advertises; /get ID saves under the name, never over a file; one progress line each, piped', { timeout: 60_000 }, async () => {
  assert.notEqual(server.httpPort, 8080);
  const dir = fs.mkdtempSync(path.join(root, 'cwd-'));
  const file = path.join(root, 'report.txt');
  const content = Buffer.alloc(2 * 1024 * 1024, 'advertised\n');
  fs.writeFileSync(file, content);
  const id = createHash('sha256').update(content).digest('hex');
  const client = TerminalClient.start(`127.0.0.1:${server.port}`, [], {
    cwd: dir,
    input: ['/register dana pw-dana-12', '/login dana pw-dana-12', `/send ${file}`, `/get ${id}`, `/get ${id}`, ''].join('\n'),
  });
  assert.equal(await client.finish(30_000), 0, client.output + client.stderr);
  assert.deepEqual(fs.readdirSync(dir).sort(), ['report (1).txt', 'report.txt'], client.output);
  assert.ok(fs.readFileSync(path.join(dir, 'report.txt')).equals(content));
  assert.ok(fs.readFileSync(path.join(dir, 'report (1).txt')).equals(content));
  // Piped: one line per transfer, the final one.
  assert.deepEqual(client.lines.filter((l) => l.startsWith('Uploading ')), ['Uploading report.txt: 100% (2.0 MiB of 2.0 MiB)'], client.output);
  assert.deepEqual(client.lines.filter((l) => l.startsWith('Downloading ')), ['Downloading report.txt: 100% (2.0 MiB of 2.0 MiB)', 'Downloading report (1).txt: 100% (2.0 MiB of 2.0 MiB)'], client.output);
});

test('no HTTP listener, or none at --http: /send and /get say so and fail (exit 3)', { timeout: 60_000 }, async () => {
  const plain = await startServer({ args: ['--workers', '1'] }); // HTTP off
  const closed = net.createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const deadPort = (closed.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => closed.close(() => resolve()));
  try {
    const login = ['/register eve pw-eve-123', '/login eve pw-eve-123'];
    const none = TerminalClient.start(`127.0.0.1:${plain.port}`, [], { input: [...login, `/get ${'a'.repeat(64)}`, ''].join('\n') });
    assert.equal(await none.finish(), 3, none.output);
    assert.ok(none.lines.some((l) => l.startsWith('The server has no HTTP listener: /send and /get need one')), none.output);
    const file = path.join(root, 'small.txt');
    fs.writeFileSync(file, 'small');
    const refused = TerminalClient.start(`127.0.0.1:${plain.port}`, ['--http', `http://127.0.0.1:${deadPort}`], { input: ['/login eve pw-eve-123', `/send ${file}`, ''].join('\n') });
    assert.equal(await refused.finish(), 3, refused.output);
    assert.ok(refused.lines.includes(`Upload failed: connection refused at http://127.0.0.1:${deadPort} (the server's HTTP port is elsewhere? give it with --http URL)`), refused.output);
    const missing = TerminalClient.start(`127.0.0.1:${server.port}`, [], { input: ['/register fay pw-fay-123', '/login fay pw-fay-123', `/send ${path.join(root, 'nothing-here.txt')}`, ''].join('\n') });
    assert.equal(await missing.finish(), 3, missing.output);
    assert.ok(missing.lines.some((l) => l.startsWith('Upload failed: ENOENT')), missing.output);
  } finally {
    await plain.stop();
  }
});

test('pointed at the HTTP port, connect says it is the web port (exit 1), not the raw HTTP answer', { timeout: 30_000 }, async () => {
  const client = TerminalClient.start(`127.0.0.1:${server.httpPort}`, [], { input: '' });
  assert.equal(await client.finish(), 1, client.output);
  assert.match(client.output, new RegExp(`answered in HTTP: this is its web port \\(open http://127\\.0\\.0\\.1:${server.httpPort}/ in a browser\\)\\. The chat port is another`));
  assert.doesNotMatch(client.output, /HTTP\/1\.1 400/);
});

test('over TLS with --ca: /send and /get go to the advertised HTTPS port with the same trust', { timeout: 60_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(root, 'tls-'));
  const bin = path.resolve(__dirname, '..', '..', '..', 'bin', 'switchboard.js');
  const made = spawnSync(process.execPath, [bin, 'cert', '--out', dir], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(made.status, 0, made.stderr);
  const cert = path.join(dir, 'cert.pem');
  const secure = await startServer({ args: ['--workers', '1', '--port', 'null', '--tls-port', '0', '--http-port', 'off', '--https-port', '0', '--tls-cert', cert, '--tls-key', path.join(dir, 'key.pem')] });
  try {
    const file = path.join(root, 'secret.txt');
    const content = Buffer.from('over https\n'.repeat(1000));
    fs.writeFileSync(file, content);
    const id = createHash('sha256').update(content).digest('hex');
    const out = path.join(dir, 'back.txt');
    // A self-signed pair: without the chat connection's --ca the upload's handshake would fail.
    const client = TerminalClient.start(`127.0.0.1:${secure.tlsPort}`, ['--tls', '--ca', cert], {
      input: ['/register gus pw-gus-1234', '/login gus pw-gus-1234', `/send ${file}`, `/get ${id} ${out}`, ''].join('\n'),
    });
    assert.equal(await client.finish(30_000), 0, client.output + client.stderr);
    assert.ok(fs.readFileSync(out).equals(content), client.output);
  } finally {
    await secure.stop();
  }
});
