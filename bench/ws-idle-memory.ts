/**
 * Memory of an idle WebSocket session beside an idle TCP one: `npm run bench:ws-memory [-- N]`.
 * For each transport it starts the real server with one worker, opens N welcomed clients that
 * then say nothing, and reports the worker's RSS growth per connection (KB), after a settle.
 * A fresh server per transport, so one's garbage does not count for the other.
 */
import fs from 'node:fs';
import { TestClient } from '../test/helpers/client';
import { startServer, type RunningServer } from '../test/helpers/server';
import { WsTestClient } from '../test/helpers/ws-client';

const N = Number(process.argv[2] ?? 2000);
const BATCH = 100;
const SETTLE_MS = 3000;

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

async function measure(kind: 'tcp' | 'websocket'): Promise<{ baseKb: number; perConnKb: number }> {
  const server = await startServer({
    args: ['--workers', '1', '--http-port', '0', '--max-connections-per-address', String(N + 100), '--max-clients', String(N + 100), '--log-level', 'debug'],
  });
  try {
    const worker = workerPid(server);
    await sleep(SETTLE_MS);
    const baseKb = rssKb(worker);
    const clients: Array<{ close(): Promise<unknown> }> = [];
    for (let i = 0; i < N; i += BATCH) {
      const batch = Array.from({ length: Math.min(BATCH, N - i) }, () =>
        kind === 'tcp' ? TestClient.welcomed(server.port).then((w) => w.client) : WsTestClient.welcomed(`ws://127.0.0.1:${server.httpPort}/ws`).then((w) => w.client),
      );
      clients.push(...(await Promise.all(batch)));
    }
    await sleep(SETTLE_MS);
    const loadedKb = rssKb(worker);
    await Promise.all(clients.map((c) => c.close()));
    return { baseKb, perConnKb: (loadedKb - baseKb) / N };
  } finally {
    await server.stop();
  }
}

async function main(): Promise<void> {
  console.log(`${N} idle welcomed clients per transport, one worker (${process.platform}, node ${process.version})`);
  for (const kind of ['tcp', 'websocket'] as const) {
    const { baseKb, perConnKb } = await measure(kind);
    console.log(`${kind.padEnd(10)} worker RSS idle ${baseKb} KB, +${perConnKb.toFixed(2)} KB per connection`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
