// AssemblyScript: the WebAssembly SIMD (128-bit) versions of src/kernels/*.ts.
// Compiled by wasm/build.mjs into src/kernels/wasm/kernels-wasm.gen.ts (base64); loaded by
// src/kernels/wasm/heap.ts. Every kernel works on data already in the heap's linear memory:
// pointers are byte addresses, counts and strides are in elements.
//
// Contract: each kernel but restoreRows gives the same bits as its TypeScript reference (the
// test oracle). Where the reference computes in float64 (merge sums and weights) we do too, in
// the same order; where it computes in float32 (the quantizer) or float32 is provably the same
// (fp16 conversion, dequantization) we use f32x4. restoreRows computes in f32 (see there):
// within a stated bound of the reference.
// Shape preconditions (checked by the TypeScript wrapper, which falls back to the reference):
// quantTokens needs width % 4 == 0 and width ≥ 16, dequantTokens width % 4 == 0,
// quantChannels G % 4 == 0, dequantChannels G % 16 == 0.

// ── fp16 ────────────────────────────────────────────────────────────────────────────────────

// 2^112: rescales a half's exponent field shifted into float position (bias 15 → 127).
const HALF_SCALE: f32 = 5.192296858534828e33;

/**
 * Four halves in the high 16 bits of each i32 lane (low bits zero: an unpack with zero puts them
 * there in one instruction) → four floats. shr_s by 3 moves the half's exponent and mantissa to
 * the float's positions and copies the sign into bits 31..28; the mask keeps bit 31 and clears
 * the copies; × 2^112 rebiases the exponent (exact for normals and subnormals alike, ±0 stays).
 * Seven operations, where extending, masking and shifting the sign separately took eleven.
 */
@inline function halfHiToF32x4(x: v128): v128 {
  const b = v128.and(i32x4.shr_s(x, 3), i32x4.splat(0x8fffe000));
  const f = f32x4.mul(b, f32x4.splat(HALF_SCALE));
  // Exponent 31 (inf/nan): force the float exponent to all ones, keeping the mantissa.
  const big = i32x4.eq(v128.and(b, i32x4.splat(0x0f800000)), i32x4.splat(0x0f800000));
  return v128.or(f, v128.and(big, i32x4.splat(0x7f800000)));
}

/** halfHiToF32x4 for halves known finite (unit directions): no inf/nan fix-up, three operations. */
@inline function finiteHalfHiToF32x4(x: v128): v128 {
  return f32x4.mul(v128.and(i32x4.shr_s(x, 3), i32x4.splat(0x8fffe000)), f32x4.splat(HALF_SCALE));
}

/** Halves 0..3 / 4..7 of an i16x8 into the high halves of i32 lanes (punpcklwd / punpckhwd with zero). */
@inline function halvesLo(v: v128): v128 {
  return i8x16.shuffle(i32x4.splat(0), v, 0, 1, 16, 17, 2, 3, 18, 19, 4, 5, 20, 21, 6, 7, 22, 23);
}
@inline function halvesHi(v: v128): v128 {
  return i8x16.shuffle(i32x4.splat(0), v, 8, 9, 24, 25, 10, 11, 26, 27, 12, 13, 28, 29, 14, 15, 30, 31);
}

/** Four halves (low 16 bits of each i32 lane) → four floats. */
@inline function halfToF32x4(h: v128): v128 {
  return halfHiToF32x4(i32x4.shl(h, 16));
}

/** Four floats → four halves (i32 lanes), round to nearest even; bit-identical to floatToHalf. */
@inline function f32x4ToHalf(f: v128): v128 {
  const abs = v128.and(f, i32x4.splat(0x7fffffff));
  const sign = i32x4.shr_u(v128.and(f, i32x4.splat(0x80000000)), 16);
  // Normal halves (float exponent 113..142): rebias, add the rounding bias, shift; a carry into
  // the exponent (up to inf) is the right answer.
  const odd = v128.and(i32x4.shr_u(abs, 13), i32x4.splat(1));
  const nrm = i32x4.shr_u(i32x4.add(i32x4.add(abs, i32x4.splat(0x0fff - 0x38000000)), odd), 13);
  // Subnormal halves and zero: adding 0.5 makes the FPU round at 2^-24, ties to even.
  const sub = i32x4.sub(f32x4.add(abs, f32x4.splat(0.5)), i32x4.splat(0x3f000000));
  // abs < 2^31, so signed compares order it as unsigned ones would: one instruction each on
  // x86, where V8 spends four on an unsigned compare.
  let r = v128.bitselect(sub, nrm, i32x4.lt_s(abs, i32x4.splat(0x38800000)));
  r = v128.bitselect(i32x4.splat(0x7c00), r, i32x4.gt_s(abs, i32x4.splat(0x477fffff)));
  r = v128.bitselect(i32x4.splat(0x7e00), r, i32x4.gt_s(abs, i32x4.splat(0x7f800000)));
  return v128.or(r, sign);
}

@inline function halfToF32(h: u32): f32 {
  return f32x4.extract_lane(halfToF32x4(i32x4.splat(h)), 0);
}

@inline function f32ToHalf(x: f32): u32 {
  return i32x4.extract_lane(f32x4ToHalf(f32x4.splat(x)), 0);
}

/** fp16 → f32 for `rows` rows of `count` elements (row strides in elements). */
export function decodeHalfRows(src: usize, srcStride: i32, dst: usize, dstStride: i32, rows: i32, count: i32): void {
  for (let r = 0; r < rows; r++) {
    const s = src + (<usize>(r * srcStride) << 1);
    const d = dst + (<usize>(r * dstStride) << 2);
    let i = 0;
    for (; i + 8 <= count; i += 8) {
      const h = v128.load(s + (<usize>i << 1));
      v128.store(d + (<usize>i << 2), halfHiToF32x4(halvesLo(h)));
      v128.store(d + (<usize>i << 2), halfHiToF32x4(halvesHi(h)), 16);
    }
    for (; i < count; i++) store<f32>(d + (<usize>i << 2), halfToF32(load<u16>(s + (<usize>i << 1))));
  }
}

/** f32 → fp16 for `rows` rows of `count` elements (row strides in elements). */
export function encodeHalfRows(src: usize, srcStride: i32, dst: usize, dstStride: i32, rows: i32, count: i32): void {
  for (let r = 0; r < rows; r++) {
    const s = src + (<usize>(r * srcStride) << 2);
    const d = dst + (<usize>(r * dstStride) << 1);
    let i = 0;
    for (; i + 8 <= count; i += 8) {
      const a = f32x4ToHalf(v128.load(s + (<usize>i << 2)));
      const b = f32x4ToHalf(v128.load(s + (<usize>i << 2), 16));
      v128.store(d + (<usize>i << 1), i16x8.narrow_i32x4_u(a, b));
    }
    for (; i < count; i++) store<u16>(d + (<usize>i << 1), <u16>f32ToHalf(load<f32>(s + (<usize>i << 2))));
  }
}

// ── float64 helpers ─────────────────────────────────────────────────────────────────────────

@inline function lo64(x: v128): v128 {
  return f64x2.promote_low_f32x4(x);
}
@inline function hi64(x: v128): v128 {
  return f64x2.promote_low_f32x4(i32x4.shuffle(x, x, 2, 3, 2, 3));
}
/** Two f64x2 → one f32x4, each lane rounded once (as a Float32Array store rounds a double). */
@inline function demote2(a: v128, b: v128): v128 {
  return i64x2.shuffle(f32x4.demote_f64x2_zero(a), f32x4.demote_f64x2_zero(b), 0, 2);
}

// ── restore (spec §2.6) ─────────────────────────────────────────────────────────────────────

/** acc += x² in f32, lane j summing the elements ≡ j (mod 4) of the row. */
@inline function sumSq(acc: v128, x: v128): v128 {
  return f32x4.add(acc, f32x4.mul(x, x));
}

/** Decode 8 halves at h into f32 at oc; returns acc with their squares added. */
@inline function decodeSum8(h: usize, oc: usize, acc: v128): v128 {
  const v = v128.load(h);
  // Stored directions are unit vectors (merge writes a zero direction for non-finite rows):
  // finite halves, so the inf/nan fix-up is skipped.
  const x0 = finiteHalfHiToF32x4(halvesLo(v));
  const x1 = finiteHalfHiToF32x4(halvesHi(v));
  v128.store(oc, x0);
  v128.store(oc, x1, 16);
  return sumSq(sumSq(acc, x0), x1);
}

/**
 * Finish row r: squares of elements i0… (f32 at src) into the sums, then
 * outPrev/outCur = f32(x · magnitude/‖e‖) in float64.
 */
@inline function finishRow(src: usize, op: usize, oc: usize, width: i32, i0: i32, acc: v128, mp: f32, mc: f32): void {
  let i = i0;
  for (; i + 4 <= width; i += 4) acc = sumSq(acc, v128.load(src + (<usize>i << 2)));
  let s = <f64>f32x4.extract_lane(acc, 0) + <f64>f32x4.extract_lane(acc, 1) + <f64>f32x4.extract_lane(acc, 2) + <f64>f32x4.extract_lane(acc, 3);
  for (; i < width; i++) {
    const x = <f64>load<f32>(src + (<usize>i << 2));
    s += x * x;
  }
  const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
  const kp = <f32>(<f64>mp * inv);
  const kc = <f32>(<f64>mc * inv);
  const vp = f32x4.splat(kp);
  const vc = f32x4.splat(kc);
  i = 0;
  for (; i + 4 <= width; i += 4) {
    const x = v128.load(src + (<usize>i << 2));
    v128.store(op + (<usize>i << 2), f32x4.mul(x, vp));
    v128.store(oc + (<usize>i << 2), f32x4.mul(x, vc));
  }
  for (; i < width; i++) {
    const x = load<f32>(src + (<usize>i << 2));
    store<f32>(op + (<usize>i << 2), x * kp);
    store<f32>(oc + (<usize>i << 2), x * kc);
  }
}

/**
 * x̂ = ‖x‖ · e/‖e‖ for both layers of `rows` rows of `width` (restoreRows). The direction is fp16
 * (`dirIsHalf`, decoded here into outCur: one pass over the record) or f32 at dir (may alias
 * outCur); magnitudes are fp16. The one kernel that is not bit-identical to its reference: ‖e‖²
 * is summed in f32 (four lanes) and the scale applied in f32 — float64 here cost a third of
 * the throughput (measured). Relative difference per element ≤ (width/4 + 3)·2^-24 (3e-6 at
 * width 128), far below the fp16 rounding of what is stored. Four rows are summed together so
 * their add chains overlap.
 */
export function restoreRows(dir: usize, dirIsHalf: bool, magPrev: usize, magCur: usize, rows: i32, width: i32, outPrev: usize, outCur: usize): void {
  const rowF = <usize>width << 2;
  const rowH = <usize>width << 1;
  const w8 = width & ~7;
  const w4 = width & ~3;
  let r = 0;
  for (; r + 4 <= rows; r += 4) {
    const o = <usize>(r * width);
    const oc = outCur + (o << 2);
    const op = outPrev + (o << 2);
    let a0 = f32x4.splat(0);
    let a1 = a0;
    let a2 = a0;
    let a3 = a0;
    let i0 = 0;
    let src = oc;
    if (dirIsHalf) {
      const dh = dir + (o << 1);
      for (let i = 0; i < w8; i += 8) {
        const h = dh + (<usize>i << 1);
        const c = oc + (<usize>i << 2);
        a0 = decodeSum8(h, c, a0);
        a1 = decodeSum8(h + rowH, c + rowF, a1);
        a2 = decodeSum8(h + 2 * rowH, c + 2 * rowF, a2);
        a3 = decodeSum8(h + 3 * rowH, c + 3 * rowF, a3);
      }
      // The rest of each row is decoded here and summed in finishRow.
      for (let k = 0; k < 4; k++) {
        for (let i = w8; i < width; i++) store<f32>(oc + <usize>k * rowF + (<usize>i << 2), halfToF32(load<u16>(dh + <usize>k * rowH + (<usize>i << 1))));
      }
      i0 = w8;
    } else {
      src = dir + (o << 2);
      for (let i = 0; i < w4; i += 4) {
        const x = src + (<usize>i << 2);
        a0 = sumSq(a0, v128.load(x));
        a1 = sumSq(a1, v128.load(x + rowF));
        a2 = sumSq(a2, v128.load(x + 2 * rowF));
        a3 = sumSq(a3, v128.load(x + 3 * rowF));
      }
      i0 = w4;
    }
    const m = <usize>r << 1;
    finishRow(src, op, oc, width, i0, a0, halfToF32(load<u16>(magPrev + m)), halfToF32(load<u16>(magCur + m)));
    finishRow(src + rowF, op + rowF, oc + rowF, width, i0, a1, halfToF32(load<u16>(magPrev + m + 2)), halfToF32(load<u16>(magCur + m + 2)));
    finishRow(src + 2 * rowF, op + 2 * rowF, oc + 2 * rowF, width, i0, a2, halfToF32(load<u16>(magPrev + m + 4)), halfToF32(load<u16>(magCur + m + 4)));
    finishRow(src + 3 * rowF, op + 3 * rowF, oc + 3 * rowF, width, i0, a3, halfToF32(load<u16>(magPrev + m + 6)), halfToF32(load<u16>(magCur + m + 6)));
  }
  for (; r < rows; r++) {
    const o = <usize>(r * width);
    const oc = outCur + (o << 2);
    const op = outPrev + (o << 2);
    let acc = f32x4.splat(0);
    let i0 = 0;
    let src = oc;
    if (dirIsHalf) {
      const dh = dir + (o << 1);
      for (let i = 0; i < w8; i += 8) acc = decodeSum8(dh + (<usize>i << 1), oc + (<usize>i << 2), acc);
      for (let i = w8; i < width; i++) store<f32>(oc + (<usize>i << 2), halfToF32(load<u16>(dh + (<usize>i << 1))));
      i0 = w8;
    } else {
      src = dir + (o << 2);
    }
    const m = <usize>r << 1;
    finishRow(src, op, oc, width, i0, acc, halfToF32(load<u16>(magPrev + m)), halfToF32(load<u16>(magCur + m)));
  }
}

// ── merge (spec §2.3) ───────────────────────────────────────────────────────────────────────

/**
 * Per row of the pair: aa = ‖prev‖², bb = ‖cur‖², ab = prev·cur in float64, each summed as the
 * reference does (even and odd elements apart, then added), written to sums[3r..3r+2].
 */
export function mergeSums(prev: usize, cur: usize, rows: i32, width: i32, sums: usize): void {
  for (let r = 0; r < rows; r++) {
    const o = <usize>(r * width) << 2;
    const pa = prev + o;
    const pb = cur + o;
    let aa = f64x2.splat(0);
    let bb = f64x2.splat(0);
    let ab = f64x2.splat(0);
    let i = 0;
    for (; i + 4 <= width; i += 4) {
      const x = v128.load(pa + (<usize>i << 2));
      const y = v128.load(pb + (<usize>i << 2));
      let xa = lo64(x);
      let ya = lo64(y);
      aa = f64x2.add(aa, f64x2.mul(xa, xa));
      bb = f64x2.add(bb, f64x2.mul(ya, ya));
      ab = f64x2.add(ab, f64x2.mul(xa, ya));
      xa = hi64(x);
      ya = hi64(y);
      aa = f64x2.add(aa, f64x2.mul(xa, xa));
      bb = f64x2.add(bb, f64x2.mul(ya, ya));
      ab = f64x2.add(ab, f64x2.mul(xa, ya));
    }
    let aa0 = f64x2.extract_lane(aa, 0);
    let bb0 = f64x2.extract_lane(bb, 0);
    let ab0 = f64x2.extract_lane(ab, 0);
    let aa1 = f64x2.extract_lane(aa, 1);
    let bb1 = f64x2.extract_lane(bb, 1);
    let ab1 = f64x2.extract_lane(ab, 1);
    for (; i < width; i++) {
      const x = <f64>load<f32>(pa + (<usize>i << 2));
      const y = <f64>load<f32>(pb + (<usize>i << 2));
      if (i & 1) {
        aa1 += x * x;
        bb1 += y * y;
        ab1 += x * y;
      } else {
        aa0 += x * x;
        bb0 += y * y;
        ab0 += x * y;
      }
    }
    const q = sums + (<usize>(r * 3) << 3);
    store<f64>(q, aa0 + aa1);
    store<f64>(q, bb0 + bb1, 8);
    store<f64>(q, ab0 + ab1, 16);
  }
}

/** dir = f32(wa·prev + wb·cur) per row, weights (wa, wb) as float64 at w[2r], w[2r+1]. */
export function mergeWrite(prev: usize, cur: usize, rows: i32, width: i32, w: usize, dir: usize): void {
  for (let r = 0; r < rows; r++) {
    const o = <usize>(r * width) << 2;
    const pa = prev + o;
    const pb = cur + o;
    const pd = dir + o;
    const wa = load<f64>(w + (<usize>r << 4));
    const wb = load<f64>(w + (<usize>r << 4), 8);
    const va = f64x2.splat(wa);
    const vb = f64x2.splat(wb);
    let i = 0;
    for (; i + 4 <= width; i += 4) {
      const x = v128.load(pa + (<usize>i << 2));
      const y = v128.load(pb + (<usize>i << 2));
      const lo = f64x2.add(f64x2.mul(va, lo64(x)), f64x2.mul(vb, lo64(y)));
      const hi = f64x2.add(f64x2.mul(va, hi64(x)), f64x2.mul(vb, hi64(y)));
      v128.store(pd + (<usize>i << 2), demote2(lo, hi));
    }
    for (; i < width; i++) {
      store<f32>(pd + (<usize>i << 2), <f32>(wa * <f64>load<f32>(pa + (<usize>i << 2)) + wb * <f64>load<f32>(pb + (<usize>i << 2))));
    }
  }
}

// ── KIVI quantizer (spec §3.1) ──────────────────────────────────────────────────────────────

// The reference computes in float32, one rounding per operation: scale = half(f32(f32(mx − mn)/
// levels)), v = f32(f32(x − mn)/scale). f32x4 sub and div round the same way, so these kernels
// are exact with no fallback. A zero (or NaN) scale divides by +inf instead: every finite x
// then gives ±0 and a non-finite x NaN, both code 0, as the reference's "scale 0 → code 0".

// Where prefetching reads go (a global, so that they are not optimised away).
let sink: v128 = i32x4.splat(0);

// Parameters of four groups at once (params4's results; globals so it can return four vectors).
let pMnh: v128 = i32x4.splat(0);
let pSch: v128 = i32x4.splat(0);
let pMnf: v128 = i32x4.splat(0);
let pDen: v128 = i32x4.splat(0);

/**
 * Group parameters as the reference computes them, for four groups (lanes) with minima mn4 and
 * maxima mx4: fp16 min, fp16 scale (0 for a constant group, or one fp16 rounds to a
 * non-positive scale), the min as f32 and the divisor (scale, or +inf where it is 0 or NaN).
 */
@inline function params4(mn4: v128, mx4: v128, lv4: v128): void {
  const mnh = f32x4ToHalf(mn4);
  const mnf = halfToF32x4(mnh);
  let sch = f32x4ToHalf(f32x4.div(f32x4.sub(mx4, mnf), lv4));
  const sc = halfToF32x4(sch);
  const positive = f32x4.gt(sc, f32x4.splat(0));
  sch = v128.andnot(sch, v128.andnot(f32x4.eq(sc, sc), positive));
  pMnh = mnh;
  pSch = sch;
  pMnf = mnf;
  pDen = v128.bitselect(sc, f32x4.splat(Infinity), positive);
}

/** Codes of four lanes: roundHalfEven(clamp(f32(f32(x − mn)/den), 0, levels)). */
@inline function codes4(x: v128, mn4: v128, den4: v128, lv4: v128): v128 {
  let v = f32x4.div(f32x4.sub(x, mn4), den4);
  // pmax(0, v) maps NaN and −0 to +0, like the reference's `v > 0 ? … : 0`.
  v = f32x4.pmin(lv4, f32x4.pmax(f32x4.splat(0), v));
  // Adding 2^23 rounds 0 ≤ v ≤ 255 to the nearest integer (ties to even) in the low mantissa
  // bits: two instructions, where nearest + trunc_sat is several on x86.
  return i32x4.sub(f32x4.add(v, f32x4.splat(8388608)), i32x4.splat(0x4b000000));
}

/**
 * codes4 without the upper clamp, for the packing that clamps bytes (packGroup): v < 1.5·levels + 1
 * (x ≤ max, and a positive fp16 scale is more than 2/3 of f32(max − min)/levels, subnormal
 * halves included), so the 2^23 rounding holds and min(round(v), levels) = round(min(v, levels)).
 */
@inline function codes16(x: v128, mn4: v128, den4: v128): v128 {
  const v = f32x4.pmax(f32x4.splat(0), f32x4.div(f32x4.sub(x, mn4), den4));
  return i32x4.sub(f32x4.add(v, f32x4.splat(8388608)), i32x4.splat(0x4b000000));
}

/**
 * 16 columns (four vectors) of one key tile: per-channel min/max over G rows, the parameters,
 * then each word of codes accumulated in a register and stored once. Rows are `rowBytes` apart;
 * the 64 bytes read per row are one cache line, and the tile's 16 columns stay in L1 between
 * the two passes.
 */
@inline function quantCols16(s: usize, rowBytes: usize, G: i32, bits: i32, perWord: i32, wpg: i32, lv4: v128, wd: usize, pm: usize, ps: usize, pre: usize): void {
  let mnA = f32x4.splat(Infinity), mnB = mnA, mnC = mnA, mnD = mnA;
  let mxA = f32x4.splat(-Infinity), mxB = mxA, mxC = mxA, mxD = mxA;
  let at = s;
  let touch = i32x4.splat(0);
  for (let j = 0; j < G; j++, at += rowBytes) {
    // One line of the next tile per row, in address order: its reads overlap this work.
    touch = v128.or(touch, v128.load(pre + (<usize>j << 6)));
    const a = v128.load(at);
    const b = v128.load(at, 16);
    const c = v128.load(at, 32);
    const d = v128.load(at, 48);
    // pmin(acc, x) keeps acc on equality: the first minimum in token order, as the reference.
    mnA = f32x4.pmin(mnA, a);
    mxA = f32x4.pmax(mxA, a);
    mnB = f32x4.pmin(mnB, b);
    mxB = f32x4.pmax(mxB, b);
    mnC = f32x4.pmin(mnC, c);
    mxC = f32x4.pmax(mxC, c);
    mnD = f32x4.pmin(mnD, d);
    mxD = f32x4.pmax(mxD, d);
  }
  sink = v128.or(sink, touch);
  params4(mnA, mxA, lv4);
  const mnfA = pMnf, denA = pDen, mnhA = pMnh, schA = pSch;
  params4(mnB, mxB, lv4);
  const mnfB = pMnf, denB = pDen, mnhB = pMnh, schB = pSch;
  params4(mnC, mxC, lv4);
  const mnfC = pMnf, denC = pDen, mnhC = pMnh, schC = pSch;
  params4(mnD, mxD, lv4);
  const mnfD = pMnf, denD = pDen;
  v128.store(pm, i16x8.narrow_i32x4_u(mnhA, mnhB));
  v128.store(pm, i16x8.narrow_i32x4_u(mnhC, pMnh), 16);
  v128.store(ps, i16x8.narrow_i32x4_u(schA, schB));
  v128.store(ps, i16x8.narrow_i32x4_u(schC, pSch), 16);
  // Word w takes rows w·perWord … (last first): acc = (acc << bits) | code, a shift by a
  // constant once `bits` is one (see quantTokens), where a variable shift costs V8 four
  // instructions.
  let wr = wd;
  for (let w = 0; w < wpg; w++, wr += rowBytes) {
    let qA = i32x4.splat(0), qB = qA, qC = qA, qD = qA;
    const kEnd = min(perWord, G - w * perWord);
    let at = s + <usize>(w * perWord + kEnd - 1) * rowBytes;
    for (let k = 0; k < kEnd; k++, at -= rowBytes) {
      qA = v128.or(i32x4.shl(qA, bits), codes4(v128.load(at), mnfA, denA, lv4));
      qB = v128.or(i32x4.shl(qB, bits), codes4(v128.load(at, 16), mnfB, denB, lv4));
      qC = v128.or(i32x4.shl(qC, bits), codes4(v128.load(at, 32), mnfC, denC, lv4));
      qD = v128.or(i32x4.shl(qD, bits), codes4(v128.load(at, 48), mnfD, denD, lv4));
    }
    v128.store(wr, qA);
    v128.store(wr, qB, 16);
    v128.store(wr, qC, 32);
    v128.store(wr, qD, 48);
  }
}

/**
 * Keys (quantizeAlongTokens): `tiles` tiles of G tokens × width channels, tile t at
 * src + t·srcTileStride floats; per-channel groups. Words go to codes + t·codeTileStride words
 * (word w of channel c at w·width + c), params to scales/mins + t·paramTileStride.
 * width % 4 == 0 and width ≥ 16: blocks of 16 columns, the last one overlapping its
 * predecessor when width % 16 != 0 (recomputing columns writes the same values).
 */
export function quantTokens(src: usize, tiles: i32, srcTileStride: i32, width: i32, G: i32, bits: i32, codes: usize, codeTileStride: i32, scales: usize, mins: usize, paramTileStride: i32): void {
  const lv4 = f32x4.splat(<f32>((1 << bits) - 1));
  const perWord = 32 / bits;
  const wpg = (G * bits + 31) >> 5;
  const rowBytes = <usize>width << 2;
  for (let t = 0; t < tiles; t++) {
    const s0 = src + (<usize>(t * srcTileStride) << 2);
    const w0 = codes + (<usize>(t * codeTileStride) << 2);
    const p0 = <usize>(t * paramTileStride) << 1;
    for (let c = 0; c < width; c += 16) {
      const cc = <usize>min(c, width - 16);
      const s = s0 + (cc << 2);
      const wd = w0 + (cc << 2);
      const pm = mins + p0 + (cc << 1);
      const ps = scales + p0 + (cc << 1);
      const pre = (t + 1 < tiles ? s0 + (<usize>srcTileStride << 2) : s0) + cc * (<usize>G << 2);
      // Constant bit widths: inlined, each becomes a loop with constant shifts.
      if (bits == 4) quantCols16(s, rowBytes, G, 4, 8, wpg, lv4, wd, pm, ps, pre);
      else if (bits == 2) quantCols16(s, rowBytes, G, 2, 16, wpg, lv4, wd, pm, ps, pre);
      else quantCols16(s, rowBytes, G, 8, 4, wpg, lv4, wd, pm, ps, pre);
    }
  }
}

/** Minimum / maximum of 4 accumulators' lanes, one result lane per accumulator. */
@inline function reduce4min(a: v128, b: v128, c: v128, d: v128): v128 {
  const ab = f32x4.pmin(i32x4.shuffle(a, b, 0, 4, 1, 5), i32x4.shuffle(a, b, 2, 6, 3, 7));
  const cd = f32x4.pmin(i32x4.shuffle(c, d, 0, 4, 1, 5), i32x4.shuffle(c, d, 2, 6, 3, 7));
  return f32x4.pmin(i32x4.shuffle(ab, cd, 0, 1, 4, 5), i32x4.shuffle(ab, cd, 2, 3, 6, 7));
}
@inline function reduce4max(a: v128, b: v128, c: v128, d: v128): v128 {
  const ab = f32x4.pmax(i32x4.shuffle(a, b, 0, 4, 1, 5), i32x4.shuffle(a, b, 2, 6, 3, 7));
  const cd = f32x4.pmax(i32x4.shuffle(c, d, 0, 4, 1, 5), i32x4.shuffle(c, d, 2, 6, 3, 7));
  return f32x4.pmax(i32x4.shuffle(ab, cd, 0, 1, 4, 5), i32x4.shuffle(ab, cd, 2, 3, 6, 7));
}

/** The reference keeps the first minimum in element order; of equal minima only a zero's sign can differ. */
@inline function firstZero(s0: usize, G: i32): f32 {
  for (let e = 0; e < G; e++) {
    const x = load<f32>(s0 + (<usize>e << 2));
    if (x == 0) return x;
  }
  return 0;
}

/**
 * Codes of one group (G channels at s0) packed into its words at w0. G % 16 == 0: 16 codes are
 * narrowed to bytes and their bit fields merged by shifts (8 bits: the bytes are the words; 4:
 * one merge; 2: two); otherwise four codes at a time, each lane shifted by a multiply.
 */
@inline function packGroup(s0: usize, w0: usize, G: i32, bits: i32, perWord: i32, wpg: i32, mn4: v128, den4: v128, lv4: v128, base: v128): void {
  if ((G & 15) == 0) {
    const lo = i16x8.splat(0xff);
    const lv16 = i8x16.splat(<i8>(<i32>(1 << bits) - 1));
    let o = w0;
    const step = <usize>(bits << 1); // bytes of 16 codes
    for (let e: usize = 0, end = <usize>G << 2; e < end; e += 64, o += step) {
      const q0 = codes16(v128.load(s0 + e), mn4, den4);
      const q1 = codes16(v128.load(s0 + e, 16), mn4, den4);
      const q2 = codes16(v128.load(s0 + e, 32), mn4, den4);
      const q3 = codes16(v128.load(s0 + e, 48), mn4, den4);
      // The narrows saturate (codes here are < 1.5·levels + 2, see codes16) and the byte minimum
      // clamps at levels: one operation per 16 codes instead of four.
      let b = i8x16.narrow_i16x8_u(i16x8.narrow_i32x4_u(q0, q1), i16x8.narrow_i32x4_u(q2, q3));
      if (bits == 8) {
        v128.store(o, b);
        continue;
      }
      b = i8x16.min_u(b, lv16);
      if (bits == 4) {
        // u16 lane i holds codes 2i, 2i+1 in its two bytes: fold the high one into bits 4..7.
        b = v128.and(v128.or(b, i16x8.shr_u(b, 4)), lo);
        v128.store64_lane(o, i8x16.narrow_i16x8_u(b, b), 0);
      } else {
        b = v128.and(v128.or(b, i16x8.shr_u(b, 6)), lo);
        b = i8x16.narrow_i16x8_u(b, b);
        b = v128.and(v128.or(b, i16x8.shr_u(b, 4)), lo);
        v128.store32_lane(o, i8x16.narrow_i16x8_u(b, b), 0);
      }
    }
    return;
  }
  let e = 0;
  for (let w = 0; w < wpg; w++) {
    let acc = i32x4.splat(0);
    const kEnd = min(perWord, G - w * perWord);
    for (let k0 = 0; k0 < kEnd; k0 += 4, e += 4) {
      const q = codes4(v128.load(s0 + (<usize>e << 2)), mn4, den4, lv4);
      acc = v128.or(acc, i32x4.mul(q, i32x4.shl(base, k0 * bits)));
    }
    // The four lanes hold disjoint bits of the word.
    acc = v128.or(acc, i32x4.shuffle(acc, acc, 2, 3, 0, 1));
    acc = v128.or(acc, i32x4.shuffle(acc, acc, 1, 0, 3, 2));
    store<u32>(w0 + (<usize>w << 2), i32x4.extract_lane(acc, 0));
  }
}

/**
 * Values / RTN (quantizeAlongChannels): `rows` tokens of `width` channels (row i at
 * src + i·srcStride floats), groups of G consecutive channels; row i's words at
 * codes + i·codeStride words, params at scales/mins + i·paramStride. G % 4 == 0.
 * Four rows at a time share the parameter arithmetic (one lane each); a last partial block
 * repeats its final row, which rewrites the same values.
 */
export function quantChannels(src: usize, rows: i32, srcStride: i32, width: i32, G: i32, bits: i32, codes: usize, codeStride: i32, scales: usize, mins: usize, paramStride: i32): void {
  const lv4 = f32x4.splat(<f32>((1 << bits) - 1));
  const perWord = 32 / bits;
  const wpg = (G * bits + 31) >> 5;
  const groups = width / G;
  // Lane j of a vector starting at code k0 of its word goes to bit (k0 + j)·bits: multiply by
  // 2^((k0+j)·bits) (codes < 2^bits, so the product is the shift).
  const base = i32x4(1, 1 << bits, 1 << (2 * bits), 1 << (3 * bits));
  for (let i = 0; i < rows; i += 4) {
    const r1 = min(i + 1, rows - 1);
    const r2 = min(i + 2, rows - 1);
    const r3 = min(i + 3, rows - 1);
    for (let g = 0; g < groups; g++) {
      const goff = <usize>(g * G) << 2;
      const sa = src + (<usize>(i * srcStride) << 2) + goff;
      const sb = src + (<usize>(r1 * srcStride) << 2) + goff;
      const sc_ = src + (<usize>(r2 * srcStride) << 2) + goff;
      const sd = src + (<usize>(r3 * srcStride) << 2) + goff;
      let mnA = f32x4.splat(Infinity), mnB = mnA, mnC = mnA, mnD = mnA;
      let mxA = f32x4.splat(-Infinity), mxB = mxA, mxC = mxA, mxD = mxA;
      for (let e = 0; e < G; e += 4) {
        const o = <usize>e << 2;
        const a = v128.load(sa + o);
        const b = v128.load(sb + o);
        const c = v128.load(sc_ + o);
        const d = v128.load(sd + o);
        mnA = f32x4.pmin(mnA, a);
        mxA = f32x4.pmax(mxA, a);
        mnB = f32x4.pmin(mnB, b);
        mxB = f32x4.pmax(mxB, b);
        mnC = f32x4.pmin(mnC, c);
        mxC = f32x4.pmax(mxC, c);
        mnD = f32x4.pmin(mnD, d);
        mxD = f32x4.pmax(mxD, d);
      }
      let mn4 = reduce4min(mnA, mnB, mnC, mnD);
      const mx4 = reduce4max(mxA, mxB, mxC, mxD);
      if (v128.any_true(f32x4.eq(mn4, f32x4.splat(0)))) {
        if (f32x4.extract_lane(mn4, 0) == 0) mn4 = f32x4.replace_lane(mn4, 0, firstZero(sa, G));
        if (f32x4.extract_lane(mn4, 1) == 0) mn4 = f32x4.replace_lane(mn4, 1, firstZero(sb, G));
        if (f32x4.extract_lane(mn4, 2) == 0) mn4 = f32x4.replace_lane(mn4, 2, firstZero(sc_, G));
        if (f32x4.extract_lane(mn4, 3) == 0) mn4 = f32x4.replace_lane(mn4, 3, firstZero(sd, G));
      }
      params4(mn4, mx4, lv4);
      const gp = <usize>g << 1;
      const pa = (<usize>(i * paramStride) << 1) + gp;
      const pb = (<usize>(r1 * paramStride) << 1) + gp;
      const pc = (<usize>(r2 * paramStride) << 1) + gp;
      const pd = (<usize>(r3 * paramStride) << 1) + gp;
      store<u16>(mins + pa, <u16>i32x4.extract_lane(pMnh, 0));
      store<u16>(mins + pb, <u16>i32x4.extract_lane(pMnh, 1));
      store<u16>(mins + pc, <u16>i32x4.extract_lane(pMnh, 2));
      store<u16>(mins + pd, <u16>i32x4.extract_lane(pMnh, 3));
      store<u16>(scales + pa, <u16>i32x4.extract_lane(pSch, 0));
      store<u16>(scales + pb, <u16>i32x4.extract_lane(pSch, 1));
      store<u16>(scales + pc, <u16>i32x4.extract_lane(pSch, 2));
      store<u16>(scales + pd, <u16>i32x4.extract_lane(pSch, 3));
      const mnf = pMnf;
      const den = pDen;
      const wg = <usize>(g * wpg) << 2;
      packGroup(sa, codes + (<usize>(i * codeStride) << 2) + wg, G, bits, perWord, wpg, i32x4.shuffle(mnf, mnf, 0, 0, 0, 0), i32x4.shuffle(den, den, 0, 0, 0, 0), lv4, base);
      packGroup(sb, codes + (<usize>(r1 * codeStride) << 2) + wg, G, bits, perWord, wpg, i32x4.shuffle(mnf, mnf, 1, 1, 1, 1), i32x4.shuffle(den, den, 1, 1, 1, 1), lv4, base);
      packGroup(sc_, codes + (<usize>(r2 * codeStride) << 2) + wg, G, bits, perWord, wpg, i32x4.shuffle(mnf, mnf, 2, 2, 2, 2), i32x4.shuffle(den, den, 2, 2, 2, 2), lv4, base);
      packGroup(sd, codes + (<usize>(r3 * codeStride) << 2) + wg, G, bits, perWord, wpg, i32x4.shuffle(mnf, mnf, 3, 3, 3, 3), i32x4.shuffle(den, den, 3, 3, 3, 3), lv4, base);
    }
  }
}

/** The code at bit `sh` of each lane of w (`sh` a constant: the first and last rows save an operation). */
@inline function codeAt(w: v128, sh: i32, bits: i32, mask: v128): v128 {
  if (sh == 0) return v128.and(w, mask);
  if (sh + bits == 32) return i32x4.shr_u(w, sh);
  return v128.and(i32x4.shr_u(w, sh), mask);
}

/**
 * One row of a key tile from the staged block at `tmp` (see dequantTokens): for each 4 columns,
 * q·scale + min of the codes at bit `sh` of the staged words, written sequentially at o. One
 * pointer reaches the three loads through immediate offsets, which V8 folds into the addressing
 * (a separate scale, minimum and word pointer cost an address computation per load).
 */
@inline function dequantRowT(tmp: usize, end: usize, o: usize, sh: i32, bits: i32, mask: v128): void {
  let p = tmp;
  for (; p + 192 <= end; p += 192, o += 64) {
    // q·scale is exact in f32 and the sum rounds once: the same float as the reference.
    v128.store(o, f32x4.add(f32x4.mul(f32x4.convert_i32x4_s(codeAt(v128.load(p, 32), sh, bits, mask)), v128.load(p)), v128.load(p, 16)));
    v128.store(o, f32x4.add(f32x4.mul(f32x4.convert_i32x4_s(codeAt(v128.load(p, 80), sh, bits, mask)), v128.load(p, 48)), v128.load(p, 64)), 16);
    v128.store(o, f32x4.add(f32x4.mul(f32x4.convert_i32x4_s(codeAt(v128.load(p, 128), sh, bits, mask)), v128.load(p, 96)), v128.load(p, 112)), 32);
    v128.store(o, f32x4.add(f32x4.mul(f32x4.convert_i32x4_s(codeAt(v128.load(p, 176), sh, bits, mask)), v128.load(p, 144)), v128.load(p, 160)), 48);
  }
  for (; p < end; p += 48, o += 16) {
    v128.store(o, f32x4.add(f32x4.mul(f32x4.convert_i32x4_s(codeAt(v128.load(p, 32), sh, bits, mask)), v128.load(p)), v128.load(p, 16)));
  }
}

/** dequantRowT with a variable shift (words that G·b does not fill). */
function dequantRowV(tmp: usize, end: usize, o: usize, sh: i32, mask: v128): void {
  for (let p = tmp; p < end; p += 48, o += 16) {
    const q = f32x4.convert_i32x4_s(v128.and(i32x4.shr_u(v128.load(p, 32), sh), mask));
    v128.store(o, f32x4.add(f32x4.mul(q, v128.load(p)), v128.load(p, 16)));
  }
}

/** A full word's rows (32/bits of them), unrolled (binaryen does not unroll loops) so each shift is a constant. */
@inline function dequantWord(tmp: usize, end: usize, at: usize, rowBytes: usize, bits: i32, mask: v128): void {
  if (bits == 4) {
    dequantRowT(tmp, end, at, 0, 4, mask);
    dequantRowT(tmp, end, at + rowBytes, 4, 4, mask);
    dequantRowT(tmp, end, at + 2 * rowBytes, 8, 4, mask);
    dequantRowT(tmp, end, at + 3 * rowBytes, 12, 4, mask);
    dequantRowT(tmp, end, at + 4 * rowBytes, 16, 4, mask);
    dequantRowT(tmp, end, at + 5 * rowBytes, 20, 4, mask);
    dequantRowT(tmp, end, at + 6 * rowBytes, 24, 4, mask);
    dequantRowT(tmp, end, at + 7 * rowBytes, 28, 4, mask);
  } else if (bits == 8) {
    dequantRowT(tmp, end, at, 0, 8, mask);
    dequantRowT(tmp, end, at + rowBytes, 8, 8, mask);
    dequantRowT(tmp, end, at + 2 * rowBytes, 16, 8, mask);
    dequantRowT(tmp, end, at + 3 * rowBytes, 24, 8, mask);
  } else {
    dequantRowT(tmp, end, at, 0, 2, mask);
    dequantRowT(tmp, end, at + rowBytes, 2, 2, mask);
    dequantRowT(tmp, end, at + 2 * rowBytes, 4, 2, mask);
    dequantRowT(tmp, end, at + 3 * rowBytes, 6, 2, mask);
    dequantRowT(tmp, end, at + 4 * rowBytes, 8, 2, mask);
    dequantRowT(tmp, end, at + 5 * rowBytes, 10, 2, mask);
    dequantRowT(tmp, end, at + 6 * rowBytes, 12, 2, mask);
    dequantRowT(tmp, end, at + 7 * rowBytes, 14, 2, mask);
    dequantRowT(tmp, end, at + 8 * rowBytes, 16, 2, mask);
    dequantRowT(tmp, end, at + 9 * rowBytes, 18, 2, mask);
    dequantRowT(tmp, end, at + 10 * rowBytes, 20, 2, mask);
    dequantRowT(tmp, end, at + 11 * rowBytes, 22, 2, mask);
    dequantRowT(tmp, end, at + 12 * rowBytes, 24, 2, mask);
    dequantRowT(tmp, end, at + 13 * rowBytes, 26, 2, mask);
    dequantRowT(tmp, end, at + 14 * rowBytes, 28, 2, mask);
    dequantRowT(tmp, end, at + 15 * rowBytes, 30, 2, mask);
  }
}

/**
 * Keys (dequantizeAlongTokens): the tiles of quantTokens back to [G, width] f32 each, row by
 * row, so the output is written as one sequential stream: writing several rows together (each
 * word, scale and minimum loaded once) was faster with the output in L2 but up to 2× slower once
 * it left L2 (measured again for 2, 4 and 8 rows: 3–6 against 8–9 GB/s at 16 MiB). Each tile's
 * scales and minima are decoded once, and each word row copied once, into `tmp` as 48-byte
 * blocks [scale, min, word] of 4 columns (12·width bytes of kernel scratch), so a row costs
 * three loads from one pointer, shift, mask, convert, multiply, add and a store per 4 columns.
 * A full word's rows are unrolled so every shift is a constant (V8 spends four instructions on
 * a variable one).
 */
export function dequantTokens(codes: usize, tiles: i32, codeTileStride: i32, scales: usize, mins: usize, paramTileStride: i32, width: i32, G: i32, bits: i32, out: usize, outTileStride: i32, tmp: usize): void {
  const mask = i32x4.splat((1 << bits) - 1);
  const perWord = 32 / bits;
  const wpg = (G * bits + 31) >> 5;
  const rowBytes = <usize>width << 2;
  const blocks = width >> 2;
  const end = tmp + <usize>blocks * 48;
  for (let t = 0; t < tiles; t++) {
    const w0 = codes + (<usize>(t * codeTileStride) << 2);
    const p0 = <usize>(t * paramTileStride) << 1;
    for (let j = 0; j < blocks; j++) {
      const b = tmp + <usize>j * 48;
      v128.store(b, halfHiToF32x4(halvesLo(v128.load64_zero(scales + p0 + (<usize>j << 3)))));
      v128.store(b, halfHiToF32x4(halvesLo(v128.load64_zero(mins + p0 + (<usize>j << 3)))), 16);
    }
    let at = out + (<usize>(t * outTileStride) << 2);
    for (let w = 0; w < wpg; w++) {
      const wr = w0 + <usize>w * rowBytes;
      for (let j = 0; j < blocks; j++) v128.store(tmp + <usize>j * 48, v128.load(wr + (<usize>j << 4)), 32);
      const kEnd = min(perWord, G - w * perWord);
      if (kEnd == perWord) {
        if (bits == 4) dequantWord(tmp, end, at, rowBytes, 4, mask);
        else if (bits == 8) dequantWord(tmp, end, at, rowBytes, 8, mask);
        else dequantWord(tmp, end, at, rowBytes, 2, mask);
      } else {
        for (let k = 0; k < kEnd; k++) dequantRowV(tmp, end, at + <usize>k * rowBytes, k * bits, mask);
      }
      at += <usize>kEnd * rowBytes;
    }
  }
}

/** 16 codes (one byte each, in element order) → 16 floats x = q·sc + mn at out. */
@inline function store16(b: v128, sc: v128, mn: v128, out: usize): void {
  const lo = i16x8.extend_low_i8x16_u(b);
  const hi = i16x8.extend_high_i8x16_u(b);
  v128.store(out, f32x4.add(f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_u(lo)), sc), mn));
  v128.store(out, f32x4.add(f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_u(lo)), sc), mn), 16);
  v128.store(out, f32x4.add(f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_u(hi)), sc), mn), 32);
  v128.store(out, f32x4.add(f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_u(hi)), sc), mn), 48);
}

/** 16 codes as u16 lanes (lo: codes 0..7, hi: 8..15) → 16 floats x = q·sc + mn at out. */
@inline function store16w(lo: v128, hi: v128, sc: v128, mn: v128, out: usize): void {
  v128.store(out, f32x4.add(f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_u(lo)), sc), mn));
  v128.store(out, f32x4.add(f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_u(lo)), sc), mn), 16);
  v128.store(out, f32x4.add(f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_u(hi)), sc), mn), 32);
  v128.store(out, f32x4.add(f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_u(hi)), sc), mn), 48);
}

/** One group: G codes (words at p) → G floats at o. */
@inline function dequantGroup(p: usize, o: usize, G: i32, bits: i32, sc: v128, mn: v128): void {
  const end = o + (<usize>G << 2);
  if (bits == 8) {
    for (; o < end; o += 64, p += 16) store16(v128.load(p), sc, mn, o);
  } else if (bits == 4) {
    for (; o < end; o += 64, p += 8) {
      // Byte i (codes 2i, 2i+1) widened to a u16 lane: low and high nibble, then interleaved.
      const v = v128.load8x8_u(p);
      const lo = v128.and(v, i16x8.splat(0x0f));
      const hi = i16x8.shr_u(v, 4);
      store16w(i16x8.shuffle(lo, hi, 0, 8, 1, 9, 2, 10, 3, 11), i16x8.shuffle(lo, hi, 4, 12, 5, 13, 6, 14, 7, 15), sc, mn, o);
    }
  } else {
    for (; o < end; o += 64, p += 4) {
      const v = v128.load32_zero(p);
      const m = i8x16.splat(3);
      const c0 = v128.and(v, m);
      const c1 = v128.and(i8x16.shr_u(v, 2), m);
      const c2 = v128.and(i8x16.shr_u(v, 4), m);
      const c3 = i8x16.shr_u(v, 6);
      const a = i8x16.shuffle(c0, c1, 0, 16, 1, 17, 2, 18, 3, 19, 0, 0, 0, 0, 0, 0, 0, 0);
      const b = i8x16.shuffle(c2, c3, 0, 16, 1, 17, 2, 18, 3, 19, 0, 0, 0, 0, 0, 0, 0, 0);
      store16(i8x16.shuffle(a, b, 0, 1, 16, 17, 2, 3, 18, 19, 4, 5, 20, 21, 6, 7, 22, 23), sc, mn, o);
    }
  }
}

/**
 * Values / RTN (dequantizeAlongChannels): `rows` tokens, row i's words at codes + i·codeStride
 * words and params at + i·paramStride, to out + i·outStride floats. G % 16 == 0 (16 codes fill
 * whole words at every bit width). Four groups' scales and minima are decoded in one vector and
 * splatted per group (a scalar decode per group cost a fifth of the kernel).
 */
export function dequantChannels(codes: usize, rows: i32, codeStride: i32, scales: usize, mins: usize, paramStride: i32, width: i32, G: i32, bits: i32, out: usize, outStride: i32): void {
  const groups = width / G;
  const wpg = (G * bits) >> 5;
  const gw = <usize>(wpg << 2); // bytes of one group's words
  const gf = <usize>(G << 2); // bytes of one group's floats
  for (let i = 0; i < rows; i++) {
    const wr = codes + (<usize>(i * codeStride) << 2);
    const pr = <usize>(i * paramStride) << 1;
    const orow = out + (<usize>(i * outStride) << 2);
    let g = 0;
    for (; g + 4 <= groups; g += 4) {
      const sc = halfHiToF32x4(halvesLo(v128.load64_zero(scales + pr + (<usize>g << 1))));
      const mn = halfHiToF32x4(halvesLo(v128.load64_zero(mins + pr + (<usize>g << 1))));
      const p = wr + <usize>g * gw;
      const o = orow + <usize>g * gf;
      dequantGroup(p, o, G, bits, i32x4.shuffle(sc, sc, 0, 0, 0, 0), i32x4.shuffle(mn, mn, 0, 0, 0, 0));
      dequantGroup(p + gw, o + gf, G, bits, i32x4.shuffle(sc, sc, 1, 1, 1, 1), i32x4.shuffle(mn, mn, 1, 1, 1, 1));
      dequantGroup(p + 2 * gw, o + 2 * gf, G, bits, i32x4.shuffle(sc, sc, 2, 2, 2, 2), i32x4.shuffle(mn, mn, 2, 2, 2, 2));
      dequantGroup(p + 3 * gw, o + 3 * gf, G, bits, i32x4.shuffle(sc, sc, 3, 3, 3, 3), i32x4.shuffle(mn, mn, 3, 3, 3, 3));
    }
    for (; g < groups; g++) {
      const sc = f32x4.splat(halfToF32(load<u16>(scales + pr + (<usize>g << 1))));
      const mn = f32x4.splat(halfToF32(load<u16>(mins + pr + (<usize>g << 1))));
      dequantGroup(wr + <usize>g * gw, orow + <usize>g * gf, G, bits, sc, mn);
    }
  }
}

// ── roofline probes (bench/kernels.bench.ts only) ───────────────────────────────────────────
// What the machine allows a kernel of each kind at a given size, measured beside the kernels.

/** Stores n floats (a constant) sequentially at dst: the write stream of a float32-output kernel. */
export function probeStore(dst: usize, n: i32): void {
  const v = f32x4.splat(1.5);
  const end = dst + (<usize>n << 2);
  for (let p = dst; p < end; p += 64) {
    v128.store(p, v);
    v128.store(p, v, 16);
    v128.store(p, v, 32);
    v128.store(p, v, 48);
  }
}

/**
 * Key dequantize's arithmetic without its bookkeeping: per 4 output floats, three loads from a
 * 1.5 KiB L1-resident block (word, scale, min), shift, mask, convert, multiply, add, and one
 * sequential store, n floats at dst.
 */
export function probeDequant(blk: usize, dst: usize, n: i32): void {
  const mask = i32x4.splat((n >> 30) | 15);
  const end = dst + (<usize>n << 2);
  const bend = blk + 1536;
  let p = blk;
  for (let o = dst; o < end; o += 64) {
    v128.store(o, f32x4.add(f32x4.mul(f32x4.convert_i32x4_s(v128.and(i32x4.shr_u(v128.load(p, 32), 4), mask)), v128.load(p)), v128.load(p, 16)));
    v128.store(o, f32x4.add(f32x4.mul(f32x4.convert_i32x4_s(v128.and(i32x4.shr_u(v128.load(p, 80), 4), mask)), v128.load(p, 48)), v128.load(p, 64)), 16);
    v128.store(o, f32x4.add(f32x4.mul(f32x4.convert_i32x4_s(v128.and(i32x4.shr_u(v128.load(p, 128), 4), mask)), v128.load(p, 96)), v128.load(p, 112)), 32);
    v128.store(o, f32x4.add(f32x4.mul(f32x4.convert_i32x4_s(v128.and(i32x4.shr_u(v128.load(p, 176), 4), mask)), v128.load(p, 144)), v128.load(p, 160)), 48);
    p += 192;
    if (p >= bend) p = blk;
  }
}

/** Per-lane minimum and maximum of n floats read sequentially at src: the quantizer's first pass alone. */
export function probeMinMax(src: usize, n: i32): void {
  let mn = f32x4.splat(Infinity), mx = f32x4.splat(-Infinity), mn2 = mn, mx2 = mx;
  const end = src + (<usize>n << 2);
  for (let p = src; p < end; p += 64) {
    const a = v128.load(p), b = v128.load(p, 16), c = v128.load(p, 32), d = v128.load(p, 48);
    mn = f32x4.pmin(mn, f32x4.pmin(a, b));
    mx = f32x4.pmax(mx, f32x4.pmax(a, b));
    mn2 = f32x4.pmin(mn2, f32x4.pmin(c, d));
    mx2 = f32x4.pmax(mx2, f32x4.pmax(c, d));
  }
  sink = v128.or(sink, v128.or(v128.or(mn, mx), v128.or(mn2, mx2)));
}
