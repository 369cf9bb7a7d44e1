import { Generator } from '../generator/fleet';
import type { ClientPlan, ConnectResult, Protocol, RunResult } from '../generator/messages';
import { summarizeEncoded, type LatencySummary } from '../lib/histogram';
import { ServerSampler, type ServerUsage } from '../lib/sampler';
import { startSocketIo } from '../targets/socketio';
import { startSwitchboard, switchboardRole } from '../targets/switchboard';
import { SERVER_LABEL, type ServerKind, type SioClient, type Target } from '../targets/target';
import { socketIoRole } from '../targets/socketio';

/** Options every scenario takes. */
export interface CommonOptions {
  server: ServerKind;
  workers: number;
  placement: 'pool' | 'dedicated';
  /** Generator processes holding the clients (the sender of fanout has its own on top). */
  genProcs: number;
  /** Connects in flight at once per generator process (0: all at once). */
  concurrency: number;
  sioClient: SioClient;
  /** Extra Node flags for the server's processes (--server-node-args), e.g. for --cpu-prof. */
  serverNodeArgs: string[];
  /** Extra `switchboard serve` flags (--server-args), e.g. `--spares 8`. */
  serverArgs: string[];
  /** An already running server instead of starting one. */
  external?: { host: string; port: number; protocol: Protocol; pid?: number };
}

/** A run's outcome: flat numeric metrics (for tables and medians) plus the details. */
export interface RunReport {
  scenario: string;
  server: ServerKind;
  label: string;
  params: Record<string, string | number>;
  metrics: Record<string, number>;
  serverUsage?: ServerUsage;
  /** Anything that went wrong or needs saying: failures, disconnects, skipped sends. */
  notes: string[];
  /** False when no traffic flowed or the server died. */
  ok: boolean;
}

/** What a bench started and must stop: benches, and anything else (a NATS cluster) via `track`. */
const live = new Set<{ close(): Promise<void> }>();

/** Stops every server and generator a bench started (on exit or Ctrl-C). */
export async function stopAll(): Promise<void> {
  await Promise.all([...live].map((b) => b.close()));
}

/** Has `stopAll` stop `thing` too (on Ctrl-C) until the returned function is called. */
export function track(thing: { close(): Promise<void> }): () => void {
  live.add(thing);
  return () => live.delete(thing);
}

/** A server under test, its sampler and the generator processes of one run. */
export class Bench {
  readonly generators: Generator[] = [];
  readonly sampler: ServerSampler | null;
  readonly notes: string[] = [];

  private constructor(readonly target: Target) {
    this.sampler = target.rootPid ? new ServerSampler(target.rootPid, target.roleOf) : null;
    this.sampler?.start();
    live.add(this);
  }

  static async start(opts: CommonOptions, clients: number): Promise<Bench> {
    if (opts.external) {
      const e = opts.external;
      const kind: ServerKind = e.protocol === 'ndjson' ? 'switchboard' : 'socketio';
      return new Bench({
        kind,
        protocol: e.protocol,
        host: e.host,
        port: e.port,
        rootPid: e.pid,
        roleOf: kind === 'switchboard' ? switchboardRole : socketIoRole,
        stop: async () => {},
        tail: () => [],
        exit: () => null,
      });
    }
    const t = { workers: opts.workers, placement: opts.placement, clients, sioClient: opts.sioClient, nodeArgs: opts.serverNodeArgs, serverArgs: opts.serverArgs };
    return new Bench(opts.server === 'switchboard' ? await startSwitchboard(t) : await startSocketIo(t));
  }

  /** A bench around a target started elsewhere (a cluster's node): sampled, and stopped on close. */
  static of(target: Target): Bench {
    return new Bench(target);
  }

  get label(): string {
    return SERVER_LABEL[this.target.kind];
  }

  spawn(count: number, prefix: string): Generator[] {
    const made = Array.from({ length: count }, (_, i) => new Generator(`${prefix}${i + 1}`));
    this.generators.push(...made);
    return made;
  }

  /** Source addresses for a loopback target: 127.0.0.1-8 give 8x the ephemeral ports. */
  localAddresses(): string[] | undefined {
    return this.target.host === '127.0.0.1' ? Array.from({ length: 8 }, (_, i) => `127.0.0.${i + 1}`) : undefined;
  }

  connectJob(clients: ClientPlan[], concurrency: number, arriveOverMs = 0) {
    const t = this.target;
    return { type: 'connect' as const, protocol: t.protocol, host: t.host, port: t.port, clients, concurrency, arriveOverMs, localAddresses: this.localAddresses() };
  }

  /** Notes the server's death, if it died; true while it runs. */
  checkAlive(): boolean {
    const exit = this.target.exit();
    if (!exit) return true;
    this.notes.push(`server exited (${exit.code ?? exit.signal}) during the run; last output:\n  ${this.target.tail().slice(-10).join('\n  ')}`);
    return false;
  }

  /**
   * Notes that the server closed clients, with what it logged about it (warn and above: the
   * level the bench runs it at) so a report says what the server saw, not just that it happened.
   */
  noteDisconnects(count: number, samples: string[]): void {
    if (count === 0) return;
    this.notes.push(`${count} clients were disconnected by the server: ${samples.join('; ')}`);
    const said = this.target.tail().filter((l) => /"level":(40|50|60)/.test(l) || (l.startsWith('[stderr]') && !l.includes('listening on')));
    if (said.length > 0) this.notes.push(`server's last warnings: ${said.slice(-3).join(' | ')}`);
  }

  async close(): Promise<void> {
    live.delete(this);
    this.sampler?.stop();
    await Promise.all(this.generators.map((g) => g.close()));
    await this.target.stop();
  }
}

/** Splits `n` items over `parts` as evenly as possible: the sizes. */
export function split(n: number, parts: number): number[] {
  return Array.from({ length: parts }, (_, i) => Math.floor(n / parts) + (i < n % parts ? 1 : 0));
}

/** Merged connect results of several generators. */
export function mergeConnects(results: ConnectResult[]): {
  requested: number;
  connected: number;
  failed: number;
  failureSamples: string[];
  elapsedMs: number;
  ratePerS: number;
  identity: LatencySummary;
  ready: LatencySummary;
  cpuS: number;
} {
  const first = Math.min(...results.map((r) => r.firstStartAt));
  const last = Math.max(...results.map((r) => r.lastIdentityAt));
  const connected = results.reduce((a, r) => a + r.connected, 0);
  const elapsedMs = last - first;
  return {
    requested: results.reduce((a, r) => a + r.requested, 0),
    connected,
    failed: results.reduce((a, r) => a + r.failures.count, 0),
    failureSamples: results.flatMap((r) => r.failures.samples).slice(0, 5),
    elapsedMs,
    ratePerS: elapsedMs > 0 ? (connected * 1000) / elapsedMs : 0,
    identity: summarizeEncoded(results.map((r) => r.identity)),
    ready: summarizeEncoded(results.map((r) => r.ready)),
    cpuS: results.reduce((a, r) => a + (r.cpuUserUs + r.cpuSystemUs) / 1e6, 0),
  };
}

/** Merged run results: totals, rates over the window, latency. */
export function mergeRuns(results: RunResult[], windowS: number) {
  const sum = (f: (r: RunResult) => number): number => results.reduce((a, r) => a + f(r), 0);
  return {
    sentInWindow: sum((r) => r.sentInWindow),
    skipped: sum((r) => r.skipped),
    deliveriesInWindow: sum((r) => r.deliveriesInWindow),
    deliveriesOfWindow: sum((r) => r.deliveriesOfWindow),
    messagesInPerS: sum((r) => r.sentInWindow) / windowS,
    deliveriesPerS: sum((r) => r.deliveriesInWindow) / windowS,
    latency: summarizeEncoded(results.map((r) => r.latency)),
    generatorCpuS: sum((r) => (r.cpuUserUs + r.cpuSystemUs) / 1e6),
    disconnects: sum((r) => r.disconnects.count),
    disconnectSamples: results.flatMap((r) => r.disconnects.samples).slice(0, 5),
    sendLagMaxMs: Math.max(...results.map((r) => r.sendLagMaxMs)),
    drainedMs: Math.max(...results.map((r) => r.drainedMs)),
  };
}

/**
 * CPU microseconds per delivery, of the server (all its processes) and of the generator: what
 * a delivery costs, which the deliveries/s of a machine saturated by both cannot show on its own.
 */
export function perDelivery(u: ServerUsage | undefined, generatorCpuS: number, deliveries: number): Record<string, number> {
  if (deliveries <= 0) return {};
  const out: Record<string, number> = { 'generator CPU µs per delivery': (generatorCpuS * 1e6) / deliveries };
  if (u) out['server CPU µs per delivery'] = (u.cpuS * 1e6) / deliveries;
  return out;
}

/**
 * Server usage as flat metrics: total and per role CPU seconds, peak RSS in MB, and the CPU
 * the rest of the machine used meanwhile: other processes (busy CPU less server and
 * generator: other work on a shared machine shows here), kernel interrupt work (loopback
 * traffic, charged to no process) and hypervisor steal.
 */
export function usageMetrics(u: ServerUsage | undefined, windowS: number, generatorCpuS = 0): Record<string, number> {
  if (!u) return {};
  const out: Record<string, number> = {
    'server CPU s': u.cpuS,
    'server CPU % of 1 core': (u.cpuS / windowS) * 100,
    'server peak RSS MB': u.peakRssKb / 1024,
    'other processes CPU s': Math.max(0, u.machine.busyS - u.cpuS - generatorCpuS),
    'kernel irq+softirq CPU s': u.machine.irqS,
    'steal CPU s': u.machine.stealS,
  };
  const roles = new Map<string, { cpu: number; rss: number; n: number }>();
  for (const p of u.processes) {
    const r = roles.get(p.role) ?? { cpu: 0, rss: 0, n: 0 };
    r.cpu += p.cpuS;
    r.rss += p.peakRssKb;
    r.n++;
    roles.set(p.role, r);
  }
  for (const [role, r] of [...roles].sort()) {
    out[`CPU s: ${role}`] = r.cpu;
    out[`peak RSS MB: ${role}`] = r.rss / 1024;
    out[`processes: ${role}`] = r.n;
  }
  return out;
}

/** What fanout and rooms send: at their rate for warm-up + duration from `startAt`, then a bounded drain. */
export function trafficJob(o: { rate: number; inflight: number; size: number; warmupS: number; durationS: number }, startAt: number) {
  const durationMs = o.durationS * 1000;
  return { type: 'run' as const, ratePerSender: o.rate, inflight: o.inflight, size: o.size, startAt, warmupMs: o.warmupS * 1000, durationMs, quietMs: 1000, drainMaxMs: Math.max(5000, durationMs) };
}

/**
 * The metrics of a traffic run (fanout, rooms), in report order; `delivered` (%) and the
 * connect figures are the scenario's own.
 */
export function trafficMetrics(
  r: ReturnType<typeof mergeRuns>,
  usage: ServerUsage | undefined,
  durationS: number,
  delivered: number,
  connect: Record<string, number>,
): Record<string, number> {
  return {
    'deliveries/s': r.deliveriesPerS,
    'messages in/s': r.messagesInPerS,
    ...latencyMetrics('latency', r.latency),
    'delivered %': delivered,
    ...connect,
    ...usageMetrics(usage, durationS, r.generatorCpuS),
    'generator CPU s': r.generatorCpuS,
    'generator CPU % of 1 core': (100 * r.generatorCpuS) / durationS,
    ...perDelivery(usage, r.generatorCpuS, r.deliveriesPerS * durationS),
  };
}

export function latencyMetrics(prefix: string, l: LatencySummary): Record<string, number> {
  return { [`${prefix} p50 ms`]: l.p50, [`${prefix} p99 ms`]: l.p99, [`${prefix} p99.9 ms`]: l.p999, [`${prefix} max ms`]: l.max };
}

/** Server usage inside [now + delayMs, now + delayMs + durationMs]; undefined without a sampler. */
export function usageWindow(bench: Bench, delayMs: number, durationMs: number): Promise<ServerUsage | undefined> {
  const sampler = bench.sampler;
  if (!sampler) return Promise.resolve(undefined);
  return new Promise((resolve) =>
    setTimeout(() => {
      const close = sampler.openWindow();
      setTimeout(() => resolve(close()), durationMs);
    }, Math.max(0, delayMs)),
  );
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
