/**
 * IEEE 754 binary16 conversion (round to nearest, ties to even), the storage type of an FP16
 * KV cache. Table driven so a whole cache converts at memory speed.
 */
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

// Decoding table: all 65536 halves as float32.
const HALF_TO_FLOAT = new Float32Array(65536);
for (let h = 0; h < 65536; h++) {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  let v: number;
  if (e === 0) v = m * 2 ** -24;
  else if (e === 31) v = m ? NaN : Infinity;
  else v = (1 + m / 1024) * 2 ** (e - 15);
  HALF_TO_FLOAT[h] = s * v;
}

export function floatToHalf(x: number): number {
  f32[0] = x;
  const b = u32[0]!;
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  let mant = b & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0); // inf / nan
  const e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00; // overflow → inf
  if (e <= 0) {
    if (e < -10) return sign; // underflow → ±0
    mant |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    const rest = mant & ((1 << shift) - 1);
    let m = mant >>> shift;
    if (rest > half || (rest === half && m & 1)) m++;
    return sign | m;
  }
  let m = mant >>> 13;
  const rest = mant & 0x1fff;
  let h = sign | (e << 10) | m;
  if (rest > 0x1000 || (rest === 0x1000 && m & 1)) h++; // carry may roll into exponent: correct
  return h;
}

export function halfToFloat(h: number): number {
  return HALF_TO_FLOAT[h & 0xffff]!;
}

/** Round a number through fp16 storage and back. */
export function roundHalf(x: number): number {
  return HALF_TO_FLOAT[floatToHalf(x)]!;
}

export function encodeHalf(src: Float32Array, dst: Uint16Array, dstOffset = 0): void {
  for (let i = 0; i < src.length; i++) dst[dstOffset + i] = floatToHalf(src[i]!);
}

export function decodeHalf(src: Uint16Array, dst: Float32Array, srcOffset = 0, count = dst.length, dstOffset = 0): void {
  const t = HALF_TO_FLOAT;
  for (let i = 0; i < count; i++) dst[dstOffset + i] = t[src[srcOffset + i]!]!;
}

/** The decoding table itself, for kernels that fuse fp16 decoding with other work. */
export const HALF_TABLE: Readonly<Float32Array> = HALF_TO_FLOAT;

/**
 * Encode `count` floats given by their IEEE bits (a Uint32Array view of a Float32Array) to fp16,
 * ties to even. Normal-range values take a branch-light path; the rest (subnormal halves,
 * overflow, inf, nan) go through floatToHalf. Same results as floatToHalf, several times faster.
 */
export function encodeHalfBits(bits: Uint32Array, srcOffset: number, dst: Uint16Array, dstOffset: number, count: number): void {
  for (let i = 0; i < count; i++) {
    const b = bits[srcOffset + i]!;
    const exp = (b >>> 23) & 0xff;
    // Biased float exponents 113..142 map to normal halves; rounding may carry into inf, which is right.
    if (exp - 113 >>> 0 < 30) {
      dst[dstOffset + i] = ((b >>> 16) & 0x8000) | ((((b & 0x7fffffff) - 0x38000000 + 0x0fff + ((b >>> 13) & 1)) >>> 13));
    } else {
      u32[0] = b;
      dst[dstOffset + i] = floatToHalf(f32[0]!);
    }
  }
}

/** A Uint32Array view of a Float32Array's bits (for encodeHalfBits). */
export function floatBits(a: Float32Array): Uint32Array {
  return new Uint32Array(a.buffer, a.byteOffset, a.length);
}
