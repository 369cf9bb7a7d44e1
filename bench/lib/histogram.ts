import * as hdr from 'hdr-histogram-js';

/**
 * Latency histograms (HdrHistogram, 3 significant digits) recorded in microseconds. Generator
 * processes send theirs to the parent compressed (base64), where they are merged.
 */

export type Histogram = hdr.Histogram;

/**
 * The WebAssembly histograms record in ~50 ns where the JS ones take ~250 ns: at a million
 * deliveries a second that is a quarter of a core of generator CPU. JS if it cannot load.
 */
const wasm = ((): boolean => {
  try {
    hdr.initWebAssemblySync();
    return true;
  } catch {
    return false;
  }
})();

/** 1 µs .. 10 min, auto-resizing past that; 3 significant digits. */
export function newHistogram(): Histogram {
  return hdr.build({ bitBucketSize: 64, lowestDiscernibleValue: 1, highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: 3, useWebAssembly: wasm });
}

export function encode(h: Histogram): string {
  return hdr.encodeIntoCompressedBase64(h);
}

/** Merges encoded histograms into one new histogram. */
export function mergeEncoded(encoded: Iterable<string>): Histogram {
  const total = newHistogram();
  for (const e of encoded) {
    const h = hdr.decodeFromCompressedBase64(e, 64, wasm);
    total.add(h);
    h.destroy();
  }
  return total;
}

/** Latency summary in milliseconds. */
export interface LatencySummary {
  count: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
}

export function summarize(h: Histogram): LatencySummary {
  if (h.totalCount === 0) return { count: 0, p50: NaN, p99: NaN, p999: NaN, max: NaN };
  const ms = (us: number): number => us / 1000;
  return {
    count: h.totalCount,
    p50: ms(h.getValueAtPercentile(50)),
    p99: ms(h.getValueAtPercentile(99)),
    p999: ms(h.getValueAtPercentile(99.9)),
    max: ms(h.maxValue),
  };
}

/** Merges encoded histograms, summarizes, and frees the merge. */
export function summarizeEncoded(encoded: Iterable<string>): LatencySummary {
  const h = mergeEncoded(encoded);
  const summary = summarize(h);
  h.destroy();
  return summary;
}
