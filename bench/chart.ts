/**
 * SVG chart of p99 latency against offered load (fanout sweep), no browser needed:
 * `npm run bench:chart [-- results.json [out.svg]]` redraws it from a suite's results.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Machine } from './report';

export interface ChartSeries {
  label: string;
  /** x: offered msg/s; y: p99 ms; deliveries: measured deliveries/s (shown on hover). */
  points: Array<{ x: number; y: number; deliveries?: number }>;
}

const W = 760;
const H = 460;
const M = { left: 70, right: 30, top: 50, bottom: 95 };
const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd'];

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function logTicks(lo: number, hi: number): number[] {
  const out: number[] = [];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
    for (const m of [1, 2, 5]) {
      const v = m * 10 ** e;
      if (v >= lo * 0.999 && v <= hi * 1.001) out.push(v);
    }
  }
  return out;
}

function label(v: number): string {
  if (v >= 1000) return `${v / 1000}k`;
  return String(+v.toPrecision(3));
}

/** Log-log line chart of the series, with the issue's p99 budgets marked. */
export function renderLoadChart(series: ChartSeries[], machine?: Machine, repeat?: number, budgets: Array<{ x: number; y: number; text: string }> = DEFAULT_BUDGETS): string {
  const all = series.flatMap((s) => s.points);
  const xs = all.map((p) => p.x);
  const ys = [...all.map((p) => p.y), ...budgets.map((b) => b.y)].filter((y) => y > 0);
  const xlo = Math.min(...xs) / 1.3;
  const xhi = Math.max(...xs) * 1.3;
  const ylo = 10 ** Math.floor(Math.log10(Math.min(...ys)));
  const yhi = 10 ** Math.ceil(Math.log10(Math.max(...ys)));
  const px = (x: number): number => M.left + ((Math.log10(x) - Math.log10(xlo)) / (Math.log10(xhi) - Math.log10(xlo))) * (W - M.left - M.right);
  const py = (y: number): number => H - M.bottom - ((Math.log10(y) - Math.log10(ylo)) / (Math.log10(yhi) - Math.log10(ylo))) * (H - M.top - M.bottom);
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  out.push(`<text x="${W / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">Fanout, 200 receivers: p99 end-to-end latency vs offered load</text>`);
  for (const t of logTicks(ylo, yhi)) {
    out.push(`<line x1="${M.left}" x2="${W - M.right}" y1="${py(t).toFixed(1)}" y2="${py(t).toFixed(1)}" stroke="#e4e4e4"/>`);
    out.push(`<text x="${M.left - 6}" y="${(py(t) + 4).toFixed(1)}" text-anchor="end">${label(t)}</text>`);
  }
  for (const t of [...new Set(xs)].sort((a, b) => a - b)) {
    out.push(`<line y1="${M.top}" y2="${H - M.bottom}" x1="${px(t).toFixed(1)}" x2="${px(t).toFixed(1)}" stroke="#e4e4e4"/>`);
    out.push(`<text x="${px(t).toFixed(1)}" y="${H - M.bottom + 16}" text-anchor="middle">${label(t)}</text>`);
  }
  out.push(`<rect x="${M.left}" y="${M.top}" width="${W - M.left - M.right}" height="${H - M.top - M.bottom}" fill="none" stroke="#888"/>`);
  out.push(`<text x="${(M.left + W - M.right) / 2}" y="${H - M.bottom + 36}" text-anchor="middle">offered load, messages/s from one sender (log scale); deliveries/s = 201 × that</text>`);
  out.push(`<text transform="translate(18 ${(M.top + H - M.bottom) / 2}) rotate(-90)" text-anchor="middle">p99 latency, ms (log scale)</text>`);
  for (const b of budgets) {
    if (b.x < xlo || b.x > xhi) continue;
    out.push(`<path d="M${(px(b.x) - 6).toFixed(1)},${py(b.y).toFixed(1)} h12" stroke="#333" stroke-width="2"/>`);
    const right = px(b.x) > W * 0.75;
    out.push(`<text x="${(px(b.x) + (right ? -9 : 9)).toFixed(1)}" y="${(py(b.y) + 4).toFixed(1)}" fill="#333" text-anchor="${right ? 'end' : 'start'}">${esc(b.text)}</text>`);
  }
  series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length]!;
    const pts = [...s.points].sort((a, b) => a.x - b.x);
    if (pts.length > 1) out.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${pts.map((p) => `${px(p.x).toFixed(1)},${py(p.y).toFixed(1)}`).join(' ')}"/>`);
    for (const p of pts) {
      const tip = `${s.label}: ${p.x} msg/s offered, p99 ${p.y.toPrecision(3)} ms${p.deliveries ? `, ${Math.round(p.deliveries).toLocaleString('en-US')} deliveries/s` : ''}`;
      out.push(`<circle cx="${px(p.x).toFixed(1)}" cy="${py(p.y).toFixed(1)}" r="4" fill="${color}"><title>${esc(tip)}</title></circle>`);
    }
    const ly = M.top + 14 + i * 18;
    out.push(`<line x1="${M.left + 12}" x2="${M.left + 36}" y1="${ly - 4}" y2="${ly - 4}" stroke="${color}" stroke-width="2"/>`);
    out.push(`<text x="${M.left + 42}" y="${ly}">${esc(s.label)}</text>`);
  });
  if (machine) {
    const what = `${machine.nproc} CPUs (${machine.cpuModel}), Node ${machine.node}, revision ${machine.revision}`;
    const how = `${repeat ? `medians of ${repeat} runs; ` : ''}a shared machine: see docs/PERFORMANCE.md for the other work running meanwhile`;
    out.push(`<text x="${W / 2}" y="${H - 30}" text-anchor="middle" fill="#555" font-size="11">${esc(what)}</text>`);
    out.push(`<text x="${W / 2}" y="${H - 14}" text-anchor="middle" fill="#555" font-size="11">${esc(how)}</text>`);
  }
  out.push('</svg>');
  return out.join('\n') + '\n';
}

/** The issue's budgets on this chart: p99 ≤ 3 ms at 1k msg/s, ≤ 50 ms at 10k msg/s. */
export const DEFAULT_BUDGETS = [
  { x: 1000, y: 3, text: 'budget 3 ms' },
  { x: 10_000, y: 50, text: 'budget 50 ms' },
];

if (require.main === module) {
  // Redraw from a saved suite: its `results` hold the sweep cases.
  void (async () => {
    const { sweepSeries, RESULTS_DIR } = await import('./suite');
    const input = process.argv[2] ?? path.join(RESULTS_DIR, 'latest.json');
    const output = process.argv[3] ?? path.join(RESULTS_DIR, 'fanout-p99.svg');
    const saved = JSON.parse(fs.readFileSync(input, 'utf8')) as { machine: Machine; repeat: number; results: Parameters<typeof sweepSeries>[0] };
    fs.writeFileSync(output, renderLoadChart(sweepSeries(saved.results), saved.machine, saved.repeat));
    console.log(`wrote ${output}`);
  })();
}
