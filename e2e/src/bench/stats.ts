/**
 * Summaries of repeated measurements (pure). Percentiles use the nearest-rank method: with K = 5 runs the p95 is
 * the largest sample, which is the honest reading of so few runs (no interpolation that invents a value).
 */

export interface SampleSummary {
  readonly count: number;
  readonly p50: number;
  readonly p95: number;
  readonly max: number;
  readonly min: number;
}

export class EmptySampleError extends Error {
  constructor(what: string) {
    super(`no samples to summarise for ${what}`);
    this.name = "EmptySampleError";
  }
}

/** Nearest-rank percentile: the smallest sample with at least `percent`% of the samples at or below it. */
export function nearestRankPercentile(samples: readonly number[], percent: number): number {
  if (samples.length === 0) throw new EmptySampleError(`p${percent}`);
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((percent / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1] ?? Number.NaN;
}

export function summarize(samples: readonly number[], what = "samples"): SampleSummary {
  if (samples.length === 0) throw new EmptySampleError(what);
  return {
    count: samples.length,
    p50: nearestRankPercentile(samples, 50),
    p95: nearestRankPercentile(samples, 95),
    max: Math.max(...samples),
    min: Math.min(...samples),
  };
}
