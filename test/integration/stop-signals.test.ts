import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { TestClient, type Msg } from '../helpers/client';
import * as proc from '../helpers/procfs';
import { startServer, type RunningServer } from '../helpers/server';
import { terminalAvailable } from '../helpers/terminal-client';
import { until, within } from '../helpers/wait';

/**
 * Stop signals as a terminal, `kill -TERM -PGID` and systemd's KillMode=control-group send
 * them: to every process of the server at once. The server runs in a process group of its own
 * (as a shell job does); the children must leave the stop to the supervisor, so every client
 * is told SHUTTING_DOWN and every process exits, the supervisor with code 0. Linux only (/proc).
 */

const TEST_TIMEOUT_MS = 40_000;
/** The server's stop deadline in these tests; every process must be gone a little after it. */
const SHUTDOWN_MS = 3000;

/** A client that has declared itself extended (sent a non-core request): it is told errors. */
async function extendedClient(port: number): Promise<TestClient> {
  const { client } = await TestClient.welcomed(port);
  client.send({ type: 'ping' });
  await client.waitFor((m) => m.type === 'pong');
  return client;
}

/** Every process of the server: the supervisor and its children, by /proc, with start times. */
function processTree(server: RunningServer): Map<number, number> {
  const tree = new Map<number, number>();
  for (const pid of [server.pid, ...proc.descendants(server.pid)]) {
    const st = proc.procStat(pid);
    if (st) tree.set(pid, st.startTime);
  }
  return tree;
}

async function assertAllGone(tree: Map<number, number>, timeoutMs: number): Promise<void> {
  await until(`every process of the server gone: ${JSON.stringify([...tree.keys()])}`, () => [...tree].every(([pid, start]) => !proc.isAlive(pid, start)), timeoutMs);
}

async function assertToldShuttingDown(client: TestClient): Promise<void> {
  const err: Msg = await client.waitFor((m) => m.type === 'error', SHUTDOWN_MS + 2000);
  assert.equal(err.code, 'SHUTTING_DOWN', JSON.stringify(err));
  assert.ok(await within(client.closed, 5000), 'client closed after SHUTTING_DOWN');
}

describe('stop signals to the whole process group', () => {
  const cases = [
    { signal: 'SIGINT' as const, args: ['--workers', '2'] },
    { signal: 'SIGINT' as const, args: ['--placement', 'dedicated', '--spares', '2'] },
    { signal: 'SIGTERM' as const, args: ['--workers', '2'] },
    { signal: 'SIGTERM' as const, args: ['--placement', 'dedicated', '--spares', '2'] },
    { signal: 'SIGQUIT' as const, args: ['--workers', '2'] },
  ];
  for (const { signal, args } of cases) {
    test(`${signal} to the group (${args.join(' ')}): every client told SHUTTING_DOWN, all exit, code 0`, { timeout: TEST_TIMEOUT_MS }, async () => {
      const server = await startServer({ detached: true, args: ['--shutdown-timeout-ms', String(SHUTDOWN_MS), ...args] });
      const clients: TestClient[] = [];
      try {
        for (let i = 0; i < 3; i++) clients.push(await extendedClient(server.port));
        const tree = processTree(server);
        assert.ok(tree.size >= 4, `supervisor, hub and workers expected: ${JSON.stringify([...tree.keys()])}`);

        process.kill(-server.pid, signal);
        for (const c of clients) await assertToldShuttingDown(c);
        const exit = await server.exited;
        assert.deepEqual(exit, { code: 0, signal: null }, `supervisor exit after ${signal} to the group`);
        await assertAllGone(tree, SHUTDOWN_MS + 2000);
        // The stop was the supervisor's: no child acted on the signal by itself.
        assert.deepEqual(server.logs.filter((l) => /stop signal to/.test(String(l.msg))), []);
        assert.ok(server.logs.some((l) => l.msg === 'stopped' && l.role === 'supervisor'), 'the supervisor logged its orderly stop');
      } finally {
        for (const c of clients) await c.close();
        await server.stop('SIGKILL');
      }
    });
  }
});

describe('signals to one child alone', () => {
  test('SIGTERM to one worker: after the stop deadline its clients are told SHUTTING_DOWN, the rest go on', { timeout: TEST_TIMEOUT_MS }, async () => {
    const server = await startServer({ detached: true, args: ['--workers', '2', '--shutdown-timeout-ms', String(SHUTDOWN_MS)] });
    const clients: TestClient[] = [];
    try {
      // Least-loaded placement spreads four clients over both workers.
      for (let i = 0; i < 4; i++) clients.push(await extendedClient(server.port));
      const workers = proc.childPids(server.pid).filter((pid) => server.logs.some((l) => l.role === 'worker' && l.pid === pid));
      assert.equal(workers.length, 2, JSON.stringify(workers));
      const victim = workers[0]!;
      const holders = clients.map((c) => proc.pidsHoldingTcpConnection(server.port, c.localPort, workers));
      const ofVictim = clients.filter((_, i) => holders[i]!.includes(victim));
      const others = clients.filter((_, i) => !holders[i]!.includes(victim));
      assert.ok(ofVictim.length > 0 && others.length > 0, `clients on both workers: ${JSON.stringify(holders)}`);

      process.kill(victim, 'SIGTERM');
      // While it says goodbye, new clients go to the other worker.
      await server.waitForLog((l) => l.msg === 'worker stopping by itself; no new clients for it' && l.childPid === victim);
      const during = await extendedClient(server.port);
      clients.push(during);
      assert.deepEqual(proc.pidsHoldingTcpConnection(server.port, during.localPort, workers), [workers[1]], 'placed on the worker that stays');
      for (const c of ofVictim) await assertToldShuttingDown(c);
      await until('the worker that got SIGTERM exits', () => !proc.isAlive(victim), SHUTDOWN_MS + 2000);
      await server.waitForLog((l) => l.msg === 'stop signal to this worker alone; stopping it' && l.pid === victim);
      // A group hangup without a lost terminal (here: no terminal at all) is a reload request.
      process.kill(-server.pid, 'SIGHUP');
      for (const c of others) {
        c.send({ type: 'ping' });
        await c.waitFor((m) => m.type === 'pong');
      }
      assert.equal(server.process.exitCode, null, 'the server still runs');
      const fresh = await extendedClient(server.port);
      clients.push(fresh);
    } finally {
      for (const c of clients) await c.close();
      const exit = await server.stop('SIGTERM');
      assert.equal(exit.code, 0);
    }
  });
});

describe('a terminal that hangs up', () => {
  test('the server started on a terminal stops in order when the terminal goes away', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    if (!terminalAvailable()) {
      assert.ok(process.env.CI !== 'true', 'util-linux `script` is needed under CI');
      t.skip('util-linux `script` is not installed');
      return;
    }
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sb-hup-'));
    const logFile = path.join(dataDir, '..', `${path.basename(dataDir)}.log`);
    const bin = path.resolve(__dirname, '..', '..', '..', 'bin', 'switchboard.js');
    // `script` runs the server on a pseudo-terminal of its own, as its session leader (the
    // shell execs it); the log goes to a file because the terminal will be gone.
    const command = `exec '${process.execPath}' '${bin}' serve --port 0 --http-port off --data-dir '${dataDir}' --shutdown-timeout-ms ${SHUTDOWN_MS} >'${logFile}' 2>&1`;
    const terminal = spawn('script', ['-qfec', command, '/dev/null'], { stdio: ['pipe', 'ignore', 'ignore'] });
    const log = (): string => (fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8') : '');
    let supervisor = 0;
    const clients: TestClient[] = [];
    try {
      const port = Number((await until('the banner', () => /listening on 127\.0\.0\.1:(\d+)/.exec(log()), 15_000))[1]);
      supervisor = proc.childPids(terminal.pid!)[0]!;
      for (let i = 0; i < 2; i++) clients.push(await extendedClient(port));
      const tree = new Map([supervisor, ...proc.descendants(supervisor)].map((pid) => [pid, proc.procStat(pid)!.startTime]));

      // The terminal emulator goes away: the pseudo-terminal's master closes, the kernel hangs
      // up the terminal and sends SIGHUP to its session leader.
      terminal.kill('SIGKILL');
      for (const c of clients) await assertToldShuttingDown(c);
      await assertAllGone(tree, SHUTDOWN_MS + 2000);
      const lines = log().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { role?: string; msg?: string; signal?: string });
      assert.ok(lines.some((l) => l.role === 'supervisor' && l.msg === 'signal received' && l.signal === 'SIGHUP'), 'the hangup was taken as a stop');
      assert.ok(lines.some((l) => l.role === 'supervisor' && l.msg === 'stopped'), 'the supervisor stopped in order');
    } finally {
      for (const c of clients) await c.close();
      if (terminal.exitCode === null && terminal.signalCode === null) terminal.kill('SIGKILL');
      if (supervisor && proc.isAlive(supervisor)) process.kill(supervisor, 'SIGKILL');
      fs.rmSync(dataDir, { recursive: true, force: true });
      fs.rmSync(logFile, { force: true });
    }
  });
});
