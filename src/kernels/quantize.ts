import { floatToHalf, HALF_TABLE } from './half.js';

/**
 * KIVI's asymmetric min/max quantizer (spec §3.1, §3.2), official-code semantics:
 *   mn = min g, scale = (max g − mn)/(2^b − 1), both held in fp16;
 *   q = roundHalfEven(clamp((x − mn)/scale, 0, 2^b − 1)); x̂ = q·scale + mn.
 * Arithmetic is float32, every operation rounded once (Math.fround), as torch computes it on
 * fp16/fp32 tensors and as the device graph (src/gpu/kivi-graph.ts) does; the WebAssembly
 * kernels give the same bits.
 * A group whose fp16 scale is not positive (constant group, or a range fp16 rounds to 0) stores
 * scale 0 and codes 0, so it dequantizes to mn: no 0/0 (the reference code yields NaN there).
 * Non-finite inputs are garbage in, garbage out (NaN is skipped by min/max, infinities give
 * infinite scales); the stores never see them from a finite model.
 * Codes are packed into Uint32 words, element j of a word at bit offset b·j (lowest bits first).
 *
 * Two layouts:
 *  - along channels (KIVI values, RTN): one group = G consecutive channels of one token;
 *    words [D/G][⌈G·b/32⌉], params [D/G].
 *  - along tokens (KIVI keys): one group = G consecutive tokens of one channel; a tile of
 *    G tokens × D channels stores words [⌈G·b/32⌉][D] (word-major so loops over channels are
 *    contiguous) and params [D].
 */

export type QuantBits = 2 | 4 | 8;

export function isQuantBits(b: unknown): b is QuantBits {
  return b === 2 || b === 4 || b === 8;
}

/** Round to nearest integer, ties to even (torch.round), for x ≥ 0 and x < 2^31. */
export function roundHalfEven(x: number): number {
  const q = Math.round(x);
  return q - x === 0.5 ? q - (q & 1) : q;
}

/**
 * Words one group of G codes occupies. A group starts on a word boundary; when G·b is not a
 * multiple of 32 its last word is padded (and the padding is counted in bytes held).
 */
export function wordsPerGroup(groupSize: number, bits: QuantBits): number {
  return Math.ceil((groupSize * bits) / 32);
}

/** Checks a group size; returns an error message or null. */
export function groupSizeProblem(groupSize: number, _bits: QuantBits): string | null {
  if (!Number.isInteger(groupSize) || groupSize <= 0) return `group size must be a positive integer, got ${groupSize}`;
  return null;
}

/**
 * The code of x: roundHalfEven(clamp(f32(f32(x − mn)/sc), 0, levels)), 0 when sc is 0.
 * float32 arithmetic (each operation rounded once to float32, as torch's fp16/fp32 kernels and
 * the device graph compute it), so the SIMD kernels reproduce it exactly with f32x4 sub and div.
 * Fast path: the float64 product by the reciprocal `inv` is within 2e-5 of the float32 quotient
 * (|v| ≤ 255·1.5), so away from a half it rounds to the same integer; near one, the exact form.
 */
function code(x: number, mn: number, sc: number, inv: number, levels: number): number {
  if (sc === 0) return 0;
  const d = Math.fround(x - mn);
  let v = d * inv;
  v = v > 0 ? (v < levels ? v : levels) : 0;
  const q = (v + 0.5) | 0;
  const f = q - v;
  if (f < 0.4999 && f > -0.4999) return q;
  v = Math.fround(d / sc);
  v = v > 0 ? (v < levels ? v : levels) : 0;
  return roundHalfEven(v);
}

/**
 * fp16 scale of a group with maximum mx and fp16-rounded minimum mnf: f32(f32(mx − mnf)/levels)
 * rounded to fp16; 0 when that is not positive (constant group, or a range fp16 rounds to 0).
 */
function scaleHalf(mx: number, mnf: number, levels: number): number {
  const sch = floatToHalf(Math.fround(Math.fround(mx - mnf) / levels));
  const sc = HALF_TABLE[sch]!;
  return !(sc > 0) && sc === sc ? 0 : sch;
}

/**
 * Quantize one token's `width` channels (width a multiple of G) at src[srcOffset..] into
 * width/G groups: words at codes[codeOffset..], params at scales/mins[paramOffset..].
 */
export function quantizeAlongChannels(
  src: Float32Array,
  srcOffset: number,
  width: number,
  groupSize: number,
  bits: QuantBits,
  codes: Uint32Array,
  codeOffset: number,
  scales: Uint16Array,
  mins: Uint16Array,
  paramOffset: number,
): void {
  const levels = (1 << bits) - 1;
  const perWord = 32 / bits;
  const groups = width / groupSize;
  const wpg = wordsPerGroup(groupSize, bits);
  for (let g = 0; g < groups; g++) {
    const s0 = srcOffset + g * groupSize;
    let mn = Infinity;
    let mx = -Infinity;
    for (let i = 0; i < groupSize; i++) {
      const x = src[s0 + i]!;
      if (x < mn) mn = x;
      if (x > mx) mx = x;
    }
    const mnh = floatToHalf(mn);
    const mnf = HALF_TABLE[mnh]!;
    const sch = scaleHalf(mx, mnf, levels);
    const sc = HALF_TABLE[sch]!;
    const inv = sc > 0 ? 1 / sc : 0;
    mins[paramOffset + g] = mnh;
    scales[paramOffset + g] = sch;
    const w0 = codeOffset + g * wpg;
    for (let w = 0; w < wpg; w++) {
      let word = 0;
      const e0 = s0 + w * perWord;
      const kEnd = Math.min(perWord, groupSize - w * perWord);
      for (let k = 0; k < kEnd; k++) word |= code(src[e0 + k]!, mnf, sc, inv, levels) << (k * bits);
      codes[w0 + w] = word;
    }
  }
}

export function dequantizeAlongChannels(
  codes: Uint32Array,
  codeOffset: number,
  scales: Uint16Array,
  mins: Uint16Array,
  paramOffset: number,
  width: number,
  groupSize: number,
  bits: QuantBits,
  out: Float32Array,
  outOffset: number,
): void {
  const mask = (1 << bits) - 1;
  const perWord = 32 / bits;
  const groups = width / groupSize;
  const wpg = wordsPerGroup(groupSize, bits);
  const table = HALF_TABLE;
  for (let g = 0; g < groups; g++) {
    const sc = table[scales[paramOffset + g]!]!;
    const mn = table[mins[paramOffset + g]!]!;
    const w0 = codeOffset + g * wpg;
    let o = outOffset + g * groupSize;
    for (let w = 0; w < wpg; w++) {
      const word = codes[w0 + w]!;
      const kEnd = Math.min(perWord, groupSize - w * perWord);
      for (let k = 0; k < kEnd; k++) out[o++] = ((word >>> (k * bits)) & mask) * sc + mn;
    }
  }
}

/**
 * Quantize a tile of G tokens × `width` channels (token j, channel c at src[srcOffset + j·width + c])
 * into `width` per-channel groups: words codes[codeOffset + w·width + c] (w < G·b/32),
 * params scales/mins[paramOffset + c].
 */
export function quantizeAlongTokens(
  src: Float32Array,
  srcOffset: number,
  width: number,
  groupSize: number,
  bits: QuantBits,
  codes: Uint32Array,
  codeOffset: number,
  scales: Uint16Array,
  mins: Uint16Array,
  paramOffset: number,
): void {
  const levels = (1 << bits) - 1;
  const perWord = 32 / bits;
  const wpg = wordsPerGroup(groupSize, bits);
  // Channel-outer: each group's min, max and words stay in registers; the tile (G × width
  // floats, 16 KiB for G 32, D 128) stays in L1 for the strided reads.
  for (let c = 0; c < width; c++) {
    const s0 = srcOffset + c;
    let mn = Infinity;
    let mx = -Infinity;
    for (let j = 0, at = s0; j < groupSize; j++, at += width) {
      const x = src[at]!;
      if (x < mn) mn = x;
      if (x > mx) mx = x;
    }
    const mnh = floatToHalf(mn);
    const mnf = HALF_TABLE[mnh]!;
    const sch = scaleHalf(mx, mnf, levels);
    const sc = HALF_TABLE[sch]!;
    const inv = sc > 0 ? 1 / sc : 0;
    mins[paramOffset + c] = mnh;
    scales[paramOffset + c] = sch;
    for (let w = 0, at = s0; w < wpg; w++) {
      let word = 0;
      const kEnd = Math.min(perWord, groupSize - w * perWord);
      for (let k = 0; k < kEnd; k++, at += width) word |= code(src[at]!, mnf, sc, inv, levels) << (k * bits);
      codes[codeOffset + w * width + c] = word;
    }
  }
}

export function dequantizeAlongTokens(
  codes: Uint32Array,
  codeOffset: number,
  scales: Uint16Array,
  mins: Uint16Array,
  paramOffset: number,
  width: number,
  groupSize: number,
  bits: QuantBits,
  out: Float32Array,
  outOffset: number,
): void {
  const mask = (1 << bits) - 1;
  const perWord = 32 / bits;
  const wpg = wordsPerGroup(groupSize, bits);
  const table = HALF_TABLE;
  // Channel-outer: one word feeds perWord outputs down a column of the (L1-resident) tile.
  for (let c = 0; c < width; c++) {
    const sc = table[scales[paramOffset + c]!]!;
    const mn = table[mins[paramOffset + c]!]!;
    let at = outOffset + c;
    for (let w = 0; w < wpg; w++) {
      const word = codes[codeOffset + w * width + c]!;
      const kEnd = Math.min(perWord, groupSize - w * perWord);
      for (let k = 0; k < kEnd; k++, at += width) out[at] = ((word >>> (k * bits)) & mask) * sc + mn;
    }
  }
}
