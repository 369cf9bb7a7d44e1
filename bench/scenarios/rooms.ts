import { now } from '../generator/clock';
import type { ClientPlan } from '../generator/messages';
import { Bench, mergeConnects, mergeRuns, trafficJob, trafficMetrics, usageWindow, type CommonOptions, type RunReport } from './common';

export interface RoomsOptions extends CommonOptions {
  clients: number;
  rooms: number;
  /** Messages per second sent by each client; 0: burst, `inflight` per client in flight. */
  rate: number;
  inflight: number;
  durationS: number;
  warmupS: number;
  size: number;
}

/**
 * `clients` clients in `rooms` rooms (client g in room g mod rooms), each sending `rate`
 * msg/s. Clients live in `genProcs` processes, each sending from and receiving on its own.
 */
export async function rooms(o: RoomsOptions): Promise<RunReport> {
  const bench = await Bench.start(o, o.clients);
  const params = { clients: o.clients, rooms: o.rooms, rate: o.rate, duration: o.durationS, size: o.size, placement: o.placement, workers: o.workers };
  try {
    const gens = bench.spawn(o.genProcs, 'gen');
    // Client g lives in generator g mod P. The first member of each room creates it, in a
    // first pass, so the others' joins always find it.
    const plan = (g: number): ClientPlan => ({ room: `room${g % o.rooms}`, create: g < o.rooms });
    const mine = (p: number, creators: boolean): ClientPlan[] => {
      const out: ClientPlan[] = [];
      for (let g = p; g < o.clients; g += gens.length) if (g < o.rooms === creators) out.push(plan(g));
      return out;
    };
    const first = await Promise.all(gens.map((gen, p) => gen.connect(bench.connectJob(mine(p, true), o.concurrency))));
    const rest = await Promise.all(gens.map((gen, p) => gen.connect(bench.connectJob(mine(p, false), o.concurrency))));
    const c = mergeConnects([...first, ...rest].filter((x) => x.requested > 0));
    if (c.failed > 0) bench.notes.push(`${c.failed} of ${c.requested} clients failed to connect: ${c.failureSamples.join('; ')}`);

    const job = trafficJob(o, now() + 500);
    const usageAt = usageWindow(bench, job.startAt + job.warmupMs - now(), job.durationMs);
    const results = await Promise.all(
      gens.map((g, p) => {
        const count = mine(p, true).length + mine(p, false).length;
        return g.run({ ...job, senders: Array.from({ length: count }, (_, i) => i) });
      }),
    );
    const usage = await usageAt;
    const alive = bench.checkAlive();
    const r = mergeRuns(results, o.durationS);
    // Every message reaches its whole room; rooms differ in size by at most one.
    const sizes = Array.from({ length: o.rooms }, (_, k) => Math.floor(o.clients / o.rooms) + (k < o.clients % o.rooms ? 1 : 0));
    const meanAudience = sizes.reduce((a, s) => a + s * s, 0) / o.clients;
    const expected = Math.round(r.sentInWindow * meanAudience);
    if (r.skipped > 0) bench.notes.push(`senders skipped ${r.skipped} sends: sockets held > 4 MB unsent`);
    bench.noteDisconnects(r.disconnects, r.disconnectSamples);
    if (o.rate * c.connected > 0 && r.messagesInPerS < o.rate * c.connected * 0.95) {
      bench.notes.push(`offered ${o.rate * c.connected} msg/s but sent ${r.messagesInPerS.toFixed(0)} msg/s (generator lag max ${r.sendLagMaxMs.toFixed(1)} ms)`);
    }
    return {
      scenario: 'rooms',
      server: bench.target.kind,
      label: bench.label,
      params,
      metrics: trafficMetrics(r, usage, o.durationS, expected > 0 ? Math.min(100, (100 * r.deliveriesOfWindow) / expected) : 0, {
        'connect rate /s': c.ratePerS,
        'connect+join p99 ms': c.ready.p99,
      }),
      serverUsage: usage,
      notes: bench.notes,
      ok: alive && r.deliveriesOfWindow > 0,
    };
  } finally {
    await bench.close();
  }
}
