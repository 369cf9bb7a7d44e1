/**
 * What an upgrade costs with many clients: `npm run build && node dist/bench/upgrade-cost.js [N]`.
 * Starts the real server (pool, 2 workers), connects N plain TCP clients (each kept open),
 * runs `switchboard upgrade` twice, and after each checks that every client still has its
 * connection and is served (a ping answered by a new worker). Prints one JSON line per upgrade:
 * its duration (new workers' start included), sessions moved, closed, still open, answered.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { TestClient } from '../test/helpers/client';
import { startServer } from '../test/helpers/server';

const N = Number(process.argv[2] ?? 1000);
const BIN = path.resolve(__dirname, '..', '..', 'bin', 'switchboard.js');

async function main(): Promise<void> {
  const server = await startServer({ args: ['--workers', '2', '--max-connections-per-address', String(N + 10), '--max-clients', String(N + 10)] });
  try {
    const clients: TestClient[] = [];
    for (let i = 0; i < N; i++) clients.push(await TestClient.connect(server.port, { core: true }));
    const ports = clients.map((c) => c.localPort);
    for (const c of clients) await c.waitFor((m) => m.type === 'roomcontents', 30_000);
    for (let round = 1; round <= 2; round++) {
      const run = spawnSync(process.execPath, [BIN, 'upgrade', '--data-dir', server.dataDir, '--json'], { encoding: 'utf8', timeout: 120_000 });
      const result = JSON.parse(run.stdout) as { durationMs: number; sessionsMoved: number; sessionsClosed: Record<string, number> };
      // A core client's `who` of its room is answered by whichever worker now holds it.
      for (const c of clients) c.send({ type: 'who', roomid: 'MainHall' });
      let answered = 0;
      for (const c of clients) if (await c.waitFor((m) => m.type === 'roomcontents', 30_000).then(() => true, () => false)) answered++;
      const open = clients.filter((c, i) => c.isOpen && c.localPort === ports[i]).length;
      process.stdout.write(JSON.stringify({ round, clients: N, durationMs: result.durationMs, moved: result.sessionsMoved, closed: result.sessionsClosed, stillOpen: open, answered }) + '\n');
    }
    for (const c of clients) c.socket.destroy();
  } finally {
    await server.stop();
  }
}

void main();
