import { createPrng } from './prng.js';
import { mean, median, percentileSorted } from './stats.js';

/**
 * Seeded percentile bootstrap. Each resample draws n indices with replacement from the
 * project's PRNG; the interval is the (α/2, 1 − α/2) type-7 percentiles of the resampled
 * statistic. Equal inputs and seed give equal intervals on every runtime.
 */
export interface BootstrapOptions {
  seed: number | string;
  /** Number of resamples (default 10000). */
  resamples?: number;
  /** Coverage of the interval (default 0.95). */
  confidence?: number;
}

export interface Interval {
  /** The statistic on the original sample. */
  estimate: number;
  lo: number;
  hi: number;
  n: number;
  resamples: number;
}

/** Percentile-bootstrap interval of any statistic of one sample. */
export function bootstrapCi(xs: readonly number[], statistic: (sample: number[]) => number, opts: BootstrapOptions): Interval {
  const n = xs.length;
  if (n === 0) throw new Error('bootstrap of no values');
  const resamples = opts.resamples ?? 10_000;
  const confidence = opts.confidence ?? 0.95;
  if (!(confidence > 0 && confidence < 1)) throw new RangeError(`confidence must be in (0, 1), got ${confidence}`);
  if (!Number.isInteger(resamples) || resamples < 1) throw new RangeError(`resamples must be a positive integer, got ${resamples}`);
  const rng = createPrng(opts.seed);
  const stats = new Array<number>(resamples);
  const sample = new Array<number>(n);
  for (let r = 0; r < resamples; r++) {
    for (let i = 0; i < n; i++) sample[i] = xs[rng.int(n)]!;
    stats[r] = statistic(sample);
  }
  stats.sort((a, b) => a - b);
  const alpha = (1 - confidence) / 2;
  return {
    estimate: statistic([...xs]),
    lo: percentileSorted(stats, 100 * alpha),
    hi: percentileSorted(stats, 100 * (1 - alpha)),
    n,
    resamples,
  };
}

/**
 * Paired bootstrap of mean(method − baseline) over items: the items are resampled together, so
 * item difficulty cancels. Both arrays are per-item scores in the same item order.
 */
export function pairedBootstrapMeanDiff(method: readonly number[], baseline: readonly number[], opts: BootstrapOptions): Interval {
  if (method.length !== baseline.length) throw new Error(`paired bootstrap: ${method.length} method items but ${baseline.length} baseline items`);
  return bootstrapCi(
    method.map((m, i) => m - baseline[i]!),
    mean,
    opts,
  );
}

/** Bootstrap interval of the median, e.g. of timing repeats. */
export function bootstrapMedianCi(xs: readonly number[], opts: BootstrapOptions): Interval {
  return bootstrapCi(xs, median, opts);
}
