import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { RawOptions, Scenario } from './cases';
import { renderLoadChart, type ChartSeries } from './chart';
import { printComparison, runCompared } from './compare';
import { budgets, comparisonTable, formatNumber, machineLine, markdownTable, medians, paramsLine, type Machine } from './report';
import type { RunReport } from './scenarios/common';
import { SERVER_LABEL, type ServerKind } from './targets/target';

/** Where the suite writes: bench/results/ of the source tree (dist/bench/ -> ../../bench). */
export const RESULTS_DIR = path.resolve(__dirname, '..', '..', 'bench', 'results');

export interface SuiteCase {
  name: string;
  scenario: Scenario;
  raw: RawOptions;
  servers: ServerKind[];
}

const BOTH: ServerKind[] = ['switchboard', 'socketio'];
export const LOAD_SWEEP = [500, 1000, 2000, 5000, 10_000];

function sweepName(rate: number): string {
  return `fanout 200 × ${rate} msg/s`;
}

/**
 * The documented set. The baseline is driven by the lean wire-level Socket.IO client: on a
 * 2-core machine socket.io-client's per-event decode would take CPU from the server under
 * test (one case shows socket.io-client itself, for the record).
 */
export function suiteCases(quick: boolean): SuiteCase[] {
  const d = quick ? '3' : '5';
  const lean = { 'sio-client': 'lean' };
  const cases: SuiteCase[] = LOAD_SWEEP.map((rate) => ({ name: sweepName(rate), scenario: 'fanout', raw: { receivers: '200', rate: String(rate), duration: d, ...lean }, servers: BOTH }));
  cases.push(
    { name: 'fanout 200 × burst', scenario: 'fanout', raw: { receivers: '200', rate: 'burst', duration: d, ...lean }, servers: BOTH },
    {
      name: quick ? 'rooms 2,000 clients / 200 rooms × 1 msg/s' : 'rooms 10,000 clients / 1,000 rooms × 1 msg/s',
      scenario: 'rooms',
      raw: { clients: quick ? '2000' : '10000', rooms: quick ? '200' : '1000', rate: '1', duration: quick ? '5' : '10', ...lean },
      servers: BOTH,
    },
    { name: 'connect-storm 2,000', scenario: 'connect-storm', raw: { clients: quick ? '500' : '2000', ...lean }, servers: BOTH },
    { name: quick ? 'idle 4,000' : 'idle 20,000', scenario: 'idle', raw: { clients: quick ? '4000' : '20000', ...lean }, servers: BOTH },
    { name: 'fanout 20 × 1k msg/s, dedicated placement (baseline: its pool)', scenario: 'fanout', raw: { receivers: '20', rate: '1000', duration: d, placement: 'dedicated', ...lean }, servers: BOTH },
    { name: 'fanout 200 × 1k msg/s, baseline driven by socket.io-client', scenario: 'fanout', raw: { receivers: '200', rate: '1000', duration: d }, servers: ['socketio'] },
  );
  return cases;
}

/** The p99-vs-offered-load series of the fanout sweep, from a suite's runs. */
export function sweepSeries(results: SuiteResult[]): ChartSeries[] {
  return BOTH.map((server) => ({
    label: SERVER_LABEL[server],
    points: results
      .filter((r) => LOAD_SWEEP.some((rate) => r.case.name === sweepName(rate)))
      .map((r) => {
        const m = medians(r.runs.filter((x) => x.server === server && x.ok));
        return { x: Number(r.case.raw.rate), y: m['latency p99 ms'] ?? NaN, deliveries: m['deliveries/s'] ?? NaN };
      })
      .filter((p) => Number.isFinite(p.y)),
  }));
}

/**
 * Runs every case `--repeat` times per server (servers alternating), then writes
 * bench/results/latest.json (every run), latest.md (median tables) and fanout-p99.svg.
 */
export async function runSuite(raw: RawOptions, machine: Machine): Promise<boolean> {
  const repeat = Math.max(1, Number(raw.repeat ?? 3));
  const only = raw.only?.split(',');
  const cases = suiteCases(raw.quick !== undefined).filter((c) => !only || only.some((o) => c.name.includes(o)));
  const latest = path.join(RESULTS_DIR, 'latest.json');
  // With --only, the other cases of the previous suite stay as they were.
  let results: SuiteResult[] = [];
  if (only && fs.existsSync(latest)) results = (JSON.parse(fs.readFileSync(latest, 'utf8')) as SavedSuite).results;
  const started = new Date().toISOString();
  for (const c of cases) {
    const caseRaw = { ...c.raw, ...(raw.workers ? { workers: raw.workers } : {}) };
    const caseMachine = { ...machine, loadAvgAtStart: os.loadavg()[0]! };
    const runs = await runCompared(c.scenario, caseRaw, c.servers, repeat);
    printComparison(c.scenario, caseRaw, runs, c.servers);
    const entry: SuiteResult = { case: c, runs, machine: caseMachine, started: new Date().toISOString() };
    const at = results.findIndex((r) => r.case.name === c.name);
    if (at === -1) results.push(entry);
    else results[at] = entry;
  }
  const order = suiteCases(raw.quick !== undefined).map((c) => c.name);
  results.sort((a, b) => order.indexOf(a.case.name) - order.indexOf(b.case.name));
  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  const saved: SavedSuite = { started, machine, repeat, results };
  fs.writeFileSync(latest, JSON.stringify(saved, null, 2) + '\n');
  fs.writeFileSync(path.join(RESULTS_DIR, 'latest.md'), suiteMarkdown(results, machine, repeat, started));
  const series = sweepSeries(results);
  if (series.some((s) => s.points.length > 1)) fs.writeFileSync(path.join(RESULTS_DIR, 'fanout-p99.svg'), renderLoadChart(series, machine, repeat));
  console.log(`\nwrote ${path.relative(process.cwd(), RESULTS_DIR)}/latest.json, latest.md, fanout-p99.svg`);
  return cases.every((c) => results.find((r) => r.case.name === c.name)?.runs.some((x) => x.ok));
}

export interface SuiteResult {
  case: SuiteCase;
  runs: RunReport[];
  /** The machine as that case began (its load average). */
  machine?: Machine;
  started?: string;
}

export interface SavedSuite {
  started: string;
  machine: Machine;
  repeat: number;
  results: SuiteResult[];
}

/** The suite's results as Markdown: a headline table, the budgets, then each case in full. */
export function suiteMarkdown(results: SuiteResult[], machine: Machine, repeat: number, started: string): string {
  const out: string[] = [];
  const times = results.map((r) => r.started ?? started).sort();
  const loads = results.map((r) => r.machine?.loadAvgAtStart ?? machine.loadAvgAtStart);
  const revisions = [...new Set(results.map((r) => r.machine?.revision ?? machine.revision))];
  out.push(
    `Runs from ${times[0]} to ${times.at(-1)} on ${machineLine({ ...machine, revision: revisions.join(', ') }).replace(/, load average .*$/, '')}; ` +
      `1-minute load average ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)} as the cases began; medians of ${repeat} runs per server.`,
    '',
  );
  const head = ['case', 'metric', 'Switchboard', 'Socket.IO baseline', 'ratio'];
  const rows: string[][] = [];
  const checks: string[] = [];
  const headline: Record<Scenario, string[]> = {
    fanout: ['deliveries/s', 'messages in/s', 'latency p50 ms', 'latency p99 ms', 'latency p99.9 ms', 'latency max ms', 'delivered %', 'server CPU s', 'generator CPU s', 'server CPU µs per delivery', 'generator CPU µs per delivery', 'kernel irq+softirq CPU s'],
    rooms: ['deliveries/s', 'messages in/s', 'latency p50 ms', 'latency p99 ms', 'latency p99.9 ms', 'latency max ms', 'server CPU s', 'server CPU µs per delivery', 'generator CPU µs per delivery'],
    'connect-storm': ['connect rate /s', 'connect identity p99 ms', 'reconnect rate /s', 'reconnect identity p99 ms', 'connected %', 'reconnected %'],
    idle: ['KB per connection', 'RSS before MB', 'RSS after MB'],
  };
  for (const { case: c, runs } of results) {
    const sb = medians(runs.filter((r) => r.server === 'switchboard' && r.ok));
    const io = medians(runs.filter((r) => r.server === 'socketio' && r.ok));
    for (const m of headline[c.scenario]) {
      const a = sb[m];
      const b = io[m];
      const ratio = a !== undefined && b !== undefined && Number.isFinite(a) && Number.isFinite(b) && b !== 0 ? `${(a / b).toFixed(2)}×` : '—';
      rows.push([c.name, m, formatNumber(a), formatNumber(b), ratio]);
    }
    const params = runs.find((r) => r.server === 'switchboard')?.params ?? {};
    for (const b of budgets(c.scenario, params, sb)) checks.push(`| ${b.budget} | ${b.measured} | ${b.met ? 'met' : '**not met**'} |`);
  }
  out.push(markdownTable(head, rows), '');
  if (checks.length) out.push('| budget (Switchboard) | measured (median) | |', '| --- | --- | --- |', ...checks, '');
  out.push('<details><summary>Every metric of every case</summary>', '');
  for (const { case: c, runs, machine: m, started: at } of results) {
    const when = at && m ? ` — ${at}, load average ${m.loadAvgAtStart.toFixed(2)} at start` : '';
    out.push(`#### ${c.name}`, '', `\`${c.scenario} ${paramsLine(runs[0]?.params ?? {})}\`${when}`, '');
    const by: Partial<Record<ServerKind, Record<string, number>>> = {};
    for (const s of c.servers) by[s] = medians(runs.filter((r) => r.server === s && r.ok));
    out.push(comparisonTable(by, repeat), '');
    const notes = [...new Set(runs.flatMap((r) => r.notes.map((n) => `${r.label}: ${n}`)))];
    if (notes.length) out.push(...notes.map((n) => `* ${n.replace(/\n/g, ' ')}`), '');
  }
  out.push('</details>', '');
  return out.join('\n');
}

/** Re-renders latest.md and the chart from latest.json (after editing, or a newer renderer). */
export function renderSaved(): void {
  const saved = JSON.parse(fs.readFileSync(path.join(RESULTS_DIR, 'latest.json'), 'utf8')) as SavedSuite;
  fs.writeFileSync(path.join(RESULTS_DIR, 'latest.md'), suiteMarkdown(saved.results, saved.machine, saved.repeat, saved.started));
  fs.writeFileSync(path.join(RESULTS_DIR, 'fanout-p99.svg'), renderLoadChart(sweepSeries(saved.results), saved.machine, saved.repeat));
  console.log(`wrote ${RESULTS_DIR}/latest.md, fanout-p99.svg`);
}
