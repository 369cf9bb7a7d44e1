import { after, before, type TestContext } from 'node:test';
import { TestClient, type Msg } from './client';
import { startServer, type RunningServer } from './server';
import { natsServerPresent, startNatsCluster, type NatsCluster } from './nats-cluster';
import { createDatabase, dropDatabase, postgresUnreachable } from './postgres-db';
import { sleep } from './wait';

/** Client-side helpers shared by the cluster test files (several nodes, one chat). */

/** A welcomed client on `node`, closed when the test ends. */
export async function user(t: TestContext, node: RunningServer): Promise<{ c: TestClient; id: string }> {
  const { client, identity } = await TestClient.welcomed(node.port);
  t.after(() => client.close());
  return { c: client, id: identity };
}

/** Sends `request` and waits for the first line matching `pred` (bounded: a cluster may elect). */
export async function ask(c: TestClient, request: object, pred: (m: Msg) => boolean, timeoutMs = 15_000): Promise<Msg> {
  c.send(request);
  return c.waitFor(pred, timeoutMs);
}

/** Polls `who` of `roomid` from `c` until `pred` holds on its identities (bounded). */
export async function whoUntil(c: TestClient, roomid: string, pred: (ids: string[]) => boolean, timeoutMs = 15_000): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const m = await ask(c, { type: 'who', roomid }, (x) => x.type === 'roomcontents' && x.roomid === roomid);
    const ids = m.identities as string[];
    if (pred(ids)) return ids;
    if (Date.now() > deadline) throw new Error(`who ${roomid} never matched; last: ${JSON.stringify(ids)}`);
    await sleep(100);
  }
}

/** Stops a detached node as a dead machine would: its whole process group, then its cleanup. */
export async function killGroup(node: RunningServer): Promise<void> {
  try {
    process.kill(-node.pid, 'SIGKILL');
  } catch {
    // gone already
  }
  await node.stop('SIGKILL');
}

/**
 * Heartbeat settings of test nodes: a beat every 300 ms, and a node gone 5 s after its last one
 * (the default `--cluster-node-timeout-ms`). A shorter timeout made the tests flaky on a busy
 * machine: a node reconnecting to another NATS server while JetStream elects a new leader can
 * miss 2 s of beats and be declared gone while alive, closing its clients (seen in a full run
 * beside other CPU-heavy work).
 */
export const TEST_NODE_TIMEOUT_MS = 5000;
export const TEST_HEARTBEAT = ['--cluster-heartbeat-ms', '300', '--cluster-node-timeout-ms', String(TEST_NODE_TIMEOUT_MS)];

/**
 * Whether a cluster test can run here (nats-server and the machine's PostgreSQL), and the skip
 * message naming what is missing (`what`: what goes untested).
 */
export function clusterPrerequisites(what: string): { present: boolean; skip: string } {
  const pgUnreachable = postgresUnreachable();
  return { present: natsServerPresent() && pgUnreachable === null, skip: pgUnreachable ?? `nats-server is not installed (/usr/sbin/nats-server): ${what} not tested` };
}

/**
 * The nodes of a cluster test file: registers the file's `before` (a 3-server NATS cluster, a
 * PostgreSQL database named from `database`, then one Switchboard node per name of `names`,
 * started with `args` beside the cluster's own and the test heartbeat) and its `after` (every
 * process stopped by its pid, the database dropped). The returned array is filled by `before`;
 * nothing starts when `present` is false (the tests skip).
 */
export function clusterNodes(present: boolean, database: string, names: readonly string[], args: readonly string[]): RunningServer[] {
  const nodes: RunningServer[] = [];
  let nats: NatsCluster | undefined;
  let storeUrl = '';
  before(async () => {
    if (!present) return;
    nats = await startNatsCluster(3);
    storeUrl = await createDatabase(database);
    for (const name of names) {
      nodes.push(await startServer({ args: ['--cluster', nats.url, '--store', storeUrl, '--node-id', name, ...args, ...TEST_HEARTBEAT], startTimeoutMs: 30_000 }));
    }
  });
  after(async () => {
    await Promise.all(nodes.map((s) => s.stop()));
    await nats?.stop();
    if (storeUrl) await dropDatabase(storeUrl);
  });
  return nodes;
}
