import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import type { SupervisorToChild } from '../../src/ipc/supervisor-messages';
import { MetricsCollector, type MetricsChild } from '../../src/metrics/collector';
import { ComputedGauge, FastCounter, FastHistogram, register } from '../../src/metrics/fast-metrics';
import { parseExposition, total } from '../helpers/metrics';

/**
 * The supervisor's aggregation without processes: fake children answer 'metrics-request' on
 * an EventEmitter as a child's IPC channel would; what matters is the sums and what survives
 * a child's exit.
 */

class FakeChild implements MetricsChild {
  readonly process = new EventEmitter();
  alive = true;
  /** When false the child ignores requests (a busy or hung process). */
  answering = true;
  readonly app = new Registry();
  readonly messages = register(this.app, new FastCounter('t_messages_total', 'messages', 'kind'));
  readonly latency = register(this.app, new FastHistogram('t_latency_seconds', 'latency', [0.1, 1]));
  queue = 0;
  private exit!: () => void;
  readonly exited = new Promise<void>((resolve) => (this.exit = resolve));

  constructor(
    readonly role: 'hub' | 'worker',
    readonly id: number,
  ) {
    register(this.app, new ComputedGauge('t_queue_bytes', 'queue', () => [{ value: this.queue, labels: {} }]));
  }

  send(msg: SupervisorToChild): void {
    if (msg.type !== 'metrics-request' || !this.answering || !this.alive) return;
    void this.app.getMetricsAsJSON().then((app) => {
      const perProcess = [{ name: 't_heap_bytes', help: 'heap', type: 'gauge', values: [{ value: 100 + this.id, labels: { role: this.role, worker: String(this.id) } }] }];
      this.process.emit('message', { type: 'metrics-report', id: msg.id, app, process: perProcess });
    });
  }

  die(): void {
    this.alive = false;
    this.exit();
  }
}

async function scrape(collector: MetricsCollector): Promise<ReturnType<typeof parseExposition>> {
  return parseExposition(await collector.scrape());
}

test('sums counters over the children, keeps per-process series apart, and keeps a dead child\'s counters', async () => {
  const a = new FakeChild('worker', 1);
  const b = new FakeChild('worker', 2);
  let children: FakeChild[] = [a, b];
  const own = { app: new Registry(), process: null };
  const collector = new MetricsCollector(own, () => children, 200);

  a.messages.incFor('chat', 5);
  b.messages.incFor('chat', 7);
  a.latency.observe(0.05);
  b.latency.observe(0.5);
  a.queue = 10;
  b.queue = 20;
  let s = await scrape(collector);
  assert.equal(total(s, 't_messages_total', { kind: 'chat' }), 12);
  assert.equal(total(s, 't_latency_seconds_count'), 2);
  assert.equal(total(s, 't_latency_seconds_bucket', { le: '0.1' }), 1);
  assert.equal(total(s, 't_queue_bytes'), 30);
  assert.deepEqual(s.filter((x) => x.name === 't_heap_bytes').map((x) => x.labels.worker).sort(), ['1', '2']);

  // a dies after counting more than it ever reported: its last report stands.
  a.messages.incFor('chat', 100);
  a.die();
  const c = new FakeChild('worker', 3);
  children = [b, c];
  await a.exited;
  c.messages.incFor('chat', 1);
  s = await scrape(collector);
  assert.equal(total(s, 't_messages_total', { kind: 'chat' }), 5 + 7 + 1, 'counters never go down');
  assert.equal(total(s, 't_latency_seconds_count'), 2, 'histograms too');
  assert.equal(total(s, 't_queue_bytes'), 20, 'a dead child\'s gauges are gone');
  assert.deepEqual(s.filter((x) => x.name === 't_heap_bytes').map((x) => x.labels.worker).sort(), ['2', '3'], 'so are its per-process series');

  // A child that does not answer in time: its last report stands in.
  b.messages.incFor('chat', 1000);
  b.answering = false;
  s = await scrape(collector);
  assert.equal(total(s, 't_messages_total', { kind: 'chat' }), 13);
});

test('health: the answer of a child, or null when it does not answer in time', async () => {
  const hub = new FakeChild('hub', 0);
  hub.send = (msg) => {
    if (msg.type === 'metrics-request') hub.process.emit('message', { type: 'metrics-report', id: msg.id, app: [], process: [], health: { store: { ok: true } } });
  };
  const collector = new MetricsCollector({ app: new Registry(), process: null }, () => [hub], 100);
  assert.deepEqual(await collector.health(hub), { store: { ok: true } });
  hub.send = () => {};
  assert.equal(await collector.health(hub), null);
});
