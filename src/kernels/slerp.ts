/**
 * MiniCache's cross-layer merge of one pair of [rows, width] blocks (spec §2.3, §2.11):
 * per row the two magnitudes, the angle and the unit SLERP direction of the two unit vectors.
 * `prev` is the shallower layer (weight sin((1-t)Ω)/sin Ω), `cur` the deeper one (sin(tΩ)/sin Ω).
 * Sums run in float64 (JS numbers); outputs are float32 (storage rounds further to fp16).
 */

/** Per-row outputs; each array holds at least `rows` entries (`dir` rows × width). */
export interface MergeRows {
  /** Unit SLERP directions (zero when both inputs are zero or non-finite). */
  dir: Float32Array;
  /** ‖prev‖ and ‖cur‖ per row. */
  magPrev: Float32Array;
  magCur: Float32Array;
  /** Angular distance Ω/π; NaN where undefined (a zero vector, non-finite input). */
  d: Float32Array;
  /** Cosine â·b̂ clamped to [-1, 1]; NaN where undefined. */
  cos: Float32Array;
  /** 1 where the row must be kept unmerged: antiparallel, non-finite, or a magnitude fp16 cannot hold. */
  forced: Uint8Array;
}

export interface SlerpOptions {
  /** Interpolation parameter: 0 gives prev's direction, 1 gives cur's. */
  t: number;
  /** A pair with cos < 0 and sin Ω below this is antiparallel: SLERP is ill-conditioned there. */
  antiparallelEps: number;
}

/** Near-parallel pairs use the linear limit (1-t, t), then renormalise (spec §2.11). */
export const PARALLEL_COS = 0.9995;
export const PARALLEL_SIN = 1e-6;
/** Largest magnitude fp16 stores as a finite number (65504 plus half an ulp, exclusive). */
export const HALF_LIMIT = 65520;

export function allocMergeRows(rows: number, width: number): MergeRows {
  return {
    dir: new Float32Array(rows * width),
    magPrev: new Float32Array(rows),
    magCur: new Float32Array(rows),
    d: new Float32Array(rows),
    cos: new Float32Array(rows),
    forced: new Uint8Array(rows),
  };
}

export function slerpMergeRows(prev: Float32Array, cur: Float32Array, rows: number, width: number, opts: SlerpOptions, out: MergeRows): void {
  const { t, antiparallelEps } = opts;
  const { dir } = out;
  if (rowWeights.length < 2 * rows) rowWeights = new Float64Array(2 * rows);
  const weights = rowWeights;
  for (let r = 0; r < rows; r++) {
    const o = r * width;
    // Two sets of accumulators: the loop-carried adds are what bound this loop.
    let aa = 0;
    let bb = 0;
    let ab = 0;
    let aa1 = 0;
    let bb1 = 0;
    let ab1 = 0;
    const end = o + width;
    let i = o;
    for (; i + 1 < end; i += 2) {
      const x = prev[i]!;
      const y = cur[i]!;
      const x1 = prev[i + 1]!;
      const y1 = cur[i + 1]!;
      aa += x * x;
      bb += y * y;
      ab += x * y;
      aa1 += x1 * x1;
      bb1 += y1 * y1;
      ab1 += x1 * y1;
    }
    if (i < end) {
      const x = prev[i]!;
      const y = cur[i]!;
      aa += x * x;
      bb += y * y;
      ab += x * y;
    }
    aa += aa1;
    bb += bb1;
    ab += ab1;
    rowSums[0] = aa;
    rowSums[1] = bb;
    rowSums[2] = ab;
    if (slerpWeightsRows(rowSums, 0, 1, t, antiparallelEps, out, r, weights, 2 * r) > 0) {
      dir.fill(0, o, o + width);
      continue;
    }
    const wa = weights[2 * r]!;
    const wb = weights[2 * r + 1]!;
    for (let j = o; j < end; j++) dir[j] = wa * prev[j]! + wb * cur[j]!;
  }
}

let rowWeights = new Float64Array(0);
const rowSums = new Float64Array(3);

/**
 * The per-row part of the merge, for `rows` rows from their float64 sums aa = ‖a‖², bb = ‖b‖²,
 * ab = a·b at sums[s0 + 3i…]: writes magPrev/magCur/d/cos/forced[r0 + i] and the weights (wa, wb)
 * of dir = wa·a + wb·b to w[w0 + 2i], w[w0 + 2i + 1]. A non-finite row gets weights NaN (its
 * direction is all zeros: the caller writes it). Returns the number of non-finite rows. Shared
 * by slerpMergeRows and the WebAssembly merge (which sums and writes in SIMD around it), so
 * both give the same bits.
 */
export function slerpWeightsRows(sums: Float64Array, s0: number, rows: number, t: number, antiparallelEps: number, out: MergeRows, r0: number, w: Float64Array, w0: number): number {
  const { magPrev, magCur, d, cos, forced } = out;
  let bad = 0;
  for (let i = 0; i < rows; i++) {
    const r = r0 + i;
    const aa = sums[s0 + 3 * i]!;
    const bb = sums[s0 + 3 * i + 1]!;
    const ab = sums[s0 + 3 * i + 2]!;
    if (!(Number.isFinite(aa) && Number.isFinite(bb) && Number.isFinite(ab))) {
      magPrev[r] = 0;
      magCur[r] = 0;
      d[r] = NaN;
      cos[r] = NaN;
      forced[r] = 1;
      w[w0 + 2 * i] = NaN;
      w[w0 + 2 * i + 1] = NaN;
      bad++;
      continue;
    }
    const na = Math.sqrt(aa);
    const nb = Math.sqrt(bb);
    magPrev[r] = na;
    magCur[r] = nb;
    let force = na >= HALF_LIMIT || nb >= HALF_LIMIT ? 1 : 0;
    let wa: number;
    let wb: number;
    if (na === 0 || nb === 0) {
      // A zero vector restores to zero whatever e is, so e is the other vector's direction.
      wa = na > 0 ? 1 / na : 0;
      wb = nb > 0 ? 1 / nb : 0;
      d[r] = NaN;
      cos[r] = NaN;
    } else {
      let c = ab / (na * nb);
      c = c > 1 ? 1 : c < -1 ? -1 : c;
      const omega = Math.acos(c);
      const s = Math.sin(omega);
      if (c < 0 && s < antiparallelEps) force = 1;
      if (s < PARALLEL_SIN || c > PARALLEL_COS) {
        wa = (1 - t) / na;
        wb = t / nb;
      } else {
        wa = Math.sin((1 - t) * omega) / (s * na);
        wb = Math.sin(t * omega) / (s * nb);
      }
      d[r] = omega / Math.PI;
      cos[r] = c;
    }
    forced[r] = force;
    // ‖wa·a + wb·b‖² from the sums already taken: one write pass instead of write + renormalise.
    const ee = wa * wa * aa + wb * wb * bb + 2 * wa * wb * ab;
    if (ee > 1e-12) {
      const k = 1 / Math.sqrt(ee);
      wa *= k;
      wb *= k;
    } else if (nb > 0 && (t >= 0.5 || na === 0)) {
      // Cancellation (antiparallel at t≈0.5): any finite unit vector will do, the row is retained.
      wa = 0;
      wb = 1 / nb;
    } else if (na > 0) {
      wa = 1 / na;
      wb = 0;
    } else {
      wa = 0;
      wb = 0;
    }
    w[w0 + 2 * i] = wa;
    w[w0 + 2 * i + 1] = wb;
  }
  return bad;
}
