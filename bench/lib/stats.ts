// Summary statistics over a list of samples (milliseconds, usually). Percentiles use
// linear interpolation between the closest ranks (the "type 7" estimator that numpy
// and R use by default), so p50 is the usual median.

export interface Stats {
  n: number;
  min: number;
  max: number;
  mean: number;
  median: number;
  p50: number;
  p90: number;
  p99: number;
  /** Sample standard deviation (n − 1); 0 for fewer than two samples. */
  stdev: number;
}

/** The q-quantile (0 ≤ q ≤ 1) of already sorted samples. */
export function quantileSorted(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  if (q <= 0) return sorted[0]!;
  if (q >= 1) return sorted[sorted.length - 1]!;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

export function percentile(samples: readonly number[], p: number): number {
  return quantileSorted([...samples].sort((a, b) => a - b), p / 100);
}

export function median(samples: readonly number[]): number {
  return percentile(samples, 50);
}

export function summarize(samples: readonly number[]): Stats {
  const sorted = [...samples].sort((a, b) => a - b);
  const n = sorted.length;
  const mean = n === 0 ? Number.NaN : sorted.reduce((s, x) => s + x, 0) / n;
  const variance = n < 2 ? 0 : sorted.reduce((s, x) => s + (x - mean) ** 2, 0) / (n - 1);
  const p50 = quantileSorted(sorted, 0.5);
  return {
    n,
    min: n === 0 ? Number.NaN : sorted[0]!,
    max: n === 0 ? Number.NaN : sorted[n - 1]!,
    mean,
    median: p50,
    p50,
    p90: quantileSorted(sorted, 0.9),
    p99: quantileSorted(sorted, 0.99),
    stdev: Math.sqrt(variance),
  };
}

/** Element-wise a[i] − b[i], for paired (interleaved) samples. */
export function pairedDifferences(a: readonly number[], b: readonly number[]): number[] {
  if (a.length !== b.length) throw new Error(`paired samples differ in length: ${a.length} vs ${b.length}`);
  return a.map((x, i) => x - b[i]!);
}

/** Rounds for storage: timings to the microsecond are plenty. */
export function round(x: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

export function roundStats(s: Stats): Stats {
  const r = (x: number): number => round(x);
  return { n: s.n, min: r(s.min), max: r(s.max), mean: r(s.mean), median: r(s.median), p50: r(s.p50), p90: r(s.p90), p99: r(s.p99), stdev: r(s.stdev) };
}
