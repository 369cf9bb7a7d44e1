import { now } from '../generator/clock';
import { Bench, mergeConnects, mergeRuns, split, trafficJob, trafficMetrics, usageWindow, type CommonOptions, type RunReport } from './common';

export interface FanoutOptions extends CommonOptions {
  /** Receivers in the room (the sender is one more member). */
  receivers: number;
  /** Sender messages per second; 0: burst (closed loop, `inflight` messages at most in flight). */
  rate: number;
  inflight: number;
  durationS: number;
  warmupS: number;
  /** Content bytes per message. */
  size: number;
}

const ROOM = 'fanout1';

/**
 * N receivers and one sender in one room. The sender (its own process) sends at `rate` for
 * warm-up + duration; every member (the sender too) stamps latency at receipt.
 */
export async function fanout(o: FanoutOptions): Promise<RunReport> {
  const bench = await Bench.start(o, o.receivers + 1);
  const params = { receivers: o.receivers, rate: o.rate || `burst (${o.inflight} in flight)`, duration: o.durationS, size: o.size, placement: o.placement, workers: o.workers };
  try {
    const [sender] = bench.spawn(1, 'sender');
    const receivers = bench.spawn(Math.max(1, Math.min(o.genProcs, o.receivers)), 'recv');
    const created = await sender!.connect(bench.connectJob([{ room: ROOM, create: true }], 1));
    if (created.connected !== 1) throw new Error(`sender could not connect: ${created.failures.samples.join('; ')}`);
    const connects = await Promise.all(
      split(o.receivers, receivers.length).map((n, i) => receivers[i]!.connect(bench.connectJob(Array.from({ length: n }, () => ({ room: ROOM })), o.concurrency))),
    );
    const c = mergeConnects(connects);
    if (c.failed > 0) bench.notes.push(`${c.failed} of ${c.requested} receivers failed to connect: ${c.failureSamples.join('; ')}`);

    const job = trafficJob(o, now() + 300);
    const usageAt = usageWindow(bench, job.startAt + job.warmupMs - now(), job.durationMs);
    const results = await Promise.all([sender!.run({ ...job, senders: [0] }), ...receivers.map((g) => g.run({ ...job, senders: [] }))]);
    const usage = await usageAt;
    const alive = bench.checkAlive();

    const r = mergeRuns(results, o.durationS);
    const members = c.connected + 1;
    const expected = r.sentInWindow * members;
    if (r.skipped > 0) bench.notes.push(`sender skipped ${r.skipped} sends: its socket held > 4 MB unsent (server not reading)`);
    bench.noteDisconnects(r.disconnects, r.disconnectSamples);
    if (r.deliveriesOfWindow < expected) {
      bench.notes.push(`${expected - r.deliveriesOfWindow} of ${expected} deliveries of window messages had not arrived ${(r.drainedMs / 1000).toFixed(1)} s after the window`);
    }
    if (o.rate > 0 && r.messagesInPerS < o.rate * 0.95) bench.notes.push(`offered ${o.rate} msg/s but sent ${r.messagesInPerS.toFixed(0)} msg/s (generator lag max ${r.sendLagMaxMs.toFixed(1)} ms)`);
    return {
      scenario: 'fanout',
      server: bench.target.kind,
      label: bench.label,
      params,
      metrics: trafficMetrics(r, usage, o.durationS, expected > 0 ? (100 * r.deliveriesOfWindow) / expected : 0, {
        'connect rate /s': c.ratePerS,
        'connect identity p99 ms': c.identity.p99,
      }),
      serverUsage: usage,
      notes: bench.notes,
      ok: alive && r.deliveriesOfWindow > 0,
    };
  } finally {
    await bench.close();
  }
}
