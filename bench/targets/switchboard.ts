import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cmdline } from '../lib/procfs';
import { launch } from './launch';
import type { Target, TargetOptions } from './target';

const BIN = path.resolve(__dirname, '..', '..', '..', 'bin', 'switchboard.js');
const SUPERVISOR_NODE_FLAGS = ['--max-semi-space-size=1'];

export function switchboardRole(pid: number, isRoot: boolean): string {
  if (isRoot) return 'supervisor';
  const cmd = cmdline(pid);
  if (cmd.includes('/hub/')) return 'hub';
  if (cmd.includes('/worker/')) return 'worker';
  return 'other';
}

/** Starts `switchboard serve` on 127.0.0.1, port 0, in a fresh data dir, logging at warn. */
export async function startSwitchboard(opts: TargetOptions): Promise<Target> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sb-bench-'));
  const args = [
    BIN, 'serve', '--host', '127.0.0.1', '--port', '0', '--http-port', 'off', '--data-dir', dataDir,
    '--placement', opts.placement, '--max-clients', String(Math.max(10_000, opts.clients + 100)),
    '--log-level', 'warn',
    // The bench measures capacity, so it lifts the per-client abuse limits it would otherwise
    // trip on purpose (one sender at thousands of messages a second, every client from 127.0.0.1).
    '--rate-limit', '1000000', '--rate-burst', '1000000', '--account-rate-limit', '1000000',
    '--max-bytes-per-second', String(1 << 30), '--max-connections-per-address', '1000000',
  ];
  if (opts.placement === 'pool') args.push('--workers', String(opts.workers));
  else args.push('--max-processes', String(Math.max(256, opts.clients + 16)));
  args.push(...opts.serverArgs);
  let server;
  try {
    // As README's production unit starts it (the supervisor's young generation kept small).
    server = await launch([process.execPath, ...SUPERVISOR_NODE_FLAGS, ...opts.nodeArgs, ...args]);
  } catch (err) {
    fs.rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  return {
    kind: 'switchboard',
    protocol: 'ndjson',
    host: '127.0.0.1',
    port: server.port,
    rootPid: server.pid,
    roleOf: switchboardRole,
    tail: server.tail,
    exit: server.exit,
    async stop() {
      await server.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
