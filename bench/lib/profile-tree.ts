/**
 * A V8 CPU profile turned into what a flame graph draws: a call tree weighted by busy samples,
 * and the cost of each function summed over the tree.
 *
 * Weights are sample counts, not the time between samples. On a loaded machine the gaps vary
 * from 1 to 30 ms, and a long gap mostly means the process (or V8's sampling thread) was off
 * the CPU, not that the sampled frame ran for that long; each sample is one look at the CPU.
 */
import { frameKey, IDLE, type CallFrame, type CpuProfile, type ProfileNode } from './cpu-profile';

/** One frame of the flame graph: a call path, with its busy samples. */
export interface FlameNode {
  frame: CallFrame;
  /** Samples with this frame on top of the stack. */
  self: number;
  /** Samples with this frame anywhere on the stack: self plus the children's totals. */
  total: number;
  /** Heaviest first, so the widest paths line up at the left. */
  children: FlameNode[];
}

export interface ProfileShape {
  /** V8's `(root)`; its total is every busy sample. */
  root: FlameNode;
  samples: number;
  /** Samples of the event loop waiting: left out of the tree, stated beside it. */
  idleSamples: number;
  busySamples: number;
  /** µs from the profile's start to its end. */
  sampledMicros: number;
}

/** One function's cost over the whole tree. */
export interface FunctionCost {
  frame: CallFrame;
  self: number;
  /** Samples with the function anywhere on the stack, each counted once however deep it recurses. */
  total: number;
}

/** Builds the busy call tree, merging sibling nodes V8 kept apart for the same function. */
export function buildFlameTree(profile: CpuProfile): ProfileShape {
  const byId = new Map<number, ProfileNode>(profile.nodes.map((n) => [n.id, n]));
  const hits = new Map<number, number>();
  let idleSamples = 0;
  for (const id of profile.samples) {
    if (byId.get(id)!.callFrame.functionName === IDLE) idleSamples++;
    else hits.set(id, (hits.get(id) ?? 0) + 1);
  }
  const childIds = new Set(profile.nodes.flatMap((n) => n.children ?? []));
  const v8Root = profile.nodes.find((n) => !childIds.has(n.id)) ?? profile.nodes[0]!;

  const root: FlameNode = { frame: v8Root.callFrame, self: 0, total: 0, children: [] };
  // Children by frame key while building; dropped once the tree is done.
  const index = new Map<FlameNode, Map<string, FlameNode>>();
  const pending: Array<[ProfileNode, FlameNode]> = [[v8Root, root]];
  const seen = new Set<number>();
  while (pending.length > 0) {
    const [v8, into] = pending.pop()!;
    // A malformed profile could list a node twice; it must not be counted twice, or loop.
    if (seen.has(v8.id)) continue;
    seen.add(v8.id);
    into.self += hits.get(v8.id) ?? 0;
    for (const childId of v8.children ?? []) {
      const child = byId.get(childId);
      if (!child || child.callFrame.functionName === IDLE) continue;
      let siblings = index.get(into);
      if (!siblings) index.set(into, (siblings = new Map()));
      const key = frameKey(child.callFrame);
      let target = siblings.get(key);
      if (!target) {
        target = { frame: child.callFrame, self: 0, total: 0, children: [] };
        siblings.set(key, target);
        into.children.push(target);
      }
      pending.push([child, target]);
    }
  }
  settleTotals(root);
  const samples = profile.samples.length;
  return { root, samples, idleSamples, busySamples: samples - idleSamples, sampledMicros: profile.endTime - profile.startTime };
}

/** Sums totals bottom-up, drops frames no busy sample reached, and orders children heaviest first. */
function settleTotals(node: FlameNode): number {
  node.total = node.self;
  for (const child of node.children) node.total += settleTotals(child);
  node.children = node.children.filter((c) => c.total > 0).sort((a, b) => b.total - a.total);
  return node.total;
}

/** Every function's self and total samples (the root left out), heaviest self first. */
export function functionCosts(shape: ProfileShape): FunctionCost[] {
  const costs = new Map<string, FunctionCost>();
  // How many times each function is on the path being walked: a recursive call's samples are
  // already in its outermost frame's total.
  const onPath = new Map<string, number>();
  const visit = (node: FlameNode): void => {
    const key = frameKey(node.frame);
    let cost = costs.get(key);
    if (!cost) costs.set(key, (cost = { frame: node.frame, self: 0, total: 0 }));
    cost.self += node.self;
    const depth = onPath.get(key) ?? 0;
    if (depth === 0) cost.total += node.total;
    onPath.set(key, depth + 1);
    for (const child of node.children) visit(child);
    onPath.set(key, depth);
  };
  for (const child of shape.root.children) visit(child);
  return [...costs.values()].sort((a, b) => b.self - a.self || b.total - a.total);
}
