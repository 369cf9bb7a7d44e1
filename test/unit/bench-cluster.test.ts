import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clusterOptions, clusterReport } from '../../bench/cluster-case';
import { applyLog } from '../../bench/lib/apply-rate';
import { capacity, nodeUsPerDelivery } from '../../bench/lib/cluster-model';
import { combineUsage } from '../../bench/scenarios/cluster';
import type { RunReport } from '../../bench/scenarios/common';
import type { ServerUsage } from '../../bench/lib/sampler';
import { decodeEntry } from '../../src/cluster/entries';

/**
 * The pure parts of `npm run bench -- cluster` (the run itself needs 3 nats-servers and 3
 * nodes, longer than the bench smoke test allows): options, the cost model, usage merging,
 * the apply bench's log, and the report.
 */

const costs = { applyUsPerEntry: 40, nodeUsPerDelivery: 50, natsUsPerEntry: 150, logCommitsPerS: 9000, hubAppliesPerS: 30_000 };

test('capacity: the lowest of the log, the hub apply rate and NATS CPU bounds the messages', () => {
  assert.deepEqual(capacity(costs, { nodes: 3, nodeCores: 1, natsCores: 1, messagesPerS: 1000 }).boundBy, 'NATS CPU');
  const natsRoomy = capacity(costs, { nodes: 3, nodeCores: 1, natsCores: 4, messagesPerS: 1000 });
  assert.equal(natsRoomy.boundBy, 'log');
  assert.equal(natsRoomy.maxMessagesPerS, 9000);
  assert.equal(capacity({ ...costs, hubAppliesPerS: 100 }, { nodes: 3, nodeCores: 1, natsCores: 4, messagesPerS: 10 }).boundBy, 'hub apply');
});

test('capacity: deliveries grow with nodes; applying every message is paid on each node', () => {
  // 1,000 msg/s × 40 µs = 40,000 µs of each node's 10⁶: 960,000 µs left / 50 µs = 19,200 per node.
  const three = capacity(costs, { nodes: 3, nodeCores: 1, natsCores: 4, messagesPerS: 1000 });
  assert.equal(three.deliveriesPerS, 3 * 19_200);
  const six = capacity(costs, { nodes: 6, nodeCores: 1, natsCores: 4, messagesPerS: 1000 });
  assert.equal(six.deliveriesPerS, 2 * three.deliveriesPerS);
  // Past the bound, the messages are capped at it; applying alone can fill a node.
  const flooded = capacity({ ...costs, applyUsPerEntry: 200 }, { nodes: 3, nodeCores: 1, natsCores: 100, messagesPerS: 1e9 });
  assert.equal(flooded.maxMessagesPerS, 9000);
  assert.equal(flooded.deliveriesPerS, 0);
});

test('nodeUsPerDelivery subtracts the applying and is NaN without deliveries', () => {
  assert.equal(nodeUsPerDelivery(1, 1000, 100, 9000), (1e6 - 1e5) / 9000);
  assert.ok(Number.isNaN(nodeUsPerDelivery(1, 1000, 100, 0)));
  assert.equal(nodeUsPerDelivery(0.01, 1000, 100, 10), 0, 'never negative');
});

test('clusterOptions: defaults, burst, and refusals', () => {
  const o = clusterOptions({});
  assert.equal(o.nodes, 3);
  assert.equal(o.receivers, 60);
  assert.equal(o.rate, 200);
  assert.equal(o.workers, 1);
  assert.deepEqual(o.ingestBatches, [1, 10, 100]);
  assert.equal(clusterOptions({ rate: 'burst' }).rate, 0);
  assert.deepEqual(clusterOptions({ 'ingest-batches': 'none' }).ingestBatches, []);
  assert.equal(clusterOptions({ workers: '2' }).workers, 2);
  assert.throws(() => clusterOptions({ nodes: '0' }), /--nodes/);
  assert.throws(() => clusterOptions({ nodes: '1.5' }), /--nodes/);
  assert.throws(() => clusterOptions({ 'ingest-batches': '1,x' }), /--ingest-batches/);
  assert.throws(() => clusterOptions({ rate: '-3' }), /--rate/);
});

test('combineUsage sums the servers of one window', () => {
  const u = (cpuS: number, role: string): ServerUsage => ({
    windowS: 2, processes: [{ pid: 1, role, cpuS, peakRssKb: 100, endRssKb: 90 }], cpuS, peakRssKb: 100, endRssKb: 90, machine: { busyS: 3, irqS: 0.1, stealS: 0 },
  });
  const all = combineUsage([u(1, 'hub'), u(0.5, 'worker')])!;
  assert.equal(all.cpuS, 1.5);
  assert.equal(all.peakRssKb, 200);
  assert.deepEqual(all.processes.map((p) => p.role), ['hub', 'worker']);
  assert.equal(combineUsage([]), undefined);
});

test('the apply bench log: members connect, one room is made and joined, then the chat entries, all valid', () => {
  const entries = applyLog(3, 5, 10).map(decodeEntry);
  assert.deepEqual(entries.map((e) => e.type), ['connect', 'connect', 'connect', 'request', 'request', 'request', 'request', 'chat', 'chat', 'chat', 'chat', 'chat']);
  assert.equal(new Set(entries.map((e) => e.pid)).size, entries.length, 'distinct proposal ids');
});

test('clusterReport: single node beside the cluster with the ratio, then per node and the bounds', () => {
  const report = (label: string, metrics: Record<string, number>): RunReport => ({ scenario: 'cluster', server: 'switchboard', label, params: {}, metrics, notes: [], ok: true });
  const runs = [
    report('single node', { 'deliveries/s': 1000, 'latency p99 ms': 2 }),
    report('3-node cluster', { 'deliveries/s': 500, 'latency p99 ms': 8, 'node1 CPU s': 0.5, 'NATS CPU s (3 servers)': 0.25 }),
    report('parts', { 'hub apply entries/s': 30_000 }),
  ];
  const text = clusterReport(runs, 1);
  assert.match(text, /\| deliveries\/s \| 1000 \| 500 \| 0\.50× \|/);
  assert.match(text, /\| latency p99 ms \| 2\.00 \| 8\.00 \| 4\.00× \|/);
  assert.match(text, /\| node1 CPU s \| 0\.500 \|/);
  assert.match(text, /\| NATS CPU s \(3 servers\) \| 0\.250 \|/);
  assert.match(text, /\| hub apply entries\/s \| 30,000 \|/);
});
