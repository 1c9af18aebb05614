import { describe, expect, it } from 'vitest';
import { createPrng, prngFromState, splitmix64 } from '../../src/measure/prng.js';
import { latencyStats, mean, median, percentile, stddev } from '../../src/measure/stats.js';
import { bootstrapCi, bootstrapMedianCi, pairedBootstrapMeanDiff } from '../../src/measure/bootstrap.js';
import { pyRound } from '../../src/workloads/py-round.js';

describe('prng', () => {
  it('splitmix64 gives the reference first output for seed 0', () => {
    expect(splitmix64(0n)[1]).toBe(0xe220a8397b1dcdafn);
  });

  it('xoshiro128** from state {1, 2, 3, 4}: 11520, 0, 5927040 (worked by hand)', () => {
    const r = prngFromState([1, 2, 3, 4]);
    expect([r.nextUint32(), r.nextUint32(), r.nextUint32()]).toEqual([11520, 0, 5927040]);
  });

  it('same seed, same stream; different seeds and forks differ', () => {
    const a = createPrng(42);
    const b = createPrng(42);
    const xs = Array.from({ length: 5 }, () => a.next());
    expect(Array.from({ length: 5 }, () => b.next())).toEqual(xs);
    expect(createPrng(43).next()).not.toBe(xs[0]);
    expect(createPrng('42').next()).not.toBe(xs[0]);
    // forks depend on the seed and label only, not on how much was drawn before
    const c = createPrng(42);
    c.next();
    expect(c.fork('x').next()).toBe(createPrng(42).fork('x').next());
    expect(createPrng(42).fork('y').next()).not.toBe(createPrng(42).fork('x').next());
  });

  it('int(n) stays in range and covers it evenly', () => {
    const r = createPrng(7);
    const counts = new Array(6).fill(0);
    for (let i = 0; i < 60000; i++) counts[r.int(6)]++;
    for (const c of counts) expect(Math.abs(c - 10000)).toBeLessThan(400);
  });

  it('normal() has mean ≈ 0 and sd ≈ 1', () => {
    const r = createPrng(1);
    const xs = Array.from({ length: 50000 }, () => r.normal());
    expect(Math.abs(mean(xs))).toBeLessThan(0.02);
    expect(Math.abs(stddev(xs) - 1)).toBeLessThan(0.02);
  });

  it('shuffle is a permutation', () => {
    const xs = createPrng(3).shuffle(Array.from({ length: 50 }, (_, i) => i));
    expect([...xs].sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(xs).not.toEqual(Array.from({ length: 50 }, (_, i) => i));
  });
});

describe('stats', () => {
  it('type-7 percentiles, worked by hand on [1, 2, 3, 4]', () => {
    const xs = [4, 1, 3, 2];
    expect(median(xs)).toBe(2.5); // h = 1.5
    expect(percentile(xs, 90)).toBeCloseTo(3.7, 12); // h = 2.7 → 3 + 0.7·1
    expect(percentile(xs, 99)).toBeCloseTo(3.97, 12); // h = 2.97
    expect(percentile(xs, 0)).toBe(1);
    expect(percentile(xs, 100)).toBe(4);
    expect(median([5])).toBe(5);
    expect(latencyStats([10, 20, 30])).toEqual({ mean: 20, median: 20, p90: 28, p99: 29.8 });
  });

  it('empty input is an error', () => {
    expect(() => mean([])).toThrow(/no values/);
    expect(() => median([])).toThrow(/no values/);
  });

  it("pyRound rounds exact ties to even, everything else from the exact binary value", () => {
    expect(pyRound(12.5)).toBe(12);
    expect(pyRound(13.5)).toBe(14);
    expect(pyRound(0.125, 2)).toBe(0.12);
    expect(pyRound(0.375, 2)).toBe(0.38);
    expect(pyRound(2.675, 2)).toBe(2.67); // 2.675 is 2.67499999… in binary
    expect(pyRound(33.333333, 2)).toBe(33.33);
    expect(pyRound(66.666666, 2)).toBe(66.67);
  });
});

describe('bootstrap', () => {
  it('identical differences give a zero-width interval at that difference', () => {
    const ci = pairedBootstrapMeanDiff([0.5, 0.75, 1], [0.25, 0.5, 0.75], { seed: 1, resamples: 200 });
    expect(ci).toMatchObject({ estimate: 0.25, lo: 0.25, hi: 0.25, n: 3 });
  });

  it('is deterministic for a seed and changes with it', () => {
    const m = [1, 0, 1, 1, 0, 1, 0.5, 1, 0, 1];
    const b = [1, 0, 0, 1, 0, 1, 0.5, 0, 0, 1];
    const x = pairedBootstrapMeanDiff(m, b, { seed: 9, resamples: 2000 });
    expect(pairedBootstrapMeanDiff(m, b, { seed: 9, resamples: 2000 })).toEqual(x);
    expect(x.estimate).toBeCloseTo(0.2, 12);
    expect(x.lo).toBeLessThanOrEqual(x.estimate);
    expect(x.hi).toBeGreaterThanOrEqual(x.estimate);
    expect(x.lo).toBeGreaterThanOrEqual(0); // the two differences are both +1: no resample goes negative
    expect(pairedBootstrapMeanDiff(m, b, { seed: 10, resamples: 2000 })).not.toEqual(x);
  });

  it('pairing cancels item difficulty: a constant shift over very different items has a tight interval', () => {
    const base = Array.from({ length: 40 }, (_, i) => (i % 5) / 5);
    const method = base.map((x) => x + 0.1);
    const ci = pairedBootstrapMeanDiff(method, base, { seed: 2, resamples: 500 });
    expect(ci.hi - ci.lo).toBeLessThan(1e-12);
  });

  it('95% intervals cover the true mean about 95% of the time (seeded simulation)', () => {
    const rng = createPrng('coverage');
    let covered = 0;
    const trials = 300;
    for (let t = 0; t < trials; t++) {
      const xs = Array.from({ length: 60 }, () => 0.3 + rng.normal());
      const ci = bootstrapCi(xs, mean, { seed: t, resamples: 1000 });
      if (ci.lo <= 0.3 && 0.3 <= ci.hi) covered++;
    }
    // percentile bootstrap of a mean at n = 60 is slightly liberal; a broken one lands far outside
    expect(covered / trials).toBeGreaterThan(0.9);
    expect(covered / trials).toBeLessThan(0.985);
  });

  it('median interval brackets the median of timing repeats', () => {
    const ci = bootstrapMedianCi([10.2, 10.4, 9.9, 10.1, 30.0, 10.3, 10.0], { seed: 5, resamples: 2000 });
    expect(ci.estimate).toBe(10.2);
    expect(ci.lo).toBeLessThanOrEqual(10.2);
    expect(ci.hi).toBeGreaterThanOrEqual(10.2);
    // The 30.0 outlier reaches a resample's median only when it is drawn 4+ times of 7 (p ≈ 0.5%),
    // below the 2.5% tail: the 95% interval stays within the other repeats (9.9…10.4).
    expect(ci.lo).toBeGreaterThanOrEqual(9.9);
    expect(ci.hi).toBeLessThanOrEqual(10.4);
  });

  it('mismatched pairs are an error', () => {
    expect(() => pairedBootstrapMeanDiff([1], [1, 2], { seed: 1 })).toThrow(/paired/);
  });
});
