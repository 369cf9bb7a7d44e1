import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { download, upload } from '../helpers/files-http';
import { natsServerPresent, startNatsCluster, type NatsCluster } from '../helpers/nats-cluster';
import { createDatabase, dropDatabase, postgresUnreachable } from '../helpers/postgres-db';
import { missingPrerequisite } from '../helpers/prerequisite';
import { login, ok, register, welcomed, type Conn } from '../helpers/requests';
import { startServer, type RunningServer } from '../helpers/server';
import { TEST_HEARTBEAT } from '../helpers/cluster-client';

/**
 * Files on a cluster (docs/CLUSTER.md, "Files"): two nodes over a real NATS JetStream cluster
 * and one PostgreSQL database, their blob directories one shared directory (a symlink here;
 * shared storage in production). An upload on one node, attached to a room message and a DM
 * there, reaches a client of the other node with the server's record (the chat log entry
 * carries it), in its history too, and that client downloads it from its own node.
 */

const natsPresent = natsServerPresent();
const pgMissing = postgresUnreachable();
const present = natsPresent && pgMissing === null;
const SKIP = !natsPresent ? 'nats-server is not installed (/usr/sbin/nats-server): files on a cluster are not tested' : `${pgMissing}: files on a cluster are not tested`;

let nats: NatsCluster | undefined;
let database: string | undefined;
let root: string | undefined;
const nodes: RunningServer[] = [];
const RUN = Math.random().toString(36).slice(2, 5).padEnd(3, '0');

before(async () => {
  if (!present) return;
  nats = await startNatsCluster(3);
  database = await createDatabase('sb_cluster_files');
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'sb-cluster-files-'));
  const shared = path.join(root, 'blobs');
  fs.mkdirSync(shared);
  for (const name of ['nodeA', 'nodeB']) {
    const dataDir = path.join(root, name);
    fs.mkdirSync(dataDir);
    fs.symlinkSync(shared, path.join(dataDir, 'files'));
    nodes.push(await startServer({ dataDir, args: ['--cluster', nats.url, '--node-id', name, '--store', database, '--workers', '1', '--http-port', '0', ...TEST_HEARTBEAT], startTimeoutMs: 30_000 }));
  }
});

after(async () => {
  await Promise.all(nodes.map((s) => s.stop()));
  await nats?.stop();
  if (database) await dropDatabase(database);
  if (root) fs.rmSync(root, { recursive: true, force: true });
});

async function account(node: RunningServer, name: string): Promise<Conn & { token: string }> {
  const conn = await welcomed(node.port, 20_000);
  await register(conn.c, name);
  const token = await login(conn, name);
  return { ...conn, token };
}

test('an attachment sent on one node reaches the other with the server\'s record, and downloads there', async (t) => {
  if (missingPrerequisite(t, present, SKIP)) return;
  const [a, b] = nodes as [RunningServer, RunningServer];
  const alice = await account(a, `al${RUN}`);
  const bob = await account(b, `bo${RUN}`);
  try {
    const room = `files${RUN}`;
    await ok(alice.c, { type: 'createroom', roomid: room }, 'roomlist', () => true, 15_000);
    await ok(alice.c, { type: 'join', roomid: room }, 'roomchange', (m) => m.identity === alice.id, 15_000);
    await ok(bob.c, { type: 'join', roomid: room }, 'roomchange', (m) => m.identity === bob.id, 15_000);
    const up = await upload(a.httpPort!, alice.token, 'notes.txt', Buffer.from(`shared notes ${RUN}\n`));
    assert.equal(up.status, 201);
    const id = up.json!.id as string;
    const record = { id, name: 'notes.txt', size: up.json!.size, type: 'text/plain', thumbnail: false };
    const sent = await ok(alice.c, { type: 'message', content: 'see', attachment: { id } }, 'message', (m) => m.identity === alice.id, 15_000);
    assert.deepEqual(sent.attachment, record);
    const seen = await bob.c.waitFor((m) => m.type === 'message' && m.id === sent.id, 15_000);
    assert.deepEqual(seen.attachment, record);
    const hist = await ok(bob.c, { type: 'history', roomid: room }, 'history', () => true, 15_000);
    assert.deepEqual((hist.messages as Array<{ id: string; attachment?: unknown }>).find((m) => m.id === sent.id)?.attachment, record);
    const got = await download(b.httpPort!, bob.token, `/files/${id}`);
    assert.equal(got.status, 200);
    assert.equal(got.body.toString(), `shared notes ${RUN}\n`);
    const dm = await ok(alice.c, { type: 'dm', to: bob.id, content: '', attachment: { id } }, 'dm', () => true, 15_000);
    const dmSeen = await bob.c.waitFor((m) => m.type === 'dm' && m.id === dm.id, 15_000);
    assert.deepEqual(dmSeen.attachment, record);
  } finally {
    await alice.c.close();
    await bob.c.close();
  }
});
