import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { clusterPrerequisites, TEST_HEARTBEAT } from '../helpers/cluster-client';
import { get, metricsPort, scrape, total } from '../helpers/metrics';
import { startNatsCluster, type NatsCluster } from '../helpers/nats-cluster';
import { createDatabase, dropDatabase } from '../helpers/postgres-db';
import { missingPrerequisite } from '../helpers/prerequisite';
import { startServer, type RunningServer } from '../helpers/server';
import { sleep } from '../helpers/wait';

/**
 * Issue 12, metrics of a cluster node: /readyz checks the cluster log, /metrics shows the log
 * lag, and a node whose NATS is gone is not ready. Three NATS servers (JetStream, loopback;
 * JetStream in cluster mode wants its quorum) and one node.
 */

const { present, skip: SKIP } = clusterPrerequisites('cluster readiness and lag metrics are');

let nats: NatsCluster | undefined;
let storeUrl = '';
let node: RunningServer | undefined;

before(async () => {
  if (!present) return;
  nats = await startNatsCluster(3);
  storeUrl = await createDatabase('sb_metrics');
  node = await startServer({ args: ['--cluster', nats.url, '--store', storeUrl, '--node-id', 'metricsA', '--workers', '1', '--metrics-port', '0', ...TEST_HEARTBEAT], startTimeoutMs: 30_000 });
});

after(async () => {
  await node?.stop();
  await nats?.stop();
  if (storeUrl) await dropDatabase(storeUrl);
});

test('a cluster node: ready with a cluster check, log lag exported, not ready once NATS is gone', async (t) => {
  if (missingPrerequisite(t, present, SKIP)) return;
  const port = await metricsPort(node!);
  let ready = await get(port, '/readyz');
  for (let i = 0; i < 100 && ready.status !== 200; i++) {
    await sleep(100);
    ready = await get(port, '/readyz');
  }
  assert.equal(ready.status, 200, ready.body);
  const checks = (JSON.parse(ready.body) as { checks: Record<string, { ok: boolean }> }).checks;
  assert.deepEqual(checks.cluster, { ok: true });
  const s = await scrape(port);
  assert.equal(total(s, 'switchboard_cluster_up'), 1);
  const lag = s.filter((x) => x.name === 'switchboard_cluster_log_lag_entries');
  assert.equal(lag.length, 1);
  assert.ok(lag[0]!.value >= 0 && lag[0]!.value < 100, `lag ${lag[0]!.value}`);

  await nats!.stop();
  let down = await get(port, '/readyz');
  for (let i = 0; i < 150 && down.status !== 503; i++) {
    await sleep(100);
    down = await get(port, '/readyz');
  }
  assert.equal(down.status, 503, down.body);
  const failing = Object.entries((JSON.parse(down.body) as { checks: Record<string, { ok: boolean }> }).checks).filter(([, c]) => !c.ok).map(([k]) => k);
  // The log unreadable: the cluster check fails (and the hub, which cannot go on without the log, is restarted).
  assert.ok(failing.includes('cluster') || failing.includes('hub'), `failing: ${failing.join(',')}; ${down.body}`);
  assert.equal((await get(port, '/healthz')).status, 200);
});
