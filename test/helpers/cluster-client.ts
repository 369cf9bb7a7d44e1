import type { TestContext } from 'node:test';
import { TestClient, type Msg } from './client';
import type { RunningServer } from './server';
import { natsServerPresent } from './nats-cluster';
import { postgresUnreachable } from './postgres-db';
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

/** Heartbeat settings of test nodes: a node is gone 2 s after its last refresh. */
export const TEST_NODE_TIMEOUT_MS = 2000;
export const TEST_HEARTBEAT = ['--cluster-heartbeat-ms', '300', '--cluster-node-timeout-ms', String(TEST_NODE_TIMEOUT_MS)];

/**
 * Whether a cluster test can run here (nats-server and the machine's PostgreSQL), and the skip
 * message naming what is missing (`what`: what goes untested).
 */
export function clusterPrerequisites(what: string): { present: boolean; skip: string } {
  const pgUnreachable = postgresUnreachable();
  return { present: natsServerPresent() && pgUnreachable === null, skip: pgUnreachable ?? `nats-server is not installed (/usr/sbin/nats-server): ${what} not tested` };
}
