import type { MergeRows } from '../kernels/slerp.js';

const BINS = 4096;

/**
 * Running statistics of one merged stream (one pair, K or V) for PairDiagnostics: mean cosine,
 * retained fraction, and the distribution of d = Ω/π kept as a 4096-bin histogram (quantiles
 * to ±1/8192), so diagnostics cost O(1) memory however long the run.
 */
export class PairStats {
  vectors = 0;
  retained = 0;
  private cosSum = 0;
  private cosCount = 0;
  private dSum = 0;
  private dMax = -Infinity;
  readonly histogram = new Float64Array(BINS);

  add(m: MergeRows, rows: number, retained: number): void {
    this.vectors += rows;
    this.retained += retained;
    for (let r = 0; r < rows; r++) {
      const c = m.cos[r]!;
      if (c !== c) continue;
      const d = m.d[r]!;
      this.cosSum += c;
      this.cosCount++;
      this.dSum += d;
      if (d > this.dMax) this.dMax = d;
      this.histogram[Math.min(BINS - 1, Math.floor(d * BINS))]!++;
    }
  }

  meanCos(): number {
    return this.cosCount ? this.cosSum / this.cosCount : NaN;
  }

  retainedFraction(): number {
    return this.vectors ? this.retained / this.vectors : 0;
  }

  /** Angle summary over several streams (K and V of a pair together). */
  static angleSummary(stats: readonly PairStats[]): { mean: number; p10: number; p50: number; p90: number; max: number } {
    const hist = new Float64Array(BINS);
    let count = 0;
    let sum = 0;
    let max = -Infinity;
    for (const s of stats) {
      for (let i = 0; i < BINS; i++) hist[i]! += s.histogram[i]!;
      count += s.cosCount;
      sum += s.dSum;
      max = Math.max(max, s.dMax);
    }
    if (count === 0) return { mean: NaN, p10: NaN, p50: NaN, p90: NaN, max: NaN };
    const quantile = (q: number): number => {
      const target = q * count;
      let acc = 0;
      for (let i = 0; i < BINS; i++) {
        acc += hist[i]!;
        if (acc >= target) return Math.min(max, (i + 0.5) / BINS);
      }
      return max;
    };
    return { mean: sum / count, p10: quantile(0.1), p50: quantile(0.5), p90: quantile(0.9), max };
  }
}
