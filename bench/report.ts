import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import type { RunReport } from './scenarios/common';
import { SERVER_LABEL, type ServerKind } from './targets/target';

/** The machine a run was made on, as the report states it. */
export interface Machine {
  nproc: number;
  cpuModel: string;
  memGiB: number;
  node: string;
  kernel: string;
  /** 1-minute load average when the run started: other work on the machine shows here. */
  loadAvgAtStart: number;
  /** The revision measured: $BENCH_REVISION, or `git describe` of the working directory. */
  revision: string;
}

function revision(): string {
  if (process.env.BENCH_REVISION) return process.env.BENCH_REVISION;
  try {
    return execFileSync('git', ['describe', '--always', '--dirty'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'unknown';
  }
}

export function describeMachine(): Machine {
  let cpuModel = os.cpus()[0]?.model ?? 'unknown';
  try {
    cpuModel = /^model name\s*:\s*(.+)$/m.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? cpuModel;
  } catch {
    /* not Linux */
  }
  return {
    nproc: os.availableParallelism(),
    cpuModel,
    memGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    kernel: os.release(),
    loadAvgAtStart: os.loadavg()[0]!,
    revision: revision(),
  };
}

export function machineLine(m: Machine): string {
  return `${m.nproc} CPUs (${m.cpuModel}), ${m.memGiB} GiB, Linux ${m.kernel}, Node ${m.node}, revision ${m.revision}, load average ${m.loadAvgAtStart.toFixed(2)} at start`;
}

export function median(values: number[]): number {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const mid = Math.floor(v.length / 2);
  return v.length % 2 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
}

/** Medians of each metric over repeated runs of one server. */
export function medians(runs: RunReport[]): Record<string, number> {
  const keys: string[] = [];
  for (const r of runs) for (const k of Object.keys(r.metrics)) if (!keys.includes(k)) keys.push(k);
  return Object.fromEntries(keys.map((k) => [k, median(runs.map((r) => r.metrics[k] ?? NaN))]));
}

export function formatNumber(v: number | undefined): string {
  if (v === undefined || !Number.isFinite(v)) return '—';
  const a = Math.abs(v);
  if (a >= 10_000) return Math.round(v).toLocaleString('en-US');
  if (a >= 100) return v.toFixed(0);
  if (a >= 10) return v.toFixed(1);
  if (a >= 1) return v.toFixed(2);
  return v.toFixed(3);
}

/**
 * Side-by-side table (Switchboard, baseline, ratio) of median metrics, as Markdown. The ratio
 * is Switchboard / baseline: above 1 is better for rates, worse for latencies and costs.
 */
export function comparisonTable(byServer: Partial<Record<ServerKind, Record<string, number>>>, runs: number): string {
  const kinds = (Object.keys(byServer) as ServerKind[]).filter((k) => byServer[k]);
  const keys: string[] = [];
  for (const k of kinds) for (const m of Object.keys(byServer[k]!)) if (!keys.includes(m)) keys.push(m);
  const both = kinds.includes('switchboard') && kinds.includes('socketio');
  const head = ['metric' + (runs > 1 ? ` (median of ${runs})` : ''), ...kinds.map((k) => SERVER_LABEL[k])];
  if (both) head.push('ratio SB/baseline');
  const rows = keys.map((m) => {
    const cells = [m, ...kinds.map((k) => formatNumber(byServer[k]![m]))];
    if (both) {
      const a = byServer.switchboard![m];
      const b = byServer.socketio![m];
      cells.push(a !== undefined && b !== undefined && Number.isFinite(a) && Number.isFinite(b) && b !== 0 ? `${(a / b).toFixed(2)}×` : '—');
    }
    return cells;
  });
  return markdownTable(head, rows);
}

export function markdownTable(head: string[], rows: string[][]): string {
  const out = [`| ${head.join(' | ')} |`, `| ${head.map((_, i) => (i === 0 ? '---' : '---:')).join(' | ')} |`];
  for (const r of rows) out.push(`| ${r.join(' | ')} |`);
  return out.join('\n');
}

export interface BudgetCheck {
  budget: string;
  measured: string;
  met: boolean;
}

/** The budgets that apply to a Switchboard scenario, checked against its medians. */
export function budgets(scenario: string, params: Record<string, string | number>, m: Record<string, number>): BudgetCheck[] {
  const out: BudgetCheck[] = [];
  const p99 = m['latency p99 ms'];
  if (scenario === 'fanout' && params.receivers === 200 && params.placement === 'pool') {
    if (params.rate === 1000 && p99 !== undefined) out.push({ budget: 'fanout 200×1k msg/s: p99 ≤ 3 ms', measured: `p99 ${formatNumber(p99)} ms`, met: p99 <= 3 });
    if (params.rate === 10000 && p99 !== undefined) {
      const d = m['deliveries/s'] ?? 0;
      out.push({ budget: 'fanout 200×10k msg/s: ≥ 1.8M deliveries/s, p99 ≤ 50 ms', measured: `${formatNumber(d)} deliveries/s, p99 ${formatNumber(p99)} ms`, met: d >= 1.8e6 && p99 <= 50 });
    }
  }
  if (scenario === 'idle' && Number(params.clients) >= 20_000) {
    const kb = m['KB per connection'] ?? NaN;
    out.push({ budget: 'idle 20,000 connections: ≤ 4 KB RSS per connection', measured: `${formatNumber(kb)} KB`, met: kb <= 4 });
  }
  if (scenario === 'rooms' && Number(params.clients) >= 10_000 && p99 !== undefined) {
    out.push({ budget: 'rooms 10k clients: p99 ≤ 10 ms', measured: `p99 ${formatNumber(p99)} ms`, met: p99 <= 10 });
  }
  return out;
}

export function paramsLine(params: Record<string, string | number>): string {
  return Object.entries(params)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
}
