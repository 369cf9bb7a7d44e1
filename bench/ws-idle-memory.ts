/**
 * Memory of an idle WebSocket session beside an idle TCP one: `npm run bench:ws-memory [-- N [BATCH]]`.
 * For each transport it starts the real server with one worker, opens N welcomed clients that
 * then say nothing, and reports per connection: the worker's live JS heap (from two heap
 * snapshots, which collect garbage first: exact, not disturbed by GC timing) and its RSS
 * growth before that (what the OS sees, including heap not yet collected or given back: it
 * grows with the connect burst, BATCH clients connecting at once). A fresh server
 * per transport, so one's garbage does not count for the other.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TestClient } from '../test/helpers/client';
import { startServer, type RunningServer } from '../test/helpers/server';
import { WsTestClient } from '../test/helpers/ws-client';

const N = Number(process.argv[2] ?? 1000);
const BATCH = Number(process.argv[3] ?? 50);
const SETTLE_MS = 2000;

function rssKb(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
}

function workerPid(server: RunningServer): number {
  const pid = server.logs.find((l) => l.role === 'worker' && typeof l.pid === 'number')?.pid;
  if (pid === undefined) throw new Error('no worker in the log');
  return pid;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Asks the worker for a heap snapshot (SIGUSR2, see NODE_OPTIONS below) and sums its objects' sizes. */
async function liveHeapBytes(pid: number, dir: string): Promise<number> {
  const before = new Set(fs.readdirSync(dir));
  process.kill(pid, 'SIGUSR2');
  const deadline = Date.now() + 60_000;
  for (;;) {
    const fresh = fs.readdirSync(dir).filter((f) => !before.has(f) && f.endsWith('.heapsnapshot'));
    if (fresh.length > 0) {
      const file = path.join(dir, fresh[0]!);
      // Written in pieces: read again until it is whole JSON.
      const snap = await readWhole(file, deadline);
      fs.rmSync(file);
      const fields = snap.snapshot.meta.node_fields;
      const selfSize = fields.indexOf('self_size');
      let total = 0;
      for (let i = selfSize; i < snap.nodes.length; i += fields.length) total += snap.nodes[i]!;
      return total;
    }
    if (Date.now() > deadline) throw new Error('no heap snapshot from the worker');
    await sleep(200);
  }
}

interface HeapSnapshot {
  snapshot: { meta: { node_fields: string[] } };
  nodes: number[];
}

/** The snapshot once it is written whole (it is written in pieces). */
async function readWhole(file: string, deadline: number): Promise<HeapSnapshot> {
  for (;;) {
    try {
      return JSON.parse(fs.readFileSync(file, 'utf8')) as HeapSnapshot;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await sleep(500);
    }
  }
}

async function measure(kind: 'tcp' | 'websocket'): Promise<{ heapKb: number; rssKb: number }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sb-ws-memory-'));
  const server = await startServer({
    args: ['--workers', '1', '--http-port', '0', '--max-connections-per-address', String(N + 100), '--max-clients', String(N + 100), '--log-level', 'debug'],
    env: { NODE_OPTIONS: `--heapsnapshot-signal=SIGUSR2 --diagnostic-dir=${dir}` },
  });
  try {
    const worker = workerPid(server);
    await sleep(SETTLE_MS);
    const heap0 = await liveHeapBytes(worker, dir);
    const rss0 = rssKb(worker);
    const clients: Array<{ close(): Promise<unknown> }> = [];
    for (let i = 0; i < N; i += BATCH) {
      const batch = Array.from({ length: Math.min(BATCH, N - i) }, () =>
        kind === 'tcp' ? TestClient.welcomed(server.port).then((w) => w.client) : WsTestClient.welcomed(`ws://127.0.0.1:${server.httpPort}/ws`).then((w) => w.client),
      );
      clients.push(...(await Promise.all(batch)));
    }
    await sleep(SETTLE_MS);
    const rss1 = rssKb(worker);
    const heap1 = await liveHeapBytes(worker, dir);
    await Promise.all(clients.map((c) => c.close()));
    return { heapKb: (heap1 - heap0) / 1024 / N, rssKb: (rss1 - rss0) / N };
  } finally {
    await server.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  console.log(`${N} idle welcomed clients per transport, ${BATCH} connecting at a time, one worker (${process.platform}, node ${process.version}); per connection:`);
  for (const kind of ['tcp', 'websocket'] as const) {
    const m = await measure(kind);
    console.log(`${kind.padEnd(10)} live heap +${m.heapKb.toFixed(2)} KB, RSS +${m.rssKb.toFixed(2)} KB`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
