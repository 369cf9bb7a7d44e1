// Upgrades without dropping anyone (issue 12): `switchboard upgrade` (SIGUSR2) replaces every
// worker by one started from the code on disk, and each plain TCP and Unix-socket session moves
// over on its own connection, with its state. A stream of chat runs through two upgrades; the
// clients must notice nothing. Real server processes on 127.0.0.1 port 0 and temp dirs; every
// process started here is killed by its pid if it outlives its test.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TestClient, type Msg } from '../helpers/client';
import * as proc from '../helpers/procfs';
import { startServer, type RunningServer } from '../helpers/server';
import { WsTestClient } from '../helpers/ws-client';

const BIN = path.resolve(__dirname, '..', '..', '..', 'bin', 'switchboard.js');
const TEST_TIMEOUT = { timeout: 120_000 };

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sb-upgrade-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));

const servers: RunningServer[] = [];
after(async () => {
  for (const s of servers) await s.stop();
});

async function serve(args: string[]): Promise<RunningServer> {
  const server = await startServer({ args });
  servers.push(server);
  return server;
}

interface UpgradeOutcome {
  code: number | null;
  result: { ok: boolean; error?: string; workersReplaced: number; sessionsMoved: number; sessionsClosed: Record<string, number>; durationMs: number; oldPids: number[]; newPids: number[] };
  stderr: string;
}

/** `switchboard upgrade --data-dir D --json` as an operator runs it; `bin`: another install's. */
function upgrade(dataDir: string, bin = BIN): Promise<UpgradeOutcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, 'upgrade', '--data-dir', dataDir, '--json', '--timeout', '60'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const killer = setTimeout(() => child.kill('SIGKILL'), 70_000);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(killer);
      try {
        resolve({ code, result: JSON.parse(out) as UpgradeOutcome['result'], stderr: err });
      } catch {
        reject(new Error(`upgrade printed no result (code ${code}): ${out} ${err}`));
      }
    });
  });
}

/** The server's worker processes (pids), told from the hub by their entry file. */
function workerPids(server: RunningServer): number[] {
  return proc.descendants(server.pid).filter((pid) => proc.cmdline(pid).some((a) => a.endsWith(path.join('worker', 'main.js'))));
}

function hubPid(server: RunningServer): number {
  const hubs = proc.descendants(server.pid).filter((pid) => proc.cmdline(pid).some((a) => a.endsWith(path.join('hub', 'main.js'))));
  assert.equal(hubs.length, 1);
  return hubs[0]!;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A chat client of the stream: what it sent, and its connection as it was at the start. */
interface Member {
  name: string;
  client: TestClient;
  localPort: number | null;
  sent: number;
}

test('two upgrades during a stream of chat: every TCP and Unix client keeps its connection, no line lost or repeated, all worker pids change', TEST_TIMEOUT, async () => {
  const unixPath = path.join(tmp, 'stream.sock');
  const server = await serve(['--workers', '2', '--unix-socket', unixPath]);
  const members: Member[] = [];
  for (let i = 0; i < 6; i++) {
    const { client } = await TestClient.welcomed(port(server));
    members.push({ name: `tcp${i}`, client, localPort: client.localPort, sent: 0 });
  }
  const { client: unixClient } = await TestClient.welcomed({ path: unixPath });
  members.push({ name: 'unix', client: unixClient, localPort: null, sent: 0 });
  // Everyone's welcome seen by everyone: from here on each member's room traffic is the stream.
  await sleep(300);
  for (const m of members) await m.client.drain(0);

  const hub = hubPid(server);
  const holdersOf = (m: Member): number[] => proc.pidsHoldingTcpConnection(server.port, m.localPort!, proc.descendants(server.pid));
  const pids0 = workerPids(server);
  assert.equal(pids0.length, 2);
  for (const m of members.filter((x) => x.localPort !== null)) assert.ok(pids0.includes(holdersOf(m)[0]!), `${m.name} is served by a worker`);

  // 8 lines a second each (under the default 20/s): a steady stream while the upgrades run.
  let streaming = true;
  const stream = (async () => {
    while (streaming) {
      for (const m of members) m.client.send({ type: 'message', content: `${m.name}:${m.sent++}` });
      await sleep(125);
    }
  })();
  await sleep(800);
  const first = await upgrade(server.dataDir);
  assert.equal(first.code, 0, first.stderr);
  assert.equal(first.result.ok, true);
  await sleep(600);
  const pids1 = workerPids(server);
  const second = await upgrade(server.dataDir);
  assert.equal(second.code, 0, second.stderr);
  await sleep(800);
  streaming = false;
  await stream;
  const pids2 = workerPids(server);

  // Every line sent reaches every member exactly once, in one contiguous run of seqs.
  const total = members.reduce((n, m) => n + m.sent, 0);
  for (const m of members) {
    const got = await collect(m.client, total);
    const seqs = got.map((g) => g.seq as number);
    for (let i = 1; i < seqs.length; i++) assert.equal(seqs[i], seqs[i - 1]! + 1, `${m.name}: seq ${seqs[i - 1]} then ${seqs[i]}`);
    const contents = got.map((g) => g.content as string);
    assert.equal(new Set(contents).size, contents.length, `${m.name} received a line twice`);
    for (const s of members) for (let i = 0; i < s.sent; i++) assert.ok(contents.includes(`${s.name}:${i}`), `${m.name} missed ${s.name}:${i}`);
    const errors = m.client.received.filter((x) => x.type === 'error');
    assert.deepEqual(errors, [], `${m.name} was told of an error`);
  }
  // Same connections, never closed; now held by the new workers; the hub untouched.
  for (const m of members) {
    assert.ok(m.client.isOpen, `${m.name} was disconnected`);
    if (m.localPort !== null) {
      assert.equal(m.client.localPort, m.localPort);
      const holders = holdersOf(m);
      assert.equal(holders.length, 1, `${m.name}: one process holds the connection`);
      assert.ok(pids2.includes(holders[0]!), `${m.name} is served by a new worker`);
    }
  }
  assert.equal(pids1.length, 2);
  assert.equal(pids2.length, 2);
  for (const p of pids0) assert.ok(!pids1.includes(p) && !proc.isAlive(p), `old worker ${p} is gone after the first upgrade`);
  for (const p of pids1) assert.ok(!pids2.includes(p) && !proc.isAlive(p), `worker ${p} is gone after the second upgrade`);
  assert.deepEqual(first.result.newPids.sort(), pids1.sort());
  assert.equal(hubPid(server), hub);
  for (const r of [first.result, second.result]) {
    assert.equal(r.workersReplaced, 2);
    assert.equal(r.sessionsMoved, members.length);
    assert.deepEqual(r.sessionsClosed, {});
  }
  // The figures for the note.
  console.log(
    `# upgrade figures: ${members.length} clients (6 TCP, 1 Unix), ${total} lines sent, ${total * members.length} deliveries checked, ` +
      `upgrades ${first.result.durationMs} ms and ${second.result.durationMs} ms, lost 0, duplicated 0`,
  );
});

test('the session state moves along: a line cut in two by an upgrade arrives whole, a client at its rate limit stays limited; TLS and WebSocket clients are told and reclaim', TEST_TIMEOUT, async () => {
  const pair = makePair();
  // 3 lines at once, then one per 100 s: a bucket that the upgrade's seconds cannot refill.
  const server = await serve(['--workers', '2', '--rate-limit', '0.01', '--rate-burst', '3', '--tls-port', '0', '--tls-cert', pair.cert, '--tls-key', pair.key, '--http-port', '0']);
  const { client: watcher } = await TestClient.welcomed(port(server));
  const { client: cutter, identity: cutterName } = await TestClient.welcomed(port(server));
  const { client: limited } = await TestClient.welcomed(port(server));
  const { client: secure, identity } = await TestClient.welcomedTls(server.tlsPort!, { rejectUnauthorized: false });
  secure.send({ type: 'session' });
  const { token } = await secure.waitFor((m) => m.type === 'session');
  const wsUrl = `ws://127.0.0.1:${server.httpPort!}/ws`;
  const { client: web, identity: webName } = await WsTestClient.welcomed(wsUrl);
  web.send({ type: 'session' });
  const { token: webToken } = await web.waitFor((m) => m.type === 'session');

  // Its `hello` took a token: two of these pass, the rest are refused; the bucket is empty.
  for (let i = 0; i < 3; i++) limited.send({ type: 'message', content: `burst ${i}` });
  limited.send({ type: 'message', content: 'one too many' });
  assert.equal((await limited.waitFor((m) => m.type === 'error')).code, 'RATE_LIMITED');
  await sleep(300);
  assert.ok((await limited.drain(0)).every((m) => m.type !== 'message' || m.content !== 'one too many'));
  const line = JSON.stringify({ type: 'message', content: 'cut in two by an upgrade' }) + '\n';
  cutter.socket.write(line.slice(0, 20));
  await sleep(100);

  const done = await upgrade(server.dataDir);
  assert.equal(done.code, 0, done.stderr);
  assert.deepEqual(done.result.sessionsClosed, { tls: 1, websocket: 1 });
  assert.equal(done.result.sessionsMoved, 3);

  cutter.socket.write(line.slice(20));
  const whole = await watcher.waitFor((m) => m.type === 'message' && m.content === 'cut in two by an upgrade');
  assert.equal(whole.identity, cutterName);
  // Without the bucket carried over, a new worker's full bucket would take this line.
  limited.send({ type: 'message', content: 'still limited?' });
  const refused = await limited.waitFor((m) => m.type === 'error' || (m.type === 'message' && m.content === 'still limited?'));
  assert.equal(refused.type, 'error');
  assert.equal(refused.code, 'RATE_LIMITED');
  assert.ok(!watcher.received.some((m) => m.content === 'still limited?' || m.content === 'one too many'));

  // The TLS session's crypto state was in the old process: closed, with the reason told.
  const told = await secure.waitFor((m) => m.type === 'error', 10_000);
  assert.equal(told.code, 'SHUTTING_DOWN');
  await secure.closed;
  const { client: back } = await TestClient.welcomedTls(server.tlsPort!, { rejectUnauthorized: false });
  back.send({ type: 'reclaim', token });
  const reclaimed = await back.waitFor((m) => m.type === 'reclaimed');
  assert.equal(reclaimed.identity, identity);
  // So was the WebSocket session's (its framing state): told, closed, reclaimed the same way.
  assert.equal((await web.waitFor((m) => m.type === 'error', 10_000)).code, 'SHUTTING_DOWN');
  await web.closed;
  const { client: webBack } = await WsTestClient.welcomed(wsUrl);
  webBack.send({ type: 'reclaim', token: webToken });
  assert.equal((await webBack.waitFor((m) => m.type === 'reclaimed')).identity, webName);
  await webBack.close();
  for (const c of [watcher, cutter, limited]) assert.ok(c.isOpen);
});

test('code on disk: a new worker that cannot start calls the upgrade off (old workers serve on); a second upgrade at once is refused; the fixed code is used next', TEST_TIMEOUT, async () => {
  // An install of its own, so that its worker file can be broken and mended like a deploy would.
  const install = path.join(tmp, 'install');
  const root = path.resolve(__dirname, '..', '..', '..');
  fs.mkdirSync(path.join(install, 'bin'), { recursive: true });
  fs.copyFileSync(path.join(root, 'bin', 'switchboard.js'), path.join(install, 'bin', 'switchboard.js'));
  fs.cpSync(path.join(root, 'dist', 'src'), path.join(install, 'dist', 'src'), { recursive: true });
  fs.symlinkSync(path.join(root, 'node_modules'), path.join(install, 'node_modules'));
  fs.writeFileSync(path.join(install, 'package.json'), fs.readFileSync(path.join(root, 'package.json')));
  const bin = path.join(install, 'bin', 'switchboard.js');
  const workerMain = path.join(install, 'dist', 'src', 'worker', 'main.js');
  const good = fs.readFileSync(workerMain, 'utf8');

  const server = await startServerFrom(bin, ['--workers', '2']);
  const { client: a } = await TestClient.welcomed(port(server));
  const { client: b } = await TestClient.welcomed(port(server));
  const before = workerPids(server);

  fs.writeFileSync(workerMain, 'process.exit(3);\n');
  const failed = await upgrade(server.dataDir, bin);
  assert.equal(failed.code, 1);
  assert.equal(failed.result.ok, false);
  assert.match(failed.result.error!, /exited before it was ready/);
  assert.deepEqual(workerPids(server).sort(), before.sort());
  a.send({ type: 'message', content: 'still served' });
  await b.waitFor((m) => m.type === 'message' && m.content === 'still served');

  // The mended file, with a mark: the new workers run it.
  fs.writeFileSync(workerMain, good + '\nconsole.log(JSON.stringify({ msg: "upgrade-test: new worker code", role: "worker", pid: process.pid }));\n');
  const [one, two] = await Promise.all([upgrade(server.dataDir, bin), sleep(50).then(() => upgrade(server.dataDir, bin))]);
  const outcomes = [one, two].sort((x, y) => Number(y.result.ok) - Number(x.result.ok));
  assert.equal(outcomes[0]!.result.ok, true, JSON.stringify(outcomes));
  assert.equal(outcomes[1]!.result.ok, false);
  assert.match(outcomes[1]!.result.error!, /already running/);
  const marked = server.logs.filter((l) => l.msg === 'upgrade-test: new worker code').map((l) => l.pid);
  assert.deepEqual(marked.sort(), outcomes[0]!.result.newPids.sort());
  a.send({ type: 'message', content: 'after the upgrade' });
  await b.waitFor((m) => m.type === 'message' && m.content === 'after the upgrade');
  assert.ok(a.isOpen && b.isOpen);
});

test('dedicated placement: each client moves to a new process of its own', TEST_TIMEOUT, async () => {
  const server = await serve(['--placement', 'dedicated', '--spares', '1']);
  const { client: a } = await TestClient.welcomed(port(server));
  const { client: b } = await TestClient.welcomed(port(server));
  const holder = (c: TestClient): number[] => proc.pidsHoldingTcpConnection(server.port, c.localPort, proc.descendants(server.pid));
  const before = [...holder(a), ...holder(b)];
  assert.equal(before.length, 2);
  const done = await upgrade(server.dataDir);
  assert.equal(done.code, 0, done.stderr);
  assert.equal(done.result.sessionsMoved, 2);
  const now = [holder(a)[0]!, holder(b)[0]!];
  assert.equal(holder(a).length + holder(b).length, 2);
  assert.notEqual(now[0], now[1]);
  for (const p of now) assert.ok(!before.includes(p));
  a.send({ type: 'message', content: 'one process each' });
  await b.waitFor((m) => m.type === 'message' && m.content === 'one process each');
  // A bare SIGUSR2 (no command waiting): the result is logged and recorded in run/upgrade.json.
  const recorded = path.join(server.dataDir, 'run', 'upgrade.json');
  const seqBefore = fs.existsSync(recorded) ? (JSON.parse(fs.readFileSync(recorded, 'utf8')) as { seq: number }).seq : 0;
  process.kill(server.pid, 'SIGUSR2');
  type Recorded = { seq: number; ok: boolean; sessionsMoved: number; newPids: number[] };
  let record = null as Recorded | null;
  for (let i = 0; i < 400 && (record?.seq ?? seqBefore) <= seqBefore; i++) {
    await sleep(50);
    if (fs.existsSync(recorded)) record = JSON.parse(fs.readFileSync(recorded, 'utf8')) as Recorded;
  }
  assert.equal(record?.ok, true, JSON.stringify(record));
  assert.equal(record?.sessionsMoved, 2);
  const afterSignal = [...holder(a), ...holder(b)];
  assert.deepEqual(afterSignal.sort(), record!.newPids.sort());
  now.splice(0, now.length, ...afterSignal);
  a.send({ type: 'message', content: 'after the signal' });
  await b.waitFor((m) => m.type === 'message' && m.content === 'after the signal');
  // A dedicated worker still ends with its client.
  const gone = holder(b)[0]!;
  await b.close();
  for (let i = 0; i < 100 && proc.isAlive(gone); i++) await sleep(50);
  assert.ok(!proc.isAlive(gone));
});

function port(server: RunningServer): number {
  return server.port;
}

/** The room messages a client received, once `count` have arrived (rejects after 20 s). */
async function collect(client: TestClient, count: number): Promise<Msg[]> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const got = client.received.filter((m) => m.type === 'message');
    if (got.length >= count || Date.now() > deadline) {
      // A little longer: anything beyond `count` is a duplicate the caller must see.
      await sleep(200);
      return client.received.filter((m) => m.type === 'message');
    }
    await sleep(50);
  }
}

/** `switchboard cert` into the temp dir. */
function makePair(): { cert: string; key: string } {
  const dir = path.join(tmp, 'tls');
  const run = spawnSync(process.execPath, [BIN, 'cert', '--out', dir], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(run.status, 0, run.stderr);
  return { cert: path.join(dir, 'cert.pem'), key: path.join(dir, 'key.pem') };
}

/** startServer, from another install's bin (the harness runs this worktree's). */
async function startServerFrom(bin: string, args: string[]): Promise<RunningServer> {
  const server = await startServer({ args, bin });
  servers.push(server);
  return server;
}
