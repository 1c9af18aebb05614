/**
 * MiniCache restoration (spec §2.6, Eq. 2) of one pair's rows: x̂ = ‖x‖ · e/‖e‖ for both layers.
 * e is renormalised here because a stored direction is not unit-norm after fp16 rounding or
 * KIVI quantization. Retained rows are written afterwards by the caller (putRows / writeRow).
 */
export function restoreRows(
  dir: Float32Array,
  magPrev: Float32Array,
  magCur: Float32Array,
  rows: number,
  width: number,
  outPrev: Float32Array,
  outCur: Float32Array,
): void {
  // outCur may alias dir: every element is read before it is written.
  for (let r = 0; r < rows; r++) {
    const o = r * width;
    // Two accumulators: the loop-carried add is what bounds this loop.
    let s0 = 0;
    let s1 = 0;
    const end = o + width;
    let i = o;
    for (; i + 1 < end; i += 2) {
      const x = dir[i]!;
      const y = dir[i + 1]!;
      s0 += x * x;
      s1 += y * y;
    }
    if (i < end) s0 += dir[i]! * dir[i]!;
    const s = s0 + s1;
    const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
    const kp = magPrev[r]! * inv;
    const kc = magCur[r]! * inv;
    for (let j = o; j < end; j++) {
      const x = dir[j]!;
      outPrev[j] = x * kp;
      outCur[j] = x * kc;
    }
  }
}

/** Mean-merge baseline: the pair's average, used as-is for both layers (spec §2.3). */
export function meanRows(prev: Float32Array, cur: Float32Array, count: number, out: Float32Array): void {
  for (let i = 0; i < count; i++) out[i] = 0.5 * (prev[i]! + cur[i]!);
}
