import os from 'node:os';
import { describe, runScenario, type RawOptions, type Scenario } from './cases';
import { budgets, comparisonTable, medians, paramsLine } from './report';
import type { RunReport } from './scenarios/common';
import type { ServerKind } from './targets/target';

function summaryLine(r: RunReport): string {
  const m = r.metrics;
  const pick = ['deliveries/s', 'messages in/s', 'latency p50 ms', 'latency p99 ms', 'connect rate /s', 'KB per connection', 'server CPU s'];
  const parts = pick.filter((k) => m[k] !== undefined).map((k) => `${k} ${Number.isFinite(m[k]) ? +m[k]!.toPrecision(4) : '—'}`);
  return `  ${r.label}: ${parts.join(', ')}${r.ok ? '' : '  [NOT OK]'}`;
}

/** Runs a scenario `repeat` times per server (servers alternating) and prints the comparison. */
export async function runCompared(scenario: Scenario, raw: RawOptions, servers: ServerKind[], repeat: number, log: (s: string) => void = console.log): Promise<RunReport[]> {
  const runs: RunReport[] = [];
  for (let i = 0; i < repeat; i++) {
    for (const server of servers) {
      log(`${scenario} ${paramsLine(describe(scenario, raw))} — ${server}, run ${i + 1}/${repeat}`);
      try {
        const load = os.loadavg()[0]!;
        const r = await runScenario(scenario, raw, server);
        r.metrics['machine load avg at start'] = load;
        if (server === 'socketio') r.params.client = raw['sio-client'] ?? 'socket.io-client';
        runs.push(r);
        log(summaryLine(r));
        for (const n of r.notes) log(`    note: ${n}`);
      } catch (err) {
        log(`    FAILED: ${(err as Error).message}`);
        runs.push({ scenario, server, label: server, params: describe(scenario, raw), metrics: {}, notes: [`failed: ${(err as Error).message}`], ok: false });
      }
    }
  }
  return runs;
}

export function printComparison(scenario: Scenario, raw: RawOptions, runs: RunReport[], servers: ServerKind[], log: (s: string) => void = console.log): void {
  const byServer: Partial<Record<ServerKind, Record<string, number>>> = {};
  for (const s of servers) byServer[s] = medians(runs.filter((r) => r.server === s && r.ok));
  const repeat = Math.max(...servers.map((s) => runs.filter((r) => r.server === s).length));
  log('');
  const client = runs.find((r) => r.server === 'socketio')?.params.client;
  log(`${scenario} ${paramsLine(runs.find((r) => r.server === servers[0])?.params ?? describe(scenario, raw))}${client && servers.length > 1 ? ` (baseline client: ${client})` : ''}`);
  log(comparisonTable(byServer, repeat));
  if (byServer.switchboard) {
    for (const b of budgets(scenario, runs.find((r) => r.server === 'switchboard')?.params ?? {}, byServer.switchboard)) {
      log(`budget ${b.met ? 'met' : 'NOT met'}: ${b.budget} — measured ${b.measured}`);
    }
  }
}

