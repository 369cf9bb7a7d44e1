import fs from 'node:fs';
import { common, num, type RawOptions } from './cases';
import { formatNumber, markdownTable, medians, paramsLine, type Machine } from './report';
import { clusterRepeat, type ClusterOptions } from './scenarios/cluster';
import type { RunReport } from './scenarios/common';

/**
 * `npm run bench -- cluster`: options, the repeats, and the report (docs/PERFORMANCE.md,
 * "Cluster"). The runs themselves are in scenarios/cluster.ts.
 */

export const CLUSTER_USAGE = `  cluster        --nodes N (3) --receivers N (60) --rate MSG/S|burst (200) --duration S (5) --warmup S (1)
                 --size BYTES (64) --workers N (1 per node) [--inflight N (100), for burst]
                 --log-seconds S (2) --log-window N (64) --apply-entries N (20000)
                 --ingest-batches B,B,.. (1,10,100; none: skip) --ingest-seconds S (1)
                 One fanout against a single node, then the same through N nodes over a
                 3-server NATS JetStream cluster (receivers spread over the nodes, the sender on
                 the first); then the bounds alone: the log's commit and read rates, a hub's
                 apply rate, PostgreSQL ingest. --repeat N (1): medians.`;

/** The cluster case's options from the command line; throws on a bad value. */
export function clusterOptions(raw: RawOptions): ClusterOptions {
  const receivers = num(raw, 'receivers', 60);
  const nodes = num(raw, 'nodes', 3);
  if (!Number.isInteger(nodes) || nodes < 1) throw new Error(`--nodes needs a whole number >= 1, got "${raw.nodes}"`);
  const batches = raw['ingest-batches'] ?? '1,10,100';
  const ingestBatches = batches === 'none' ? [] : batches.split(',').map((b) => Number(b));
  if (ingestBatches.some((b) => !Number.isInteger(b) || b < 1)) throw new Error(`--ingest-batches is a list of whole numbers >= 1 or none, got "${batches}"`);
  return {
    ...common({ workers: '1', ...raw }, 'switchboard', receivers + 1, { genProcs: 1, concurrency: 50 }),
    nodes,
    receivers,
    rate: raw.rate === 'burst' ? 0 : num(raw, 'rate', 200),
    inflight: num(raw, 'inflight', 100),
    durationS: num(raw, 'duration', 5),
    warmupS: num(raw, 'warmup', 1),
    size: num(raw, 'size', 64),
    logSeconds: num(raw, 'log-seconds', 2),
    logWindow: Math.max(1, num(raw, 'log-window', 64)),
    applyEntries: Math.max(1, num(raw, 'apply-entries', 20_000)),
    ingestBatches,
    ingestSeconds: num(raw, 'ingest-seconds', 1),
  };
}

/** Metrics the single node and the cluster both have, shown side by side with the ratio. */
const SIDE_BY_SIDE = [
  'deliveries/s', 'messages in/s', 'latency p50 ms', 'latency p99 ms', 'latency p99.9 ms', 'latency max ms', 'delivered %',
  'server CPU s', 'server CPU µs per delivery', 'CPU s: hub', 'CPU s: worker', 'CPU s: supervisor', 'generator CPU µs per delivery',
  'other processes CPU s', 'machine load avg at start',
];

/** The report: one table per part, medians over the repeats. */
export function clusterReport(runs: RunReport[], repeats: number): string {
  const of = (label: string): Record<string, number> => medians(runs.filter((r) => r.ok && r.label === label));
  const single = of('single node');
  const clusterLabel = runs.find((r) => r.label.endsWith('-node cluster'))?.label ?? 'cluster';
  const cluster = of(clusterLabel);
  const parts = of('parts');
  const head = repeats > 1 ? ` (median of ${repeats})` : '';
  const side = SIDE_BY_SIDE.filter((k) => k in single || k in cluster).map((k) => {
    const a = cluster[k];
    const b = single[k];
    const ratio = a !== undefined && b !== undefined && Number.isFinite(a) && Number.isFinite(b) && b !== 0 ? `${(a / b).toFixed(2)}×` : '—';
    return [k, formatNumber(b), formatNumber(a), ratio];
  });
  const rest = (m: Record<string, number>, skip: string[]): string[][] => Object.keys(m).filter((k) => !skip.includes(k)).map((k) => [k, formatNumber(m[k])]);
  const clusterOnly = rest(cluster, [...Object.keys(single), ...SIDE_BY_SIDE]).filter(([k]) => /^(node\d|NATS|server\+NATS|latency on)/.test(k!));
  return [
    markdownTable([`metric${head}`, 'single node', clusterLabel, 'ratio cluster/single'], side),
    '',
    markdownTable([`${clusterLabel}: per node and NATS${head}`, 'value'], clusterOnly),
    '',
    markdownTable([`bounds, measured alone${head}`, 'value'], rest(parts, [])),
  ].join('\n');
}

/** Runs the cluster case `--repeat` times and prints each run and the medians; true if a run flowed. */
export async function runCluster(raw: RawOptions, machine: Machine, log: (s: string) => void = console.log): Promise<boolean> {
  const o = clusterOptions(raw);
  const repeats = Math.max(1, num(raw, 'repeat', 1));
  const runs: RunReport[] = [];
  for (let i = 0; i < repeats; i++) {
    log(`cluster nodes=${o.nodes} receivers=${o.receivers} rate=${o.rate || 'burst'} duration=${o.durationS} workers=${o.workers} — run ${i + 1}/${repeats}`);
    try {
      const reports = await clusterRepeat(o, log);
      for (const r of reports) {
        runs.push(r);
        const m = r.metrics;
        log(`  ${r.label}: ${['deliveries/s', 'latency p50 ms', 'latency p99 ms', 'server CPU µs per delivery', 'log commits/s, one at a time', 'hub apply entries/s'].filter((k) => m[k] !== undefined).map((k) => `${k} ${formatNumber(m[k])}`).join(', ')}${r.ok ? '' : '  [NOT OK]'}`);
        for (const n of r.notes) log(`    note: ${n}`);
      }
    } catch (err) {
      log(`    FAILED: ${(err as Error).message}`);
    }
  }
  log('');
  log(`cluster ${paramsLine(runs.find((r) => r.label !== 'single node')?.params ?? {})}`);
  log(clusterReport(runs, repeats));
  if (raw.json) fs.writeFileSync(raw.json, JSON.stringify({ machine, argv: process.argv.slice(2), runs }, null, 2));
  return runs.some((r) => r.ok && r.label !== 'single node' && r.label !== 'parts');
}
