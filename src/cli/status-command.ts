import { parseArgs } from 'node:util';
import type { ProcessStatus, StatusReport } from '../supervisor/status';
import { askServer } from './control-client';

const USAGE = 'usage: switchboard status [--data-dir DIR] [--json]';

/**
 * `switchboard status`: what the server running at a data dir is doing, read from its control
 * socket: processes, listeners, counts and rates; `--json` prints the reply as is, for scripts.
 */
export async function runStatus(argv: string[]): Promise<number> {
  const values = parseFlags(argv, USAGE);
  const report = (await askServer(values['data-dir'] ?? './data', { op: 'status' })) as StatusReport;
  process.stdout.write(values.json ? JSON.stringify(report, null, 2) + '\n' : formatStatus(report));
  return 0;
}

/** `--data-dir DIR` and `--json`, nothing else; a usage error otherwise. */
export function parseFlags(argv: string[], usage: string): { 'data-dir'?: string; json?: boolean } {
  try {
    return parseArgs({ args: argv, options: { 'data-dir': { type: 'string' }, json: { type: 'boolean' } }, strict: true }).values;
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${usage}`);
  }
}

/** The status report as text for a terminal. */
export function formatStatus(r: StatusReport): string {
  const lines = [
    `Switchboard (pid ${r.pid}) up ${duration(r.uptimeMs)}, data dir ${r.dataDir}, ${r.placement} placement${r.nodeId ? `, cluster node ${r.nodeId}` : ''}`,
    `Clients: ${r.clients}   Rooms: ${r.rooms ?? '?'}   Sessions in the chat: ${r.sessions ?? '?'}`,
    `Messages: ${r.rates.messagesInPerSecond}/s in, ${r.rates.messagesOutPerSecond}/s out (last ${Math.round(r.rates.windowMs / 1000)} s)`,
    '',
    'Listeners:',
    ...r.listeners.map((l) => `  ${l.kind.padEnd(8)} ${l.address}`),
    '',
  ];
  const rows = [['ROLE', 'PID', 'UPTIME', 'CLIENTS', 'RSS', 'CPU%', 'IN/S', 'OUT/S'], ...r.processes.map(row)];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((cells) => cells[i]!.length)));
  for (const cells of rows) lines.push(cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd());
  return lines.join('\n') + '\n';
}

function row(p: ProcessStatus): string[] {
  const opt = (n: number | null, show: (n: number) => string): string => (n === null ? '-' : show(n));
  return [
    p.id === null ? p.role : `${p.role} ${p.id}${p.ready ? '' : ' (starting)'}`,
    opt(p.pid, String),
    duration(p.uptimeMs),
    opt(p.clients, String),
    opt(p.rssBytes, (b) => `${(b / 1024 / 1024).toFixed(1)} MB`),
    opt(p.cpuPercent, (c) => c.toFixed(1)),
    opt(p.messagesInPerSecond, String),
    opt(p.messagesOutPerSecond, String),
  ];
}

/** 93784000 -> "1d 2h 3m"; 65000 -> "1m 5s". */
export function duration(ms: number): string {
  const s = Math.floor(ms / 1000);
  const [d, h, m, sec] = [Math.floor(s / 86400), Math.floor((s % 86400) / 3600), Math.floor((s % 3600) / 60), s % 60];
  if (d > 0) return `${d}d ${h}h ${m}m`;
  if (h > 0) return `${h}h ${m}m`;
  if (m > 0) return `${m}m ${sec}s`;
  return `${sec}s`;
}
