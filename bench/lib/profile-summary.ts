/**
 * The words around a flame graph: its heading (the same in the SVG and on stdout) and the
 * table of the functions with the most self time, in Markdown to paste into the docs.
 */
import path from 'node:path';
import { frameLocation, frameName } from './cpu-profile';
import type { FunctionCost, ProfileShape } from './profile-tree';

/** What the heading says about the profile besides the numbers. */
export interface ProfileOrigin {
  file: string;
  role?: string;
  pid?: number;
}

const count = (n: number): string => n.toLocaleString('en-US');

/** A share of `whole` as a percent with one decimal; 0 of 0 is 0. */
export function percent(part: number, whole: number): string {
  return whole > 0 ? ((100 * part) / whole).toFixed(1) : '0.0';
}

export function defaultTitle(origin: ProfileOrigin): string {
  return `CPU flame graph: ${origin.role ?? 'Node'} process${origin.pid !== undefined ? ` ${origin.pid}` : ''}`;
}

/**
 * Two lines: which profile, and what was sampled. The idle share is stated here because the
 * graph leaves it out, so that its widths are shares of the busy CPU.
 */
export function headingLines(shape: ProfileShape, origin: ProfileOrigin): [string, string] {
  const who = [path.basename(origin.file), origin.role ? `role: ${origin.role}` : 'role unknown', origin.pid !== undefined ? `pid ${origin.pid}` : '']
    .filter((s) => s !== '')
    .join(' · ');
  const seconds = (shape.sampledMicros / 1e6).toFixed(2);
  const what =
    `${seconds} s sampled, ${count(shape.samples)} samples; idle ${percent(shape.idleSamples, shape.samples)} % (left out), ` +
    `busy ${percent(shape.busySamples, shape.samples)} % = ${count(shape.busySamples)} samples, 100 % of the width`;
  return [who, what];
}

/** Escapes `|` so a function name cannot break the Markdown table. */
function cell(text: string): string {
  return text.replace(/\|/g, '\\|');
}

/**
 * The `limit` functions with the most self time as a Markdown table, shares of busy samples:
 * self (on top of the stack) and total (anywhere on it).
 */
export function selfTimeTable(costs: FunctionCost[], busySamples: number, limit = 20, cwd = process.cwd()): string {
  const rows = ['| self % | total % | samples | function | where |', '| ---: | ---: | ---: | --- | --- |'];
  for (const c of costs.slice(0, limit)) {
    if (c.self === 0) break;
    const where = frameLocation(c.frame, cwd) || (c.frame.functionName.startsWith('(') ? 'V8' : 'native');
    rows.push(`| ${percent(c.self, busySamples)} | ${percent(c.total, busySamples)} | ${count(c.self)} | \`${cell(frameName(c.frame))}\` | ${cell(where)} |`);
  }
  return rows.join('\n');
}
