/**
 * Metrics cheap enough for the per-message paths. prom-client's own `inc()` and `observe()`
 * hash a label object on every call; these keep plain numbers (one add, or one Map lookup by a
 * label value that already exists as a string) and build the prom-client JSON form only when
 * scraped. Each is registered in a prom-client Registry like any prom-client metric (its `get()`
 * is what the Registry calls), so `getMetricsAsJSON()`, `metrics()` and
 * `AggregatorRegistry.aggregate()` treat them the same.
 */

import type { Metric, Registry } from 'prom-client';

/** One sample of a metric in prom-client's JSON form (`registry.getMetricsAsJSON()`). */
export interface MetricSample {
  value: number;
  labels: Record<string, string | number>;
  /** Set on a histogram's `_bucket`, `_sum` and `_count` samples. */
  metricName?: string;
}

/** A metric in prom-client's JSON form: what a child process sends the supervisor. */
export interface MetricJson {
  name: string;
  help: string;
  type: 'counter' | 'gauge' | 'histogram' | 'summary';
  /** How AggregatorRegistry.aggregate() merges equal label sets of several processes (default sum). */
  aggregator?: string;
  values: MetricSample[];
}

/**
 * Distinct values one label of a fast metric may take; further ones are counted under
 * `other`. The label values used come from closed sets (error codes, request types, store
 * operations), so this only guards against a future caller passing something open-ended.
 */
const MAX_LABEL_VALUES = 64;
const OVERFLOW_LABEL = 'other';

/** Registers a fast metric in a prom-client Registry (it has the `name` and `get()` a Registry uses). */
export function register<T extends { name: string }>(registry: Registry, metric: T): T {
  registry.registerMetric(metric as unknown as Metric);
  return metric;
}

/** A counter with no label or one label. `inc()` is a field add; `incFor(v)` a Map update. */
export class FastCounter {
  private total = 0;
  private readonly byLabel = new Map<string, number>();

  constructor(
    readonly name: string,
    readonly help: string,
    /** The one label's name; absent: an unlabelled counter. */
    readonly labelName?: string,
    /** Label values shown at 0 before anything is counted, so dashboards and rate() see them. */
    initial: readonly string[] = [],
  ) {
    for (const v of initial) this.byLabel.set(v, 0);
  }

  inc(n = 1): void {
    this.total += n;
  }

  /** Everything counted so far, over every label. */
  get sum(): number {
    let sum = this.total;
    for (const v of this.byLabel.values()) sum += v;
    return sum;
  }

  incFor(label: string, n = 1): void {
    const v = this.byLabel.get(label);
    if (v !== undefined) this.byLabel.set(label, v + n);
    else if (this.byLabel.size < MAX_LABEL_VALUES) this.byLabel.set(label, n);
    else this.byLabel.set(OVERFLOW_LABEL, (this.byLabel.get(OVERFLOW_LABEL) ?? 0) + n);
  }

  get(): Promise<MetricJson> {
    const values: MetricSample[] =
      this.labelName === undefined ? [{ value: this.total, labels: {} }] : [...this.byLabel].map(([v, value]) => ({ value, labels: { [this.labelName!]: v } }));
    return Promise.resolve({ name: this.name, help: this.help, type: 'counter', aggregator: 'sum', values });
  }
}

/** A gauge whose samples are worked out when scraped (from live objects: sockets, queues). */
export class ComputedGauge {
  constructor(
    readonly name: string,
    readonly help: string,
    private readonly read: () => MetricSample[],
  ) {}

  get(): Promise<MetricJson> {
    return Promise.resolve({ name: this.name, help: this.help, type: 'gauge', aggregator: 'sum', values: this.read() });
  }
}

/** A gauge whose samples need an asynchronous look (the cluster log's position). */
export class AsyncGauge {
  constructor(
    readonly name: string,
    readonly help: string,
    private readonly read: () => Promise<MetricSample[]>,
  ) {}

  async get(): Promise<MetricJson> {
    return { name: this.name, help: this.help, type: 'gauge', aggregator: 'sum', values: await this.read() };
  }
}

/**
 * A histogram with at most one label. `observe(value)` or `observeFor(label, value)`: a scan of
 * a dozen bucket bounds and three adds; the cumulative `_bucket` samples are made when scraped.
 * Bucket bounds are in the metric's unit (seconds for the `_seconds` histograms).
 */
export class FastHistogram {
  private readonly unlabelled: Series;
  private readonly byLabel = new Map<string, Series>();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly bounds: readonly number[],
    readonly labelName?: string,
  ) {
    this.unlabelled = new Series(bounds.length);
  }

  observe(value: number): void {
    this.unlabelled.add(this.bounds, value);
  }

  observeFor(label: string, value: number): void {
    let s = this.byLabel.get(label);
    if (s === undefined) {
      if (this.byLabel.size >= MAX_LABEL_VALUES) label = OVERFLOW_LABEL;
      s = this.byLabel.get(label);
      if (s === undefined) this.byLabel.set(label, (s = new Series(this.bounds.length)));
    }
    s.add(this.bounds, value);
  }

  get(): Promise<MetricJson> {
    const values: MetricSample[] = [];
    const series: Array<[Record<string, string>, Series]> =
      this.labelName === undefined ? [[{}, this.unlabelled]] : [...this.byLabel].map(([v, s]) => [{ [this.labelName!]: v }, s]);
    for (const [labels, s] of series) {
      let cumulative = 0;
      for (let i = 0; i < this.bounds.length; i++) {
        cumulative += s.buckets[i]!;
        values.push({ metricName: `${this.name}_bucket`, labels: { ...labels, le: this.bounds[i]! }, value: cumulative });
      }
      values.push({ metricName: `${this.name}_bucket`, labels: { ...labels, le: '+Inf' }, value: s.count });
      values.push({ metricName: `${this.name}_sum`, labels, value: s.sum });
      values.push({ metricName: `${this.name}_count`, labels, value: s.count });
    }
    return Promise.resolve({ name: this.name, help: this.help, type: 'histogram', aggregator: 'sum', values });
  }
}

/** One label set's histogram counts: per bucket (not cumulative), plus sum and count. */
class Series {
  readonly buckets: number[];
  sum = 0;
  count = 0;

  constructor(n: number) {
    this.buckets = new Array<number>(n).fill(0);
  }

  add(bounds: readonly number[], value: number): void {
    this.sum += value;
    this.count++;
    for (let i = 0; i < bounds.length; i++) {
      if (value <= bounds[i]!) {
        this.buckets[i] = this.buckets[i]! + 1;
        return;
      }
    }
  }
}

/** Latency buckets in seconds, 100 µs to 10 s: hub requests and store operations. */
export const LATENCY_BUCKETS_SECONDS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10] as const;
