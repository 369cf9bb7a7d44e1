import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { procStat } from '../helpers/procfs';
import { welcomed } from '../helpers/requests';
import { until, within } from '../helpers/wait';

/**
 * `switchboard serve --daemon` (seed 003's daemon): the starter exits 0 once the server serves;
 * the pid file names a live process leading a session of its own, in `/`, its stdio away from
 * the terminal; clients connect; SIGTERM to that pid stops it and removes the pid file; a
 * second start while it runs is refused.
 */

const BIN = path.resolve(__dirname, '..', '..', '..', 'bin', 'switchboard.js');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sb-daemon-'));
let daemonPid: number | null = null;

after(() => {
  // Only the daemon this test started, if it is still there.
  if (daemonPid !== null && procStat(daemonPid)) process.kill(daemonPid, 'SIGKILL');
  fs.rmSync(dir, { recursive: true, force: true });
});

/** `switchboard ARGS` run from `dir`, so that relative paths are relative to it. */
function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { cwd: dir, timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

test('serve --daemon: detached, ready when the starter exits, stopped by SIGTERM to its pid', async () => {
  const args = ['serve', '--daemon', '--pid-file', 'sb.pid', '--log-file', 'sb.log', '--data-dir', 'data', '--port', '0', '--host', '127.0.0.1', '--workers', '1'];
  const started = await cli(args);
  assert.equal(started.code, 0, started.stderr);
  // Relative paths meant what they mean from where it was started, not from `/`.
  const pidFile = path.join(dir, 'sb.pid');
  daemonPid = Number(fs.readFileSync(pidFile, 'utf8').trim());
  const stat = procStat(daemonPid);
  assert.ok(stat, `pid ${daemonPid} from the pid file is alive`);
  assert.equal(stat.session, daemonPid, 'it leads a session of its own (setsid)');
  assert.notEqual(stat.session, procStat(process.pid)!.session, 'not the session of whoever started it');
  assert.equal(fs.readlinkSync(`/proc/${daemonPid}/cwd`), '/');
  assert.equal(fs.readlinkSync(`/proc/${daemonPid}/fd/0`), '/dev/null');
  assert.equal(fs.readlinkSync(`/proc/${daemonPid}/fd/1`), path.join(dir, 'sb.log'));
  assert.ok(fs.existsSync(path.join(dir, 'data', 'run', 'control.sock')), 'its data dir is the one named relative to the starter');

  const status = await cli(['status', '--data-dir', 'data', '--json']);
  assert.equal(status.code, 0, status.stderr);
  const tcp = (JSON.parse(status.stdout) as { listeners: Array<{ kind: string; address: string }> }).listeners.find((l) => l.kind === 'tcp')!;
  const conn = await welcomed(Number(tcp.address.split(':').pop()));
  assert.match(conn.id, /^guest\d+$/);

  const again = await cli(args);
  assert.equal(again.code, 1);
  assert.match(again.stderr, new RegExp(`names process ${daemonPid}, which is running`));

  process.kill(daemonPid, 'SIGTERM');
  assert.ok(await within(conn.c.closed, 10_000), 'its client is closed by the stop');
  await until('the daemon has exited', () => !procStat(daemonPid!) || procStat(daemonPid!)!.state === 'Z', 15_000);
  await until('the pid file is removed', () => !fs.existsSync(pidFile), 5000);
  assert.match(fs.readFileSync(path.join(dir, 'sb.log'), 'utf8'), /"msg":"stopped"/);
  daemonPid = null;
});

test('serve --daemon that cannot start: the starter exits 1 with the reason', async () => {
  const r = await cli(['serve', '--daemon', '--pid-file', 'bad.pid', '--log-file', 'bad.log', '--data-dir', 'data2', '--tls-port', '0', '--tls-cert', 'missing.pem', '--tls-key', 'missing.pem']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /the daemon could not start: .*missing\.pem/);
  assert.ok(!fs.existsSync(path.join(dir, 'bad.pid')), 'no pid file');
  const usage = await cli(['serve', '--daemon', '--data-dir', 'data3']);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /--daemon needs --pid-file FILE and --log-file FILE/);
});
