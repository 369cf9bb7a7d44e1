import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { controlSocketPath } from '../ipc/paths';
import { ControlRefused, askServer } from './control-client';
import { fileUpgradeRequest, readPidRecord, takeUpgradeAnswer } from '../supervisor/run-records';
import type { UpgradeResult } from '../supervisor/upgrade';

/** How long the command waits for the server's answer by default (s): above the upgrade's own time limits. */
const DEFAULT_TIMEOUT_S = 90;

/**
 * `switchboard upgrade [--data-dir D] [--timeout S] [--json]`: asks the server running on data
 * dir D (default ./data, as `status`) to replace its workers by ones started from the code on
 * disk now, waits for the result and prints it. Asked through the control socket (op
 * `upgrade`); a server without one (an older version) gets SIGUSR2, its supervisor's pid read
 * from D/run/supervisor.pid, and answers through D/run/upgrade-results/. Exit code 0 when the
 * upgrade was done, 1 when it was refused or failed (the old workers then serve on), 2 for bad
 * arguments.
 */
export async function runUpgrade(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { 'data-dir': { type: 'string' }, timeout: { type: 'string' }, json: { type: 'boolean', default: false } } });
  const dataDir = values['data-dir'] ?? './data';
  const timeoutS = values.timeout === undefined ? DEFAULT_TIMEOUT_S : Number(values.timeout);
  if (!Number.isFinite(timeoutS) || timeoutS <= 0) {
    process.stderr.write('switchboard upgrade: --timeout is a number of seconds above 0\n');
    return 2;
  }
  const print = (result: UpgradeResult): number => {
    process.stdout.write(values.json ? JSON.stringify(result) + '\n' : describe(result));
    return result.ok ? 0 : 1;
  };
  if (fs.existsSync(controlSocketPath(dataDir))) {
    try {
      return print((await askServer(dataDir, { op: 'upgrade' }, timeoutS * 1000)) as UpgradeResult);
    } catch (err) {
      if (!(err instanceof ControlRefused)) throw err;
      // A control socket of a version without the op: the signal below still works.
      if (err.code === 'UNKNOWN_OP') return viaSignal(dataDir, timeoutS, print);
      process.stderr.write(`switchboard upgrade: ${err.code}: ${err.message}\n`);
      return 1;
    }
  }
  return viaSignal(dataDir, timeoutS, print);
}

/** SIGUSR2 to the supervisor recorded in D/run/supervisor.pid; its answer comes as a file. */
async function viaSignal(dataDir: string, timeoutS: number, print: (r: UpgradeResult) => number): Promise<number> {
  const pid = readPidRecord(dataDir);
  if (pid === null || !isRunning(pid)) {
    process.stderr.write(`switchboard upgrade: no running server recorded in ${dataDir}/run/supervisor.pid\n`);
    return 1;
  }
  const nonce = randomUUID();
  fileUpgradeRequest(dataDir, nonce);
  process.kill(pid, 'SIGUSR2');
  const deadline = Date.now() + timeoutS * 1000;
  for (;;) {
    const result = takeUpgradeAnswer(dataDir, nonce);
    if (result) return print(result);
    if (Date.now() > deadline || !isRunning(pid)) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  process.stderr.write(`switchboard upgrade: no answer from the server (pid ${pid}) within ${timeoutS} s; see its log\n`);
  return 1;
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The result for a person, e.g. `upgrade done in 412 ms: 2 workers replaced, 9 sessions moved, 1 closed (tls 1)`. */
export function describe(r: UpgradeResult): string {
  if (!r.ok) return `upgrade refused or failed: ${r.error ?? 'unknown reason'}\n`;
  const closedTotal = Object.values(r.sessionsClosed).reduce((a, b) => a + b, 0);
  const byKind = Object.entries(r.sessionsClosed).map(([k, n]) => `${k} ${n}`).join(', ');
  return (
    `upgrade done in ${r.durationMs} ms: ${r.workersReplaced} workers replaced (pids ${r.oldPids.join(' ')} -> ${r.newPids.join(' ')}), ` +
    `${r.sessionsMoved} sessions moved, ${closedTotal} closed${closedTotal > 0 ? ` (${byKind})` : ''}\n`
  );
}
