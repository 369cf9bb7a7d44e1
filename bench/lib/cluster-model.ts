/**
 * The cluster's cost model, from measured figures (docs/PERFORMANCE.md, "Cluster"). Pure:
 * unit-tested in test/unit/bench-cluster-model.test.ts.
 *
 * Every node applies every log entry (its replica), whatever its clients: a per-entry cost
 * `a` on every node. Each node delivers to its own clients only: a per-delivery cost `b` on
 * that node. The log commits each entry once for the whole cluster, at a cost `l` of NATS CPU
 * (the three servers together). So with M messages a second into the cluster and D
 * deliveries a second in all, over N nodes of C cores each:
 *
 *   node CPU (µs/s)  = a·M + b·D/N           (≤ C·10⁶)
 *   NATS CPU (µs/s)  = l·M                   (≤ its cores·10⁶)
 *   M                ≤ the log's commit rate, and ≤ 10⁶/a_hub (one hub thread applies all)
 *
 * Adding nodes raises D (deliveries spread over more nodes), never M (each node applies all).
 */

export interface CostInputs {
  /** CPU µs a node spends per log entry it applies (every node, every entry). */
  applyUsPerEntry: number;
  /** CPU µs a node spends per delivery to one of its own clients. */
  nodeUsPerDelivery: number;
  /** NATS CPU µs (all servers) per committed entry. */
  natsUsPerEntry: number;
  /** Entries a second the log commits (pipelined, one client). */
  logCommitsPerS: number;
  /** Entries a second one hub applies (its single thread). */
  hubAppliesPerS: number;
}

export interface Capacity {
  /** Messages a second the cluster can order at most, and which bound decides it. */
  maxMessagesPerS: number;
  boundBy: 'log' | 'hub apply' | 'NATS CPU';
  /** Deliveries a second the cluster carries at `messagesPerS`, over `nodes` of `nodeCores` cores. */
  deliveriesPerS: number;
}

/**
 * What `nodes` nodes of `nodeCores` cores each and NATS servers with `natsCores` cores in all
 * carry at `messagesPerS` messages a second into the cluster: the bound on messages, and the
 * deliveries the nodes' CPU leaves room for (0 when the applying alone fills them).
 */
export function capacity(c: CostInputs, o: { nodes: number; nodeCores: number; natsCores: number; messagesPerS: number }): Capacity {
  const bounds: Array<[Capacity['boundBy'], number]> = [
    ['log', c.logCommitsPerS],
    ['hub apply', c.hubAppliesPerS],
    ['NATS CPU', c.natsUsPerEntry > 0 ? (o.natsCores * 1e6) / c.natsUsPerEntry : Infinity],
  ];
  const [boundBy, maxMessagesPerS] = bounds.reduce((min, b) => (b[1] < min[1] ? b : min));
  const m = Math.min(o.messagesPerS, maxMessagesPerS);
  const spare = Math.max(0, o.nodeCores * 1e6 - c.applyUsPerEntry * m);
  return { maxMessagesPerS, boundBy, deliveriesPerS: c.nodeUsPerDelivery > 0 ? (o.nodes * spare) / c.nodeUsPerDelivery : 0 };
}

/**
 * A node's cost per delivery from a run: its CPU less what applying the run's entries cost
 * it (`entries` × `applyUsPerEntry`), over its own deliveries; NaN without deliveries.
 */
export function nodeUsPerDelivery(cpuS: number, entries: number, applyUsPerEntry: number, deliveries: number): number {
  if (deliveries <= 0) return NaN;
  return Math.max(0, cpuS * 1e6 - entries * applyUsPerEntry) / deliveries;
}
