/**
 * Flame graphs of CPU profiles, for the benchmark docs:
 * `npm run bench:flame -- FILE.cpuprofile [FILE ...] [--out FILE.svg] [--title TEXT]`.
 * The bench writes one profile per server process with
 * `--server-node-args "--cpu-prof --cpu-prof-dir=DIR"`; see docs/PERFORMANCE.md, "Profiling".
 */
import fs from 'node:fs';
import { guessRole, parseCpuProfile, pidFromFileName } from './lib/cpu-profile';
import { renderFlameGraph } from './lib/flame-svg';
import { defaultTitle, headingLines, selfTimeTable, type ProfileOrigin } from './lib/profile-summary';
import { buildFlameTree, functionCosts } from './lib/profile-tree';

const USAGE = `usage: npm run bench:flame -- FILE.cpuprofile [FILE.cpuprofile ...] [--out FILE.svg] [--title TEXT]

Draws each V8 CPU profile (node --cpu-prof) as a self-contained SVG flame graph, written next
to its input with .svg unless --out names it (one input only), and prints the 20 functions with
the most self time as a Markdown table. Idle samples are left out of the graph, so its widths
are shares of the busy CPU; the heading states the idle share. --title replaces the heading's
first line (for every input given).`;

/** How many functions the self-time table lists. */
const TOP_FUNCTIONS = 20;

export interface FlameOptions {
  files: string[];
  out?: string;
  title?: string;
}

export function parseFlameArgs(argv: string[]): FlameOptions {
  const options: FlameOptions = { files: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--out' || arg === '--title') {
      const value = argv[++i];
      if (value === undefined) throw new Error(`${arg} needs a value`);
      if (arg === '--out') options.out = value;
      else options.title = value;
    } else if (arg.startsWith('--')) {
      throw new Error(`unknown option ${arg}`);
    } else {
      options.files.push(arg);
    }
  }
  if (options.files.length === 0) throw new Error('no profile given');
  if (options.out !== undefined && options.files.length > 1) throw new Error('--out names the output of one input; give one profile, or leave --out out');
  return options;
}

/** Where a profile's graph goes by default: beside it, `.cpuprofile` replaced by `.svg`. */
export function defaultOutput(file: string): string {
  return `${file.replace(/\.cpuprofile$/, '')}.svg`;
}

/** One profile's SVG and text summary (heading, then the self-time table). */
export function flameGraphOf(file: string, profileText: string, title?: string, cwd = process.cwd()): { svg: string; summary: string } {
  const profile = parseCpuProfile(profileText, file);
  const shape = buildFlameTree(profile);
  const origin: ProfileOrigin = { file, role: guessRole(profile), pid: pidFromFileName(file) };
  const heading = title ?? defaultTitle(origin);
  const lines = headingLines(shape, origin);
  const svg = renderFlameGraph(shape, { title: heading, lines }, cwd);
  const table = shape.busySamples > 0 ? selfTimeTable(functionCosts(shape), shape.busySamples, TOP_FUNCTIONS, cwd) : '(no busy samples: the process was idle throughout)';
  const summary = [`## ${heading}`, '', ...lines, '', `Top ${TOP_FUNCTIONS} functions by self time, percent of busy samples:`, '', table].join('\n');
  return { svg, summary };
}

function main(argv: string[]): number {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(USAGE);
    return 0;
  }
  let options: FlameOptions;
  try {
    options = parseFlameArgs(argv);
  } catch (err) {
    console.error(`${err instanceof Error ? err.message : String(err)}\n\n${USAGE}`);
    return 2;
  }
  let failed = false;
  for (const file of options.files) {
    try {
      const { svg, summary } = flameGraphOf(file, fs.readFileSync(file, 'utf8'), options.title);
      const out = options.out ?? defaultOutput(file);
      fs.writeFileSync(out, svg);
      console.log(`${summary}\n\nwrote ${out}\n`);
    } catch (err) {
      // One unreadable profile should not cost the graphs of the others.
      console.error(err instanceof Error ? err.message : String(err));
      failed = true;
    }
  }
  return failed ? 1 : 0;
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));
