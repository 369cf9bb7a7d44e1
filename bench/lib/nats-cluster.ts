import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/**
 * A real 3-server NATS cluster with JetStream on free loopback ports, in a temporary
 * directory, for the tests (test/helpers/nats-cluster.ts) and the cluster benchmark. Each
 * server is its own child process, stopped by its pid; the directory is removed at the end.
 * Nothing listens beyond 127.0.0.1.
 */

/** Where the Debian package installs the server; `NATS_SERVER` overrides. */
export const NATS_SERVER_BIN = process.env.NATS_SERVER ?? '/usr/sbin/nats-server';

/** True when a nats-server binary is installed (tests skip visibly without it, fail under CI). */
export function natsServerPresent(): boolean {
  try {
    fs.accessSync(NATS_SERVER_BIN, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export interface NatsServerProcess {
  name: string;
  clientPort: number;
  clusterPort: number;
  process: ChildProcess;
  /** Sends `signal` (default SIGTERM) to this server alone and waits for it to exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export interface NatsCluster {
  servers: NatsServerProcess[];
  /** `nats://127.0.0.1:P1,nats://127.0.0.1:P2,...`: the `--cluster` value. */
  url: string;
  dir: string;
  /** Stops every server still running (by pid) and removes the directory. */
  stop(): Promise<void>;
}

const started = new Set<ChildProcess>();
process.on('exit', () => {
  for (const p of started) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
});

/** Ports the OS says are free now (a small race remains; a clash fails the start loudly). */
async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: n }, () => new Promise<net.Server>((resolve, reject) => {
      const s = net.createServer();
      s.once('error', reject);
      s.listen(0, '127.0.0.1', () => resolve(s));
    })),
  );
  const ports = servers.map((s) => (s.address() as net.AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  return ports;
}

/**
 * Starts `size` servers (default 3) as one cluster, then waits (up to `timeoutMs`) until
 * JetStream answers on every one of them: the meta leader is elected and streams can be made.
 */
export async function startNatsCluster(size = 3, timeoutMs = 30_000): Promise<NatsCluster> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sb-nats-'));
  const ports = await freePorts(size * 2);
  const clusterPorts = ports.slice(size);
  const servers: NatsServerProcess[] = [];
  for (let i = 0; i < size; i++) {
    const name = `n${i + 1}`;
    const routes = clusterPorts.filter((_, j) => j !== i).map((p) => `nats://127.0.0.1:${p}`).join(',');
    const args = ['-a', '127.0.0.1', '-p', String(ports[i]), '-n', name, '-js', '-sd', path.join(dir, name), '--cluster_name', 'sbtest', '--cluster', `nats://127.0.0.1:${clusterPorts[i]}`, '--routes', routes];
    const proc = spawn(NATS_SERVER_BIN, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    started.add(proc);
    let log = '';
    proc.stderr!.setEncoding('utf8');
    proc.stderr!.on('data', (c: string) => {
      // Enough to explain a failed start; a long run must not grow it without bound.
      if (log.length < 64 * 1024) log += c;
    });
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    let stopping = false;
    servers.push({
      name,
      clientPort: ports[i]!,
      clusterPort: clusterPorts[i]!,
      process: proc,
      async stop(signal: NodeJS.Signals = 'SIGTERM') {
        stopping = true;
        if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
        const killer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(killer);
        started.delete(proc);
      },
    });
    proc.once('exit', (code, sig) => {
      if (!stopping) process.stderr.write(`nats-server ${name} exited unasked (${code ?? sig}): ${log}\n`);
    });
  }
  const cluster: NatsCluster = {
    servers,
    dir,
    url: servers.map((s) => `nats://127.0.0.1:${s.clientPort}`).join(','),
    async stop() {
      await Promise.all(servers.map((s) => s.stop()));
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await waitForJetStream(cluster, timeoutMs);
  } catch (err) {
    await cluster.stop();
    throw err;
  }
  return cluster;
}

/** Polls `$JS.API.INFO` on each server until all answer without error (a meta leader exists). */
async function waitForJetStream(cluster: NatsCluster, timeoutMs: number): Promise<void> {
  const { connect } = await import('@nats-io/transport-node');
  const deadline = Date.now() + timeoutMs;
  for (const s of cluster.servers) {
    for (;;) {
      try {
        const nc = await connect({ servers: `nats://127.0.0.1:${s.clientPort}`, timeout: 1000, reconnect: false });
        try {
          const reply = await nc.request('$JS.API.INFO', undefined, { timeout: 1000 });
          const info = reply.json<{ error?: unknown; cluster?: { leader?: string } }>();
          if (!info.error) break;
        } finally {
          await nc.close();
        }
      } catch {
        // not up yet, or no meta leader yet
      }
      if (Date.now() > deadline) throw new Error(`NATS JetStream not ready within ${timeoutMs} ms (${s.name})`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}
