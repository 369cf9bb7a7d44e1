import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ClusterLog, ClusterUnavailable, connectBounded } from '../../src/cluster/cluster-log';
import type { LogEntry } from '../../src/cluster/entries';
import { missingPrerequisite } from '../helpers/prerequisite';
import { natsServerPresent, startNatsCluster, type NatsCluster } from '../helpers/nats-cluster';

/** The cluster log on a real 3-server NATS cluster with JetStream (loopback, temp dir). */

const present = natsServerPresent();
let nats: NatsCluster | undefined;

before(async () => {
  if (present) nats = await startNatsCluster(3);
});
after(async () => {
  await nats?.stop();
});

const options = (servers: string[]) => ({ servers, connectTimeoutMs: 5000, proposeTimeoutMs: 5000, maxMessages: 10_000, maxAgeMs: 3_600_000 });

/** Reads entries from `from` until `count` arrived (bounded), then stops. */
async function readN(log: ClusterLog, from: number, count: number): Promise<Array<{ entry: LogEntry; seq: number }>> {
  const got: Array<{ entry: LogEntry; seq: number }> = [];
  const skipped: number[] = [];
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`only ${got.length} of ${count} entries within 10 s`)), 10_000);
    void log.read(from, (entry, seq) => {
      got.push({ entry, seq });
      if (got.length === count) {
        clearTimeout(timer);
        resolve();
      }
    }, (_err, seq) => skipped.push(seq));
  });
  return got;
}

test('proposals come back in stream order with their seq; a retried proposal id is applied once; a bad entry is skipped', async (t) => {
  if (missingPrerequisite(t, present, 'nats-server is not installed (/usr/sbin/nats-server): the cluster log is not tested')) return;
  const servers = nats!.url.split(',');
  const a = await ClusterLog.open('nodeA', options(servers));
  const b = await ClusterLog.open('nodeB', options([servers[1]!]));
  try {
    const start = (await a.position()).last + 1;
    const e1: LogEntry = { type: 'connect', pid: a.newProposalId(), ts: 1, key: 'nodeA/1:1' };
    const s1 = await a.propose(e1);
    // The same proposal again (a retry after a lost ack): JetStream's duplicate window drops it.
    assert.equal(await a.propose(e1), s1);
    // Garbage on the log's subjects (not from Switchboard): skipped by every reader.
    await b.nc.request('sb.log.x', Buffer.from('{"type":"nonsense"}'));
    const s2 = await b.propose({ type: 'chat', pid: b.newProposalId(), ts: 2, key: 'nodeB/1:1', id: 'm1', content: 'hi' });
    assert.ok(s2 > s1);
    const [fromA, fromB] = await Promise.all([readN(a, start, 2), readN(b, start, 2)]);
    for (const seen of [fromA, fromB]) {
      assert.deepEqual(seen.map((x) => x.seq), [s1, s2]);
      assert.deepEqual(seen.map((x) => x.entry.type), ['connect', 'chat']);
    }
    assert.equal(s2, s1 + 2, 'the garbage took a seq; the retry did not');
  } finally {
    await a.close();
    await b.close();
  }
});

test('an unreachable NATS is refused within the connect timeout, with what was tried', async () => {
  await assert.rejects(connectBounded(['nats://127.0.0.1:1'], 500), (err: Error) => {
    assert.ok(err instanceof ClusterUnavailable);
    assert.match(err.message, /cannot reach the cluster's NATS servers \(nats:\/\/127\.0\.0\.1:1\) within 500 ms/);
    return true;
  });
});
