import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { workerPids } from '../helpers/chaos';
import { TestClient } from '../helpers/client';
import { metricsPort, scrape, total } from '../helpers/metrics';
import { MAX_PLACEMENTS } from '../../src/supervisor/placement-count';
import { startServer, type RunningServer } from '../helpers/server';
import { sleep, until, within } from '../helpers/wait';
import { WorkerFaults } from '../helpers/worker-faults';

/**
 * --worker-wait-ms: a client that connects while every worker crashes at start (a bad deploy,
 * injected by test/helpers/worker-faults-preload.ts) is not held until the server stops. It is
 * closed once it has waited --worker-wait-ms with no worker becoming ready, without a line (it
 * is a core client: src/supervisor/supervisor.ts refuse()), counted as TOO_MANY_USERS, its
 * address slot freed, and the refusals logged once for the burst. Once workers start again,
 * new clients are served. Before the bound, each such client stayed open until the test gave up.
 */

const WAIT_MS = 1500;
/** Far above WAIT_MS plus a crash-loop's slowest scheduling on a loaded machine, far below the test timeout. */
const CLOSED_WITHIN_MS = 15_000;
const REFUSED_LOG = 'refused clients that waited --worker-wait-ms for a worker: none became ready (are workers crashing at start?)';

for (const placement of ['pool', 'dedicated'] as const) {
  // Pool: three clients of one burst (one log line for them). Dedicated: one, as a new client
  // there waits for a process start and the recovery below must not race one.
  const burst = placement === 'pool' ? 3 : 1;
  test(`${placement}: clients waiting for workers that crash at start are closed after --worker-wait-ms without a line; served once workers recover`, { timeout: 90_000 }, async (t) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sb-worker-wait-'));
    const faults = new WorkerFaults(dir);
    const placementArgs = placement === 'pool' ? ['--workers', '1'] : ['--spares', '1', '--max-spares', '1'];
    // The per-address cap is the burst: a slot a refused client kept would refuse a newcomer below.
    const server = await startServer({
      env: faults.env(),
      args: ['--placement', placement, ...placementArgs, '--worker-wait-ms', String(WAIT_MS), '--max-connections-per-address', String(burst), '--metrics-port', '0'],
    });
    const clients: TestClient[] = [];
    try {
      const metrics = await metricsPort(server);
      const [worker] = await linkedWorkers(server, []);
      faults.crashAtStart();
      process.kill(worker!, 'SIGKILL');
      await server.waitForLog((l) => l.role === 'supervisor' && l.msg === 'worker died' && l.childPid === worker);

      const connectedAt: number[] = [];
      for (let i = 0; i < burst; i++) {
        clients.push(await TestClient.connect(server.port, { core: true }));
        connectedAt.push(Date.now());
        await sleep(200);
      }
      const closedAt: number[] = clients.map(() => 0);
      clients.forEach((c, i) => void c.closed.then(() => (closedAt[i] = Date.now())));
      assert.ok(await within(Promise.all(clients.map((c) => c.closed)), CLOSED_WITHIN_MS), `every waiting client closed within ${CLOSED_WITHIN_MS} ms`);
      const waited = closedAt.map((at, i) => at - connectedAt[i]!);
      t.diagnostic(`waited before the close: ${waited.join(', ')} ms (--worker-wait-ms ${WAIT_MS})`);
      // Not refused on arrival (a cap) but after its wait: the supervisor's clock starts after the client's.
      assert.ok(waited.every((ms) => ms >= WAIT_MS - 50), `each waited the bound first: ${waited.join(', ')} ms`);
      assert.ok(clients.every((c) => c.received.length === 0 && c.rawLines.length === 0), 'a refused core client gets no line');

      const refused = total(await scrape(metrics), 'switchboard_admissions_refused_total', { reason: 'TOO_MANY_USERS' });
      assert.equal(refused, burst, 'each refusal counted as TOO_MANY_USERS');
      const lines = server.logs.filter((l) => l.role === 'supervisor' && l.msg === REFUSED_LOG);
      assert.equal(lines.length, 1, `one log line for the burst: ${JSON.stringify(lines)}`);

      // Recovery: the next worker started comes up; new clients (as many as the address cap:
      // the refused ones' slots were freed) are welcomed.
      faults.clear();
      await linkedWorkers(server, [worker!]);
      if (placement === 'pool') {
        const end = await server.waitForLog((l) => l.role === 'supervisor' && l.msg === 'a worker is ready: the waiting clients are placed');
        assert.equal(end.refusedLate, burst, 'the end of the spell counts its late refusals');
      }
      for (let i = 0; i < burst; i++) {
        const { client } = await TestClient.welcomed(server.port, CLOSED_WITHIN_MS, { core: true });
        clients.push(client);
      }
    } finally {
      for (const c of clients) c.socket.destroy();
      await server.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
}

/**
 * A worker that dies as it is handed a client (injected: it exits before confirming the socket,
 * 'conn-taken') never had it, so the supervisor places the client again; every replacement comes
 * up ready and dies the same way. Each replacement coming up resets the --worker-wait-ms clock,
 * so before the placement bound (src/supervisor/placement-count.ts) such a client was bounced
 * from dying worker to dying worker until the test gave up. Now it is refused on its fourth
 * placement: closed without a line, TOO_MANY_USERS, one log line for the burst. --worker-wait-ms
 * is far above the test's bound, so only the placement bound can close it.
 */
const BOUNCED_LOG = 'refused clients that workers kept dying with before taking them (are workers crashing as they get clients?)';
/** Three worker starts with restart backoffs (100, 200 ms) on a loaded machine, with margin. */
const BOUNCED_CLOSED_WITHIN_MS = 30_000;

for (const placement of ['pool', 'dedicated'] as const) {
  test(`${placement}: clients handed to workers that die as they get them are closed after ${MAX_PLACEMENTS} placements without a line, not bounced for ever`, { timeout: 90_000 }, async (t) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sb-worker-bounce-'));
    const faults = new WorkerFaults(dir);
    const placementArgs = placement === 'pool' ? ['--workers', '1'] : ['--spares', '2', '--max-spares', '2'];
    const server = await startServer({ env: faults.env(), args: ['--placement', placement, ...placementArgs, '--worker-wait-ms', '600000', '--metrics-port', '0'] });
    const clients: TestClient[] = [];
    try {
      const metrics = await metricsPort(server);
      await linkedWorkers(server, []);
      faults.dieOnClient();
      const burst = 2;
      const connectedAt = Date.now();
      for (let i = 0; i < burst; i++) clients.push(await TestClient.connect(server.port, { core: true }));
      assert.ok(await within(Promise.all(clients.map((c) => c.closed)), BOUNCED_CLOSED_WITHIN_MS), `every bounced client closed within ${BOUNCED_CLOSED_WITHIN_MS} ms`);
      t.diagnostic(`closed after ${Date.now() - connectedAt} ms`);
      assert.ok(clients.every((c) => c.received.length === 0 && c.rawLines.length === 0), 'a refused core client gets no line');

      const placedAgain = server.logs.filter((l) => l.role === 'supervisor' && l.msg === 'a worker did not take a client; placing it again').length;
      assert.equal(placedAgain, burst * (MAX_PLACEMENTS - 1), `each client placed ${MAX_PLACEMENTS} times in all`);
      const refused = total(await scrape(metrics), 'switchboard_admissions_refused_total', { reason: 'TOO_MANY_USERS' });
      assert.equal(refused, burst, 'each refusal counted as TOO_MANY_USERS');
      const lines = server.logs.filter((l) => l.role === 'supervisor' && l.msg === BOUNCED_LOG);
      assert.equal(lines.length, 1, `one log line for the burst: ${JSON.stringify(lines)}`);

      // Workers that keep clients again serve newcomers (the refused ones' address slots are free).
      faults.clear();
      for (let i = 0; i < burst; i++) clients.push((await TestClient.welcomed(server.port, BOUNCED_CLOSED_WITHIN_MS, { core: true })).client);
    } finally {
      for (const c of clients) c.socket.destroy();
      await server.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
}

/** Live workers linked to the hub, none of them in `not` (waits for at least one). */
async function linkedWorkers(server: RunningServer, not: number[]): Promise<number[]> {
  return until(
    'a worker linked to the hub',
    () => {
      const linked = workerPids(server).filter((p) => !not.includes(p) && server.logs.some((l) => l.role === 'worker' && l.pid === p && l.msg === 'linked to hub'));
      return linked.length > 0 ? linked : undefined;
    },
    20_000,
  );
}
