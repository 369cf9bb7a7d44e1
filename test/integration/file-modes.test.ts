import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { TestClient } from '../helpers/client';
import { startServer } from '../helpers/server';
import { TerminalClient } from '../helpers/terminal-client';

/**
 * Everything the project writes that holds users' data is the owner's alone: files 0600,
 * directories 0700, whatever the umask of whoever started it. The umask here is the common
 * 022 (spawned processes inherit it), so a file created with default modes would show 0644.
 */

process.umask(0o022);
const BIN = path.resolve(__dirname, '..', '..', '..', 'bin', 'switchboard.js');
const TEST_TIMEOUT = { timeout: 60_000 };
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'sb-modes-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));

const modeOf = (p: string): number => fs.statSync(p).mode & 0o777;
const octal = (m: number): string => '0' + m.toString(8);

/** Every entry under `dir` (itself included) with its mode, for one message per loose entry. */
function walk(dir: string): Array<{ path: string; mode: number; dir: boolean }> {
  const out = [{ path: dir, mode: modeOf(dir), dir: true }];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...walk(p));
    else out.push({ path: p, mode: modeOf(p), dir: false });
  }
  return out;
}

/** No entry under `dir` grants anything to group or others. */
function assertPrivateTree(dir: string): void {
  const loose = walk(dir).filter((e) => (e.mode & 0o077) !== 0);
  assert.deepEqual(loose.map((e) => `${e.path} ${octal(e.mode)}`), [], 'readable by others');
}

function cli(...args: string[]): string {
  const run = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(run.status, 0, `switchboard ${args.join(' ')}: ${run.stderr}`);
  return run.stdout;
}

/** Starts a server on `dataDir`, stores a room message and an account, stops it. */
async function runServerOnce(dataDir: string, check?: () => void): Promise<void> {
  const server = await startServer({ dataDir });
  try {
    const { client } = await TestClient.welcomed(server.port);
    client.send({ type: 'message', content: 'kept in the store' });
    await client.waitFor((m) => m.type === 'message');
    // An account: a password hash in the store.
    client.send({ type: 'register', username: 'alice', password: 'correct horse' });
    await client.waitFor((m) => m.type === 'registered' || m.type === 'error');
    check?.();
    await client.close();
  } finally {
    const exit = await server.stop();
    assert.equal(exit.code, 0);
  }
}

test('the server: data dir and run/ 0700; the store, its -wal and -shm, the hub socket 0600', TEST_TIMEOUT, async () => {
  // A data dir the server makes itself, two levels down.
  const dataDir = path.join(root, 'fresh', 'data');
  await runServerOnce(dataDir, () => {
    assert.equal(octal(modeOf(dataDir)), '0700');
    assert.equal(octal(modeOf(path.join(dataDir, 'run'))), '0700');
    for (const name of ['switchboard.db', 'switchboard.db-wal', 'switchboard.db-shm', 'run/hub.sock']) {
      assert.equal(octal(modeOf(path.join(dataDir, name))), '0600', name);
    }
    assertPrivateTree(dataDir);
  });
  assertPrivateTree(dataDir);
});

test('a data dir and store left readable by an older version are tightened at start', TEST_TIMEOUT, async () => {
  const dataDir = path.join(root, 'loose');
  await runServerOnce(dataDir);
  for (const e of walk(dataDir)) fs.chmodSync(e.path, e.dir ? 0o755 : 0o644);
  // A -wal and -shm from a crash, readable by all.
  for (const side of ['-wal', '-shm']) if (!fs.existsSync(path.join(dataDir, 'switchboard.db' + side))) fs.writeFileSync(path.join(dataDir, 'switchboard.db' + side), '', { mode: 0o644 });
  await runServerOnce(dataDir, () => assertPrivateTree(dataDir));
});

test('backup, restore, admin and export write nothing readable by others', TEST_TIMEOUT, async () => {
  const dataDir = path.join(root, 'tools');
  await runServerOnce(dataDir);
  const backup = path.join(root, 'tools-backup.db');
  cli('backup', '--data-dir', dataDir, '--out', backup);
  assert.equal(octal(modeOf(backup)), '0600', 'backup file');

  const restored = path.join(root, 'restored', 'data');
  cli('restore', '--data-dir', restored, '--from', backup);
  assertPrivateTree(restored);

  cli('admin', 'grant', 'alice', '--data-dir', restored);
  assert.match(cli('export', '--data-dir', restored, '--room', 'MainHall'), /kept in the store/);
  assertPrivateTree(restored);
  assertPrivateTree(dataDir);
});

test('the terminal client: --log transcript 0600, also when the file was there before', TEST_TIMEOUT, async () => {
  const server = await startServer();
  try {
    for (const existing of [false, true]) {
      const log = path.join(root, `client-${existing}.log`);
      if (existing) fs.writeFileSync(log, 'older session\n', { mode: 0o644 });
      const client = TerminalClient.start(`127.0.0.1:${server.port}`, ['--log', log, '--no-reconnect'], { input: 'a line with a secret\n' });
      assert.equal(await client.exited, 0, client.stderr);
      assert.match(fs.readFileSync(log, 'utf8'), /a line with a secret/);
      assert.equal(octal(modeOf(log)), '0600', `existing: ${existing}`);
    }
  } finally {
    await server.stop();
  }
});

test('switchboard cert: the key 0600, the certificate (public) 0644', TEST_TIMEOUT, (t) => {
  if (spawnSync('openssl', ['version']).status !== 0) {
    assert.ok(process.env.CI !== 'true', 'openssl is needed under CI');
    t.skip('openssl is not installed');
    return;
  }
  const out = path.join(root, 'tls');
  cli('cert', '--out', out);
  assert.equal(octal(modeOf(path.join(out, 'key.pem'))), '0600');
  assert.equal(octal(modeOf(path.join(out, 'cert.pem'))), '0644');
});
