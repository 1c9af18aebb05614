/**
 * numpy's float64 arithmetic where LongBench's eval.py leans on it (LongBench-E's
 * `round(100 * np.mean(scores), 2)`), so bucket scores match to the last digit: np.mean sums
 * pairwise (not left to right) and round() of an np.float64 is numpy's, not Python's
 * (`rint(x * 100) / 100`: 86.535 gives 86.54 where Python's round gives 86.53).
 */

/** numpy's pairwise_sum for float64 (8 accumulators up to 128 items, halves above), as np.add.reduce of ≤ 8192 items. */
export function numpyPairwiseSum(xs: readonly number[], start = 0, n = xs.length - start): number {
  if (n < 8) {
    let res = 0;
    for (let i = 0; i < n; i++) res += xs[start + i]!;
    return res;
  }
  if (n <= 128) {
    const r = xs.slice(start, start + 8);
    let i = 8;
    for (; i < n - (n % 8); i += 8) for (let j = 0; j < 8; j++) r[j]! += xs[start + i + j]!;
    let res = r[0]! + r[1]! + (r[2]! + r[3]!) + (r[4]! + r[5]! + (r[6]! + r[7]!));
    for (; i < n; i++) res += xs[start + i]!;
    return res;
  }
  let n2 = Math.floor(n / 2);
  n2 -= n2 % 8;
  return numpyPairwiseSum(xs, start, n2) + numpyPairwiseSum(xs, start + n2, n - n2);
}

/** np.mean of a float64 list (NaN for an empty one, as numpy warns and returns). */
export function numpyMean(xs: readonly number[]): number {
  if (xs.length > 8192) throw new RangeError('numpyMean: more than 8192 items (numpy then sums buffer by buffer; not emulated)');
  return numpyPairwiseSum(xs) / xs.length;
}

/** rint: round half to even. */
function rint(y: number): number {
  const f = Math.floor(y);
  const d = y - f;
  if (d < 0.5) return f;
  if (d > 0.5) return f + 1;
  return f % 2 === 0 ? f : f + 1;
}

/** round(np.float64(x), decimals) = np.round: multiply by 10^decimals, rint, divide. */
export function numpyRound(x: number, decimals: number): number {
  if (!Number.isFinite(x)) return x;
  const f = 10 ** decimals;
  return rint(x * f) / f;
}
