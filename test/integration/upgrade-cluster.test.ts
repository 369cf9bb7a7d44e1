// An upgrade of one node of a cluster (issue 12): its plain TCP sessions move to new workers on
// their own connections while room messages keep flowing through the replicated log between
// nodes. Two Switchboard nodes over a real 3-server NATS JetStream cluster and a PostgreSQL
// database of their own (loopback, temporary directories, every process stopped by its pid).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import type { Msg } from '../helpers/client';
import { clusterNodes, clusterPrerequisites, user, whoUntil } from '../helpers/cluster-client';
import { missingPrerequisite } from '../helpers/prerequisite';
import * as proc from '../helpers/procfs';
import type { RunningServer } from '../helpers/server';

const BIN = path.resolve(__dirname, '..', '..', '..', 'bin', 'switchboard.js');
const { present, skip: SKIP } = clusterPrerequisites('the cluster upgrade test is');

const nodes = clusterNodes(present, 'sb_upgrade', ['upA', 'upB'], ['--workers', '2']);


const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

test('upgrading one node of a cluster: its clients keep their connections, every line reaches every node once', { timeout: 120_000 }, async (t) => {
  if (missingPrerequisite(t, present, SKIP)) return;
  const [a, b] = nodes as [RunningServer, RunningServer];
  const members = [await user(t, a), await user(t, a), await user(t, a), await user(t, b)];
  const ids = members.map((m) => m.id);
  await whoUntil(members[3]!.c, 'MainHall', (seen) => ids.every((id) => seen.includes(id)));
  await whoUntil(members[0]!.c, 'MainHall', (seen) => ids.every((id) => seen.includes(id)));
  const ports = members.map((m) => m.c.localPort);
  const workersOfA = (): number[] => proc.descendants(a.pid).filter((pid) => proc.cmdline(pid).some((x) => x.endsWith(path.join('worker', 'main.js'))));
  const before = workersOfA();
  const sent = members.map(() => 0);
  let streaming = true;
  const stream = (async () => {
    while (streaming) {
      members.forEach((m, i) => m.c.send({ type: 'message', content: `${m.id}:${sent[i]!++}` }));
      await sleep(150);
    }
  })();
  await sleep(600);
  const run = spawnSync(process.execPath, [BIN, 'upgrade', '--data-dir', a.dataDir, '--json'], { encoding: 'utf8', timeout: 90_000 });
  assert.equal(run.status, 0, run.stderr + run.stdout);
  const result = JSON.parse(run.stdout) as { sessionsMoved: number };
  assert.equal(result.sessionsMoved, 3);
  await sleep(600);
  streaming = false;
  await stream;

  const lines = members.flatMap((m, i) => Array.from({ length: sent[i]! }, (_, k) => `${m.id}:${k}`));
  for (const m of members) {
    const deadline = Date.now() + 20_000;
    const got = (): Msg[] => m.c.received.filter((x) => x.type === 'message');
    while (got().length < lines.length && Date.now() < deadline) await sleep(50);
    await sleep(300);
    const contents = got().map((x) => x.content as string);
    assert.equal(new Set(contents).size, contents.length, `${m.id} received a line twice`);
    for (const line of lines) assert.ok(contents.includes(line), `${m.id} missed ${line}`);
    const seqs = got().map((x) => x.seq as number);
    for (let i = 1; i < seqs.length; i++) assert.equal(seqs[i], seqs[i - 1]! + 1, `${m.id}: seq ${seqs[i - 1]} then ${seqs[i]}`);
  }
  members.forEach((m, i) => {
    assert.ok(m.c.isOpen, `${m.id} was disconnected`);
    assert.equal(m.c.localPort, ports[i]);
  });
  const now = workersOfA();
  assert.equal(now.length, 2);
  for (const p of before) assert.ok(!now.includes(p));
  console.log(`# cluster upgrade: ${members.length} clients (3 on the upgraded node), ${lines.length} lines, lost 0, duplicated 0`);
});
