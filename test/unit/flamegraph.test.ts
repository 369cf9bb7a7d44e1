import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { flameGraphOf, parseFlameArgs } from '../../bench/flamegraph';
import { guessRole, parseCpuProfile, type CallFrame, type CpuProfile, type ProfileNode } from '../../bench/lib/cpu-profile';
import { buildFlameTree, functionCosts } from '../../bench/lib/profile-tree';

const APP = 'file:///app/dist/src/worker';

function frame(functionName: string, url = '', lineNumber = -1): CallFrame {
  return { functionName, scriptId: url ? '7' : '0', url, lineNumber, columnNumber: lineNumber >= 0 ? 2 : -1 };
}

function node(id: number, callFrame: CallFrame, children: number[] = []): ProfileNode {
  return { id, callFrame, children };
}

/** A profile of `samples` (node ids), one every millisecond. */
function profileOf(nodes: ProfileNode[], samples: number[]): CpuProfile {
  return { nodes, startTime: 1_000, endTime: 1_000 + 1000 * samples.length, samples, timeDeltas: samples.map(() => 1000) };
}

/**
 * A worker's profile in miniature: 6 idle samples and 10 busy ones. V8 kept `main` and
 * `handle` twice (nodes 9 and 10), which the graph must show as one frame each.
 */
function tinyWorkerProfile(): CpuProfile {
  const nodes = [
    node(1, frame('(root)'), [2, 3, 4, 5, 9]),
    node(2, frame('(program)')),
    node(3, frame('(idle)')),
    node(4, frame('(garbage collector)')),
    node(5, frame('main', `${APP}/main.js`, 0), [6, 8]),
    node(6, frame('handle', `${APP}/worker.js`, 9), [7]),
    node(7, frame('writev')),
    node(8, frame('a<b&c', `${APP}/odd.js`, 4)),
    node(9, frame('main', `${APP}/main.js`, 0), [10]),
    node(10, frame('handle', `${APP}/worker.js`, 9)),
  ];
  const samples = [3, 3, 3, 2, 4, 5, 6, 10, 7, 7, 7, 8, 8, 3, 3, 3];
  return profileOf(nodes, samples);
}

const FILE = '/tmp/CPU.20260101.000000.4242.0.001.cpuprofile';

test('self time: the top functions as shares of busy samples, idle left out', () => {
  const { summary } = flameGraphOf(FILE, JSON.stringify(tinyWorkerProfile()), undefined, '/app');
  const rows = summary.split('\n').filter((l) => /^\| \d/.test(l));
  assert.equal(rows.length, 6, summary);
  assert.equal(rows[0], '| 30.0 | 30.0 | 3 | `writev` | native |');
  // handle's two V8 nodes are one function; it wins the tie on self time by its total.
  assert.equal(rows[1], '| 20.0 | 50.0 | 2 | `handle` | dist/src/worker/worker.js:10 |');
  assert.equal(rows[2], '| 20.0 | 20.0 | 2 | `a<b&c` | dist/src/worker/odd.js:5 |');
  assert.ok(rows.includes('| 10.0 | 80.0 | 1 | `main` | dist/src/worker/main.js:1 |'));
  assert.ok(rows.includes('| 10.0 | 10.0 | 1 | `(garbage collector)` | V8 |'));
  assert.ok(rows.includes('| 10.0 | 10.0 | 1 | `(program)` | V8 |'));
  assert.ok(!summary.includes('(idle)'));
  assert.match(summary, /16 samples; idle 37\.5 % \(left out\), busy 62\.5 % = 10 samples/);
  assert.match(summary, /role: worker · pid 4242/);
});

test('the SVG has a frame per function and call path, with tooltips, and no idle frame', () => {
  const { svg } = flameGraphOf(FILE, JSON.stringify(tinyWorkerProfile()), undefined, '/app');
  assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  assert.ok(svg.trimEnd().endsWith('</svg>'));
  const tips = [...svg.matchAll(/<title>([^<]*)<\/title>/g)].map((m) => m[1]);
  assert.deepEqual(tips.sort(), [
    '(garbage collector) (V8): 10.0 % of busy samples (1), self 10.0 %',
    '(program) (V8): 10.0 % of busy samples (1), self 10.0 %',
    'a&lt;b&amp;c (dist/src/worker/odd.js:5): 20.0 % of busy samples (2), self 20.0 %',
    'all busy samples: 10 (idle left out)',
    'handle (dist/src/worker/worker.js:10): 50.0 % of busy samples (5), self 20.0 %',
    'main (dist/src/worker/main.js:1): 80.0 % of busy samples (8), self 10.0 %',
    'writev (native): 30.0 % of busy samples (3), self 30.0 %',
  ]);
  assert.ok(!svg.includes('(idle)'), 'no idle frame');
  assert.ok(!svg.includes('a<b'), 'names are escaped');
  assert.match(svg, /CPU flame graph: worker process 4242/);
  assert.match(svg, /idle 37\.5 % \(left out\)/);
  // Widths are shares of busy samples: main is 80 % of the plot's 1180 px.
  assert.match(svg, /width="944\.00" height="16" rx="2"[^>]*\/><text[^>]*>main<\/text>/);
});

test('a recursive function counts its samples once in its total', () => {
  const f = frame('walk', `${APP}/tree.js`, 3);
  const profile = profileOf(
    [node(1, frame('(root)'), [2]), node(2, f, [3]), node(3, f, [4]), node(4, frame('leaf', `${APP}/tree.js`, 9))],
    [2, 3, 4, 4],
  );
  const costs = functionCosts(buildFlameTree(profile));
  assert.deepEqual(
    costs.map((c) => [c.frame.functionName, c.self, c.total]),
    [
      ['walk', 2, 4],
      ['leaf', 2, 2],
    ],
  );
});

test('the role is told by the entry script, and only when one role shows', () => {
  const withScripts = (...urls: string[]): CpuProfile =>
    profileOf([node(1, frame('(root)'), urls.map((_, i) => i + 2)), ...urls.map((u, i) => node(i + 2, frame('', u, 0)))], []);
  assert.equal(guessRole(withScripts('file:///x/dist/src/cli/main.js', 'file:///x/dist/src/supervisor/main.js')), 'supervisor');
  assert.equal(guessRole(withScripts('file:///x/dist/src/hub/main.js')), 'hub');
  assert.equal(guessRole(withScripts('node:net')), undefined);
  assert.equal(guessRole(withScripts('file:///x/dist/src/hub/main.js', 'file:///x/dist/src/worker/main.js')), undefined);
});

test('what is not a CPU profile is refused with the reason', () => {
  assert.throws(() => parseCpuProfile('{"snapshot":{}}', 'heap.json'), /heap\.json: not a V8 CPU profile \(no "nodes"\)/);
  assert.throws(() => parseCpuProfile('nope', 'x'), /x: not JSON/);
  const stray = { ...tinyWorkerProfile(), samples: [1, 99] };
  assert.throws(() => parseCpuProfile(JSON.stringify(stray)), /node 99/);
});

test('arguments: files, --out for one input only, --title', () => {
  assert.deepEqual(parseFlameArgs(['a.cpuprofile', '--title', 'T', '--out', 'x.svg']), { files: ['a.cpuprofile'], title: 'T', out: 'x.svg' });
  assert.throws(() => parseFlameArgs(['a', 'b', '--out', 'x.svg']), /one input/);
  assert.throws(() => parseFlameArgs([]), /no profile/);
  assert.throws(() => parseFlameArgs(['a', '--title']), /needs a value/);
});

test('the command writes the SVG next to the profile and prints the table', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sb-flame-'));
  try {
    const input = path.join(dir, 'CPU.20260101.000000.4242.0.001.cpuprofile');
    fs.writeFileSync(input, JSON.stringify(tinyWorkerProfile()));
    const cli = path.join(__dirname, '..', '..', 'bench', 'flamegraph.js');
    const stdout = execFileSync(process.execPath, [cli, input, '--title', 'fanout 200 × 1k'], { encoding: 'utf8' });
    assert.match(stdout, /^## fanout 200 × 1k$/m);
    assert.match(stdout, /^\| 30\.0 \| 30\.0 \| 3 \| `writev` \| native \|$/m);
    const svg = fs.readFileSync(path.join(dir, 'CPU.20260101.000000.4242.0.001.svg'), 'utf8');
    assert.match(svg, /fanout 200 × 1k/);
    const refused = spawnSync(process.execPath, [cli, input, input, '--out', path.join(dir, 'x.svg')], { encoding: 'utf8' });
    assert.equal(refused.status, 2);
    assert.match(refused.stderr, /usage:/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
