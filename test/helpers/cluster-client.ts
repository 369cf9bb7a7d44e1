import type { TestContext } from 'node:test';
import { TestClient, type Msg } from './client';
import type { RunningServer } from './server';
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
