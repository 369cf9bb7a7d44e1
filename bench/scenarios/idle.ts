import type { ClientPlan } from '../generator/messages';
import { Bench, mergeConnects, sleep, type CommonOptions, type RunReport } from './common';

export interface IdleOptions extends CommonOptions {
  clients: number;
  /** Clients per room after connecting (0: all stay in MainHall). */
  roomSize: number;
  /** Wait after connecting before reading memory, s. */
  settleS: number;
}

/**
 * C idle clients: RSS of every server process before any client and after all C are
 * connected and settled; the difference over C is the memory one connection costs.
 * Clients move on from MainHall into rooms of `roomSize` (by default), since with all of
 * them in MainHall every arrival is announced to all earlier ones (quadratic traffic).
 */
export async function idle(o: IdleOptions): Promise<RunReport> {
  const bench = await Bench.start(o, o.clients);
  const params = { clients: o.clients, roomSize: o.roomSize, placement: o.placement, workers: o.workers };
  try {
    if (!bench.sampler) throw new Error('idle needs the server processes: start it from the bench, or give --server-pid');
    const gens = bench.spawn(o.genProcs, 'gen');
    await sleep(o.settleS * 1000);
    const before = bench.sampler.rssByProcess();
    const beforeKb = before.reduce((a, p) => a + p.rssKb, 0);
    const plan = (g: number, create: boolean): ClientPlan => (o.roomSize > 0 ? { room: `idle${Math.floor(g / o.roomSize)}`, create } : {});
    const mine = (p: number, creators: boolean): ClientPlan[] => {
      const out: ClientPlan[] = [];
      for (let g = p; g < o.clients; g += gens.length) {
        const creator = o.roomSize > 0 && g % o.roomSize === 0;
        if (creator === creators) out.push(plan(g, creator));
      }
      return out;
    };
    const first = await Promise.all(gens.map((gen, p) => gen.connect(bench.connectJob(mine(p, true), o.concurrency))));
    const rest = await Promise.all(gens.map((gen, p) => gen.connect(bench.connectJob(mine(p, false), o.concurrency))));
    const c = mergeConnects([...first, ...rest].filter((r) => r.requested > 0));
    await sleep(o.settleS * 1000);
    const after = bench.sampler.rssByProcess();
    const afterKb = after.reduce((a, p) => a + p.rssKb, 0);
    const alive = bench.checkAlive();
    if (c.failed > 0) bench.notes.push(`${c.failed} of ${c.requested} clients failed to connect: ${c.failureSamples.join('; ')}`);
    const roleSum = (list: typeof before, role: string): number => list.filter((p) => p.role === role).reduce((a, p) => a + p.rssKb, 0);
    const roles = [...new Set([...before, ...after].map((p) => p.role))].sort();
    const metrics: Record<string, number> = {
      'connected clients': c.connected,
      'RSS before MB': beforeKb / 1024,
      'RSS after MB': afterKb / 1024,
      'KB per connection': c.connected > 0 ? (afterKb - beforeKb) / c.connected : NaN,
    };
    for (const role of roles) metrics[`KB per connection: ${role}`] = c.connected > 0 ? (roleSum(after, role) - roleSum(before, role)) / c.connected : NaN;
    metrics['connect rate /s'] = c.ratePerS;
    metrics['connect+join p99 ms'] = c.ready.p99;
    metrics['generator RSS MB'] = gens.reduce((a, g) => a + g.rssKb(), 0) / 1024;
    return { scenario: 'idle', server: bench.target.kind, label: bench.label, params, metrics, notes: bench.notes, ok: alive && c.connected > 0 };
  } finally {
    await bench.close();
  }
}
