import type { RunningServer } from './server';

/**
 * Test harness for `--metrics-port`: the port the server chose, HTTP GETs, and a strict parser
 * of the Prometheus text exposition format (version 0.0.4).
 */

/** The metrics port of a server started with `--metrics-port 0` (from its 'metrics listening' log line). */
export async function metricsPort(server: RunningServer): Promise<number> {
  const line = await server.waitForLog((l) => l.msg === 'metrics listening' && l.role === 'supervisor');
  return line.metricsPort as number;
}

export async function get(port: number, path: string): Promise<{ status: number; type: string | null; body: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(10_000) });
  return { status: res.status, type: res.headers.get('content-type'), body: await res.text() };
}

/** One sample: metric name, labels, value. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const LABEL = `[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\\\n]|\\\\[\\\\"n])*"`;
const SAMPLE_LINE = new RegExp(`^(${NAME})(?:\\{((?:${LABEL})(?:,${LABEL})*)?,?\\})? (-?(?:[0-9]+(?:\\.[0-9]*)?|\\.[0-9]+)(?:[eE][-+]?[0-9]+)?|NaN|Nan|\\+Inf|-Inf)(?: -?[0-9]+)?$`);
const HELP_LINE = new RegExp(`^# HELP (${NAME}) .*$`);
const TYPE_LINE = new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram|summary|untyped)$`);

/**
 * Parses an exposition; throws naming the first line that breaks the format: a sample line
 * that does not match the grammar, a sample of a family with no TYPE line before it, a TYPE
 * given twice, or the same series twice.
 */
export function parseExposition(text: string): Sample[] {
  const types = new Map<string, string>();
  const seen = new Set<string>();
  const samples: Sample[] = [];
  text.split('\n').forEach((line, i) => {
    if (line === '') return;
    if (line.startsWith('#')) {
      const type = TYPE_LINE.exec(line);
      if (type) {
        if (types.has(type[1]!)) throw new Error(`line ${i + 1}: second TYPE for ${type[1]}`);
        types.set(type[1]!, type[2]!);
        return;
      }
      if (HELP_LINE.test(line)) return;
      if (line.startsWith('# HELP') || line.startsWith('# TYPE')) throw new Error(`line ${i + 1}: malformed: ${line}`);
      return;
    }
    const m = SAMPLE_LINE.exec(line);
    if (!m) throw new Error(`line ${i + 1}: not a sample line: ${line}`);
    const name = m[1]!;
    const family = [name, name.replace(/_(bucket|sum|count)$/, '')].find((n) => types.has(n));
    if (!family) throw new Error(`line ${i + 1}: sample of ${name} with no TYPE before it`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    const key = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
    if (seen.has(key)) throw new Error(`line ${i + 1}: series given twice: ${line}`);
    seen.add(key);
    // prom-client prints NaN as "Nan"; Prometheus reads either (Go's ParseFloat ignores case).
    const raw = m[3]!;
    samples.push({ name, labels, value: raw === '+Inf' ? Infinity : raw === '-Inf' ? -Infinity : Number(raw) });
  });
  return samples;
}

/** The sum of `name`'s samples whose labels include `where`. */
export function total(samples: Sample[], name: string, where: Record<string, string> = {}): number {
  return samples.filter((s) => s.name === name && Object.entries(where).every(([k, v]) => s.labels[k] === v)).reduce((sum, s) => sum + s.value, 0);
}

/** Scrapes `/metrics` and parses it. */
export async function scrape(port: number): Promise<Sample[]> {
  const res = await get(port, '/metrics');
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}: ${res.body}`);
  return parseExposition(res.body);
}
