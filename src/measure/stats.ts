import type { LatencyStats } from '../results/record.js';

/**
 * Summary statistics. Percentiles use linear interpolation between order statistics
 * (Hyndman–Fan type 7, numpy's default): for sorted x of length n, p% sits at
 * h = (n − 1)·p/100 and is x[⌊h⌋] + (h − ⌊h⌋)·(x[⌊h⌋+1] − x[⌊h⌋]). The median is p50.
 */

function nonEmpty(xs: readonly number[], what: string): void {
  if (xs.length === 0) throw new Error(`${what} of no values`);
}

export function mean(xs: readonly number[]): number {
  nonEmpty(xs, 'mean');
  let s = 0;
  for (const x of xs) s += x;
  return s / xs.length;
}

/** Percentile p ∈ [0, 100] of already sorted values (type 7). */
export function percentileSorted(sorted: readonly number[], p: number): number {
  nonEmpty(sorted, 'percentile');
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile must be in [0, 100], got ${p}`);
  const h = ((sorted.length - 1) * p) / 100;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo]! + (h - lo) * (sorted[hi]! - sorted[lo]!);
}

export function sortedCopy(xs: readonly number[]): number[] {
  return [...xs].sort((a, b) => a - b);
}

/** Percentile p ∈ [0, 100] (type 7). */
export function percentile(xs: readonly number[], p: number): number {
  return percentileSorted(sortedCopy(xs), p);
}

export function median(xs: readonly number[]): number {
  return percentile(xs, 50);
}

/** Sample standard deviation (n − 1 denominator); 0 for a single value. */
export function stddev(xs: readonly number[]): number {
  const m = mean(xs);
  if (xs.length < 2) return 0;
  let ss = 0;
  for (const x of xs) ss += (x - m) ** 2;
  return Math.sqrt(ss / (xs.length - 1));
}

/** mean, median, p90, p99 as results carry them (vLLM's serving metrics use the same set). */
export function latencyStats(xs: readonly number[]): LatencyStats {
  const s = sortedCopy(xs);
  return { mean: mean(xs), median: percentileSorted(s, 50), p90: percentileSorted(s, 90), p99: percentileSorted(s, 99) };
}
