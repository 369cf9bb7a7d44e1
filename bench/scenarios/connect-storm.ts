import { now } from '../generator/clock';
import type { ConnectResult } from '../generator/messages';
import type { ServerUsage } from '../lib/sampler';
import { Bench, mergeConnects, sleep, split, usageMetrics, type CommonOptions, type RunReport } from './common';

export interface ConnectStormOptions extends CommonOptions {
  clients: number;
  /** Spread the first round's connects evenly over this many ms (0: as `concurrency` allows). */
  arriveOverMs: number;
}

/**
 * K clients connect (at most `concurrency` in flight per generator process, 0: all at once;
 * or arriving evenly over `arriveOverMs`, as right after a start or an outage) and wait for
 * their identity and welcome; then all close at the same instant and connect
 * again. Everyone stays in MainHall, as the protocol puts them, so every arrival and
 * departure is announced to everyone there: that work is part of what is measured.
 */
export async function connectStorm(o: ConnectStormOptions): Promise<RunReport> {
  const bench = await Bench.start(o, o.clients);
  const params = { clients: o.clients, concurrency: o.concurrency || 'all', arriveOverMs: o.arriveOverMs, placement: o.placement, workers: o.workers };
  try {
    const gens = bench.spawn(Math.max(1, Math.min(o.genProcs, o.clients)), 'gen');
    const measure = async (round: () => Promise<ConnectResult[]>): Promise<{ results: ConnectResult[]; usage?: ServerUsage; windowS: number }> => {
      const close = bench.sampler?.openWindow();
      const t0 = now();
      const results = await round();
      return { results, usage: close?.(), windowS: (now() - t0) / 1000 };
    };
    const first = await measure(() => Promise.all(split(o.clients, gens.length).map((n, i) => gens[i]!.connect(bench.connectJob(Array.from({ length: n }, () => ({})), o.concurrency, o.arriveOverMs)))));
    await sleep(1000);
    const startAt = now() + 300;
    const again = await measure(() => Promise.all(gens.map((g) => g.reconnect(startAt, o.concurrency))));
    const alive = bench.checkAlive();
    const a = mergeConnects(first.results);
    const b = mergeConnects(again.results);
    if (a.failed > 0) bench.notes.push(`connect: ${a.failed} of ${a.requested} failed: ${a.failureSamples.join('; ')}`);
    if (b.failed > 0) bench.notes.push(`reconnect: ${b.failed} of ${b.requested} failed: ${b.failureSamples.join('; ')}`);
    const metrics: Record<string, number> = {
      'connect rate /s': a.ratePerS,
      'connect identity p50 ms': a.identity.p50,
      'connect identity p99 ms': a.identity.p99,
      'connect identity max ms': a.identity.max,
      'connect welcome p50 ms': a.ready.p50,
      'connect welcome p99 ms': a.ready.p99,
      'connect welcome max ms': a.ready.max,
      'connected %': (100 * a.connected) / a.requested,
      'reconnect rate /s': b.ratePerS,
      'reconnect identity p50 ms': b.identity.p50,
      'reconnect identity p99 ms': b.identity.p99,
      'reconnect identity max ms': b.identity.max,
      'reconnected %': (100 * b.connected) / Math.max(1, b.requested),
    };
    for (const [k, v] of Object.entries(usageMetrics(first.usage, first.windowS, a.cpuS))) if (!k.startsWith('processes')) metrics[`connect: ${k}`] = v;
    for (const [k, v] of Object.entries(usageMetrics(again.usage, again.windowS, b.cpuS))) if (!k.startsWith('processes')) metrics[`reconnect: ${k}`] = v;
    metrics['generator CPU s'] = a.cpuS + b.cpuS;
    return {
      scenario: 'connect-storm',
      server: bench.target.kind,
      label: bench.label,
      params,
      metrics,
      serverUsage: again.usage,
      notes: bench.notes,
      ok: alive && a.connected > 0,
    };
  } finally {
    await bench.close();
  }
}
