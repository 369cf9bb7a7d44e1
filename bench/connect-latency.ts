/**
 * Connect latency and idle process memory per placement: `npm run bench:connect [-- N]`.
 * For each configuration it starts the real server, connects N clients one after another
 * (each kept open), and times TCP connect -> welcome (`roomcontents`, the last welcome line).
 * Reports medians and p90, and the RSS of the supervisor, hub and an idle worker.
 */
import fs from 'node:fs';
import { startServer, type RunningServer } from '../test/helpers/server';
import { TestClient } from '../test/helpers/client';

const N = Number(process.argv[2] ?? 20);

const configs: Array<{ name: string; args: string[] }> = [
  { name: 'pool, 2 workers', args: ['--placement', 'pool', '--workers', '2'] },
  { name: 'dedicated, 2 spares', args: ['--placement', 'dedicated', '--spares', '2'] },
  { name: 'dedicated, 0 spares', args: ['--placement', 'dedicated', '--spares', '0'] },
];

function rssKb(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
}

function pidsOf(server: RunningServer, role: string): number[] {
  const pids = new Set<number>();
  for (const l of server.logs) if (l.role === role && typeof l.pid === 'number') pids.add(l.pid);
  return [...pids].filter((pid) => fs.existsSync(`/proc/${pid}`));
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

async function measure(name: string, args: string[]): Promise<void> {
  const server = await startServer({ args: [...args, '--log-level', 'debug'] });
  const idle = pidsOf(server, 'worker');
  const idleWorkerRss = idle.length ? rssKb(idle[0]!) : 0;
  const times: number[] = [];
  const clients: TestClient[] = [];
  for (let i = 0; i < N; i++) {
    const t0 = process.hrtime.bigint();
    const { client } = await TestClient.welcomed(server.port);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    clients.push(client);
    // Spares refill between connects, as they would between real users arriving.
    if (args.includes('dedicated')) await new Promise((r) => setTimeout(r, 400));
  }
  const sorted = [...times].sort((a, b) => a - b);
  const hubPid = pidsOf(server, 'hub')[0];
  console.log(
    `${name.padEnd(22)} connect->welcome median ${quantile(sorted, 0.5).toFixed(2)} ms, p90 ${quantile(sorted, 0.9).toFixed(2)} ms, max ${sorted.at(-1)!.toFixed(2)} ms | RSS: supervisor ${rssKb(server.pid)} KB, hub ${hubPid ? rssKb(hubPid) : 0} KB, idle worker ${idleWorkerRss} KB`,
  );
  await Promise.all(clients.map((c) => c.close()));
  await server.stop();
}

async function main(): Promise<void> {
  console.log(`${N} sequential connects per configuration (${process.platform}, node ${process.version})`);
  for (const c of configs) await measure(c.name, c.args);
}

void main();
