/**
 * V8's `.cpuprofile` format (what `node --cpu-prof` writes), checked once where it is read,
 * and the names and places the flame graph and its summary give to its frames.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** One function as V8 saw it; line and column are 0-based, -1 where V8 has none. */
export interface CallFrame {
  functionName: string;
  scriptId: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

/** A node of V8's call tree: one call path ending in `callFrame`. */
export interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  hitCount?: number;
  children?: number[];
}

/**
 * The profile itself. `samples[i]` is the id of the node on top of the stack at sample i,
 * `timeDeltas[i]` the µs since the sample before; startTime and endTime are µs too.
 */
export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** V8's pseudo-frame of the event loop waiting (left out of graphs); `(program)` and `(garbage collector)` stay. */
export const IDLE = '(idle)';
export const ROOT = '(root)';

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isNumberArray(v: unknown): v is number[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'number');
}

function isCallFrame(v: unknown): v is CallFrame {
  return (
    isRecord(v) &&
    typeof v.functionName === 'string' &&
    typeof v.url === 'string' &&
    typeof v.lineNumber === 'number' &&
    typeof v.columnNumber === 'number'
  );
}

function isProfileNode(v: unknown): v is ProfileNode {
  return isRecord(v) && typeof v.id === 'number' && isCallFrame(v.callFrame) && (v.children === undefined || isNumberArray(v.children));
}

/**
 * Parses and checks a `.cpuprofile`; throws an Error naming `source` and what is wrong,
 * so that a wrong file (a heap profile, a trace) is refused before anything is drawn.
 */
export function parseCpuProfile(text: string, source = 'profile'): CpuProfile {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new Error(`${source}: not JSON (${err instanceof Error ? err.message : String(err)})`);
  }
  const wrong = (what: string): Error => new Error(`${source}: not a V8 CPU profile (${what})`);
  if (!isRecord(data)) throw wrong('not an object');
  if (!Array.isArray(data.nodes) || data.nodes.length === 0) throw wrong('no "nodes"');
  const bad = data.nodes.findIndex((n) => !isProfileNode(n));
  if (bad >= 0) throw wrong(`nodes[${bad}] has no id and callFrame`);
  if (!isNumberArray(data.samples)) throw wrong('no "samples"');
  if (typeof data.startTime !== 'number' || typeof data.endTime !== 'number') throw wrong('no startTime/endTime');
  const nodes = data.nodes as ProfileNode[];
  const ids = new Set(nodes.map((n) => n.id));
  const unknown = data.samples.find((id) => !ids.has(id));
  if (unknown !== undefined) throw wrong(`a sample names node ${unknown}, which is not in "nodes"`);
  const timeDeltas = isNumberArray(data.timeDeltas) ? data.timeDeltas : [];
  return { nodes, startTime: data.startTime, endTime: data.endTime, samples: data.samples, timeDeltas };
}

/** A stable identity for a function: sibling frames with the same key are one frame. */
export function frameKey(f: CallFrame): string {
  return `${f.functionName}\u0000${f.url}\u0000${f.lineNumber}\u0000${f.columnNumber}`;
}

/** The function's name as shown: V8 leaves anonymous functions (and module bodies) unnamed. */
export function frameName(f: CallFrame): string {
  return f.functionName === '' ? '(anonymous)' : f.functionName;
}

/**
 * Where the function is, as `file:line` (1-based) relative to `cwd` when the file is under it,
 * so `dist/src/worker/session.js:42`; `node:net:300` for Node's own JS; '' for native code
 * and V8's pseudo-frames, which have no script.
 */
export function frameLocation(f: CallFrame, cwd = process.cwd()): string {
  if (f.url === '') return '';
  let file = f.url;
  if (file.startsWith('file://')) {
    try {
      file = fileURLToPath(file);
    } catch {
      // A URL Node cannot map to a path is still informative as it is.
    }
    const relative = path.relative(cwd, file);
    if (!relative.startsWith('..') && !path.isAbsolute(relative)) file = relative;
  }
  return f.lineNumber >= 0 ? `${file}:${f.lineNumber + 1}` : file;
}

/** What kind of code a frame is, for its colour: where the time goes at a glance. */
export type FrameKind = 'vm' | 'native' | 'node' | 'dependency' | 'app';

export function frameKind(f: CallFrame): FrameKind {
  if (f.url === '') return f.functionName.startsWith('(') ? 'vm' : 'native';
  if (f.url.startsWith('node:')) return 'node';
  if (f.url.includes('/node_modules/')) return 'dependency';
  return 'app';
}

/** Each Switchboard process has an entry script of its own (the supervisor's CLI is none). */
const ROLE_SCRIPTS: Array<[RegExp, string]> = [
  [/\/supervisor\/main\.js$/, 'supervisor'],
  [/\/hub\/main\.js$/, 'hub'],
  [/\/worker\/main\.js$/, 'worker'],
  [/\/baseline-socketio\/server\.js$/, 'Socket.IO baseline'],
];

/**
 * The role of the process that wrote the profile, told by its entry script. Unknown when no
 * sample fell in such a script (a profile only holds functions that were sampled), or when
 * scripts of two roles appear.
 */
export function guessRole(profile: CpuProfile): string | undefined {
  const roles = new Set<string>();
  for (const node of profile.nodes) {
    for (const [pattern, role] of ROLE_SCRIPTS) if (pattern.test(node.callFrame.url)) roles.add(role);
  }
  return roles.size === 1 ? [...roles][0] : undefined;
}

/** The pid in the file name Node gives a profile: `CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile`. */
export function pidFromFileName(file: string): number | undefined {
  const m = /^CPU\.\d+\.\d+\.(\d+)\.\d+\.\d+\.cpuprofile$/.exec(path.basename(file));
  return m ? Number(m[1]) : undefined;
}
