import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config/load';

/** The snapshot settings of a cluster node, and the rule that a snapshot covers what the log discards. */

const load = (argv: string[], env: NodeJS.ProcessEnv = {}) => loadConfig({ argv, env, cwd: '/srv' });
const CLUSTER = ['--cluster', 'nats://127.0.0.1:4222', '--store', 'postgres://sb@127.0.0.1:5432/sb'];

test('snapshot settings: defaults, and each as a flag and a SWITCHBOARD_* variable', () => {
  const d = load(CLUSTER);
  assert.deepEqual([d.clusterSnapshotEvery, d.clusterSnapshotIntervalMs, d.clusterSnapshotKeep], [10_000, 3_600_000, 3]);
  const c = load([...CLUSTER, '--cluster-log-max-messages', '100', '--cluster-snapshot-every', '50', '--cluster-snapshot-keep', '2'], { SWITCHBOARD_CLUSTER_SNAPSHOT_INTERVAL_MS: '60000' });
  assert.deepEqual([c.clusterLogMaxMessages, c.clusterSnapshotEvery, c.clusterSnapshotIntervalMs, c.clusterSnapshotKeep], [100, 50, 60_000, 2]);
});

test('a snapshot interval above half the log\'s bound is refused, saying why', () => {
  assert.throws(() => load([...CLUSTER, '--cluster-log-max-messages', '1000', '--cluster-snapshot-every', '501']), (err: Error) => {
    assert.ok(err instanceof ConfigError);
    assert.match(err.message, /clusterSnapshotEvery \(501\) must be at most half of clusterLogMaxMessages \(1000\)/);
    return true;
  });
  assert.throws(() => load([...CLUSTER, '--cluster-log-max-age-ms', '120000', '--cluster-snapshot-interval-ms', '60001']), /clusterSnapshotIntervalMs \(60001\) must be at most half of clusterLogMaxAgeMs \(120000\)/);
  assert.throws(() => load([...CLUSTER, '--cluster-snapshot-keep', '1']), /cluster-snapshot-keep/);
  // One node (no --cluster) does not take snapshots: the rule does not apply.
  assert.equal(load(['--cluster-log-max-messages', '100']).clusterSnapshotEvery, 10_000);
});
