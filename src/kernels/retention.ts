/**
 * Unmergeable-token retention (spec §2.4, §2.11) over one scope: the n tokens of one
 * (sequence, head, K|V, pair). d = Ω/π per token; NaN d (undefined angle) never enters the
 * statistics and is never retained by the rule; forced rows are always retained.
 */
export type RetentionMode = 'distinctBand' | 'literalLow' | 'topRatio';
export const RETENTION_MODES: readonly RetentionMode[] = ['distinctBand', 'literalLow', 'topRatio'];

export interface RetentionRule {
  mode: RetentionMode;
  /** Band width as a fraction of d's range (distinctBand, literalLow). */
  gamma: number;
  /** Fraction of tokens kept (topRatio): the ceil(ratio·n) most distant. */
  ratio: number;
}

export interface Selection {
  /** Number of indices written to `out` (ascending). */
  count: number;
  /**
   * Threshold kept for decode tokens: literalLow retains d < tau, the other modes d > tau
   * ("exceeds"). NaN when no token of the scope had a defined angle (never retains).
   */
  tau: number;
}

let sortScratch = new Float64Array(0);

export function selectRetained(
  d: Float32Array,
  dOffset: number,
  n: number,
  forced: Uint8Array,
  forcedOffset: number,
  rule: RetentionRule,
  out: Int32Array,
): Selection {
  let dMin = Infinity;
  let dMax = -Infinity;
  let finite = 0;
  for (let i = 0; i < n; i++) {
    const x = d[dOffset + i]!;
    if (x === x) {
      finite++;
      if (x < dMin) dMin = x;
      if (x > dMax) dMax = x;
    }
  }
  // keep(x) decides by the rule; `lo..hi` is the retained band of d values.
  let lo = Infinity;
  let hi = -Infinity;
  let tau = finite > 0 ? dMin : NaN;
  let topK = 0;
  let topTies = 0;
  if (finite > 0 && rule.mode === 'topRatio') {
    topK = Math.min(Math.ceil(rule.ratio * n), finite);
    if (topK > 0) {
      tau = kthLargest(d, dOffset, n, topK);
      lo = tau;
      hi = Infinity;
      // Tokens tied at tau are taken in index order until topK are kept.
      let above = 0;
      for (let i = 0; i < n; i++) if (d[dOffset + i]! > tau) above++;
      topTies = topK - above;
    } else tau = Infinity;
  } else if (finite > 0 && dMax > dMin) {
    const span = dMax - dMin;
    if (rule.mode === 'distinctBand') {
      tau = dMax - rule.gamma * span;
      lo = tau;
      hi = Infinity;
    } else {
      tau = dMin + rule.gamma * span;
      lo = -Infinity;
      hi = tau;
    }
  }
  let count = 0;
  for (let i = 0; i < n; i++) {
    const x = d[dOffset + i]!;
    let keep = forced[forcedOffset + i] === 1 || (x >= lo && x <= hi);
    if (keep && topK > 0 && x === tau && forced[forcedOffset + i] !== 1) {
      if (topTies > 0) topTies--;
      else keep = false;
    }
    if (keep) out[count++] = i;
  }
  return { count, tau };
}

/** Whether a decode token with distance d joins the retained set of a scope with threshold tau. */
export function retainsDecode(mode: RetentionMode, tau: number, d: number): boolean {
  return mode === 'literalLow' ? d < tau : d > tau;
}

function kthLargest(d: Float32Array, offset: number, n: number, k: number): number {
  if (sortScratch.length < n) sortScratch = new Float64Array(n);
  let m = 0;
  for (let i = 0; i < n; i++) {
    const x = d[offset + i]!;
    if (x === x) sortScratch[m++] = x;
  }
  const sorted = sortScratch.subarray(0, m).sort();
  return sorted[m - k]!;
}
