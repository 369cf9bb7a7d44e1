import type { EventEmitter } from 'node:events';
import { AggregatorRegistry } from 'prom-client';
import type { ChildHealth, ChildToSupervisor, SupervisorToChild } from '../ipc/supervisor-messages';
import type { MetricJson } from './fast-metrics';
import { metricsJson, type ProcessMetrics } from './process-metrics';

/** A child process as the collector needs it (the supervisor's Child has this shape). */
export interface MetricsChild {
  readonly role: 'hub' | 'worker';
  readonly id: number;
  readonly alive: boolean;
  /** Its IPC channel: the collector listens for 'metrics-report' messages on it. */
  readonly process: EventEmitter;
  readonly exited: Promise<unknown>;
  send(msg: SupervisorToChild): void;
}

interface Report {
  app: MetricJson[];
  process: MetricJson[];
  health?: ChildHealth;
}

/**
 * The supervisor's side of the metrics: asks every live child for its metrics over the IPC
 * channel (each answer bounded by `timeoutMs`), merges them with the supervisor's own through
 * `AggregatorRegistry.aggregate()`, and keeps the counters of children that exited.
 *
 * Counters survive restarts: when a child exits, the counters and histograms of its last
 * report are folded into `retired`, which every later scrape adds, so a summed series such as
 * `switchboard_messages_in_total` never goes down when a worker dies (what it counted after its
 * last report is lost, as with any crashed exporter). Per-process series (labelled role and
 * worker) of a dead child are dropped: that process is gone. A child that does not answer in
 * time is represented by its last report.
 */
export class MetricsCollector {
  private nextId = 1;
  private readonly waiting = new Map<number, (report: Report) => void>();
  /** Children that exited: their counters are in `retired`, a late answer of theirs is ignored. */
  private readonly gone = new WeakSet<MetricsChild>();
  private readonly last = new Map<MetricsChild, Report>();
  private readonly watched = new WeakSet<MetricsChild>();
  private retired: MetricJson[] = [];

  constructor(
    private readonly own: ProcessMetrics,
    private readonly children: () => MetricsChild[],
    private readonly timeoutMs: number,
    private readonly onTimeout: (child: MetricsChild) => void = () => {},
  ) {}

  /** Every process's metrics, merged, in the Prometheus text format. */
  async scrape(): Promise<string> {
    const asked = this.children().filter((c) => c.alive);
    const [own] = await Promise.all([metricsJson(this.own), ...asked.map((c) => this.ask(c, 'metrics'))]);
    const children = asked.filter((c) => !this.gone.has(c));
    const parts: MetricJson[][] = [own.app, perProcess(own.process), this.retired];
    for (const child of children) {
      // Its latest answer (this scrape's, or an earlier one if it was late); none once it
      // exited, its counters being in `retired` then.
      const report = this.last.get(child);
      if (report) parts.push(report.app, perProcess(report.process));
    }
    return AggregatorRegistry.aggregate(parts).metrics();
  }

  /** A child's readiness checks, or null when it did not answer within the timeout. */
  async health(child: MetricsChild): Promise<ChildHealth | null> {
    const report = await this.ask(child, 'health');
    return report?.health ?? (report ? {} : null);
  }

  private ask(child: MetricsChild, want: 'metrics' | 'health'): Promise<Report | null> {
    this.watch(child);
    const id = this.nextId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        this.onTimeout(child);
        resolve(null);
      }, this.timeoutMs);
      this.waiting.set(id, (report) => {
        clearTimeout(timer);
        this.waiting.delete(id);
        // Kept at once, so that an exit right after this answer retires these counters.
        if (want === 'metrics' && !this.gone.has(child)) this.last.set(child, report);
        resolve(report);
      });
      child.send({ type: 'metrics-request', id, want });
    });
  }

  /** Listens to a child's answers, and retires its counters once it exits. */
  private watch(child: MetricsChild): void {
    if (this.watched.has(child)) return;
    this.watched.add(child);
    child.process.on('message', (msg: ChildToSupervisor) => {
      if (typeof msg !== 'object' || msg === null || msg.type !== 'metrics-report') return;
      this.waiting.get(msg.id)?.({ app: fromJson(msg.app as MetricJson[]), process: fromJson(msg.process as MetricJson[]), health: msg.health });
    });
    void child.exited.then(() => {
      this.gone.add(child);
      const report = this.last.get(child);
      this.last.delete(child);
      if (report) this.retire(report.app);
    });
  }

  private retire(app: MetricJson[]): void {
    const cumulative = app.filter((m) => m.type === 'counter' || m.type === 'histogram');
    this.retired = AggregatorRegistry.aggregate([this.retired, cumulative])
      .getMetricsAsArray()
      .map((m) => {
        const { name, help, type, aggregator, values } = m as unknown as MetricJson;
        return { name, help, type, aggregator, values };
      });
  }
}

/**
 * A child's per-process metrics: each process's series carry its own role and worker labels,
 * so "first" keeps them as they are (the default "sum" would too, but prom-client marks a few
 * "omit" or "average", which would drop or blend them).
 */
function perProcess(metrics: MetricJson[]): MetricJson[] {
  return metrics.map((m) => ({ ...m, aggregator: 'first' }));
}

/**
 * A report as it crossed the IPC channel (JSON): a NaN or infinite value arrives as null, which
 * prom-client would print as +Inf; it is NaN again ("no value") here.
 */
function fromJson(metrics: MetricJson[]): MetricJson[] {
  for (const m of metrics) for (const v of m.values) if (typeof v.value !== 'number') v.value = NaN;
  return metrics;
}
