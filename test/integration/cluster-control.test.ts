import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ask, clusterNodes, clusterPrerequisites, user, whoUntil } from '../helpers/cluster-client';
import { missingPrerequisite } from '../helpers/prerequisite';
import { runCli } from '../helpers/requests';
import type { RunningServer } from '../helpers/server';
import { within } from '../helpers/wait';

/**
 * The control socket on a cluster: an operator's request made on one node goes through the
 * replicated log, so it acts on clients of every node (two Switchboard nodes over a real
 * 3-server NATS JetStream cluster and a PostgreSQL database made for this file).
 */

const { present, skip: SKIP } = clusterPrerequisites('the control socket on a cluster is');

const nodes = clusterNodes(present, 'sb_cluster_control', ['nodeA', 'nodeB'], ['--workers', '1']);


test('notice, close-room and disconnect made on one node act on the clients of both', async (t) => {
  if (missingPrerequisite(t, present, SKIP)) return;
  const [nodeA, nodeB] = nodes as [RunningServer, RunningServer];
  const a = await user(t, nodeA);
  const b = await user(t, nodeB);
  await whoUntil(a.c, 'MainHall', (ids) => ids.includes(b.id));

  const status = JSON.parse((await runCli(['status', '--data-dir', nodeA.dataDir, '--json'])).stdout) as { nodeId: string; clients: number; sessions: number };
  assert.deepEqual([status.nodeId, status.clients, status.sessions], ['nodeA', 1, 2], 'this node\'s clients; the chat\'s sessions on both nodes');

  const notice = await runCli(['admin', 'notice', 'cluster-wide', '--data-dir', nodeA.dataDir]);
  assert.equal(notice.code, 0, notice.stderr);
  for (const u of [a, b]) {
    const m = await u.c.waitFor((x) => x.type === 'notice', 15_000);
    assert.deepEqual([m.from, m.content], ['(server)', 'cluster-wide']);
  }

  await ask(a.c, { type: 'createroom', roomid: 'Vault' }, (m) => m.type === 'roomlist');
  await ask(a.c, { type: 'join', roomid: 'Vault' }, (m) => m.type === 'roomchange' && m.identity === a.id);
  await ask(b.c, { type: 'join', roomid: 'Vault' }, (m) => m.type === 'roomchange' && m.identity === b.id && m.roomid === 'Vault');
  const closed = await runCli(['admin', 'close-room', 'Vault', '--data-dir', nodeB.dataDir, '--json']);
  assert.equal(closed.code, 0, closed.stderr);
  assert.deepEqual(JSON.parse(closed.stdout), { closed: 'Vault', moved: 2 });
  for (const u of [a, b]) await u.c.waitFor((x) => x.type === 'roomchange' && x.identity === u.id && x.former === 'Vault' && x.roomid === 'MainHall', 15_000);

  const gone = await runCli(['admin', 'disconnect', b.id, 'bye', '--data-dir', nodeA.dataDir]);
  assert.equal(gone.code, 0, gone.stderr);
  const why = await b.c.waitFor((x) => x.type === 'error', 15_000);
  assert.equal(why.code, 'DISCONNECTED');
  assert.ok(await within(b.c.closed, 10_000), 'the client on the other node is closed');
  await whoUntil(a.c, 'MainHall', (ids) => !ids.includes(b.id));
});
