/**
 * WGSL pieces the kernels share. fp16 data (weights, the fp16 KV cache) is stored as IEEE
 * binary16 pairs packed in u32 words either way; with shader-f16 the kernels read it as f16
 * vectors, without it they unpack with unpack2x16float. Same bytes, same results (f32 math).
 */

/** `enable f16;` when the device has shader-f16. */
export function f16Enable(f16: boolean): string {
  return f16 ? 'enable f16;\n' : '';
}

/**
 * Declares a read-only fp16 buffer `name` at `binding` and `fn <name>8(i) -> Half8`: the eight
 * halves of the i-th 16-byte group as two vec4f.
 */
export function halfBuffer(name: string, binding: number, f16: boolean, access: 'read' | 'read_write' = 'read'): string {
  if (f16) {
    return `@group(0) @binding(${binding}) var<storage, ${access}> ${name}: array<vec4<f16>>;
fn ${name}8(i: u32) -> Half8 { return Half8(vec4f(${name}[2u * i]), vec4f(${name}[2u * i + 1u])); }
fn ${name}2(i: u32) -> vec2f { let v = ${name}[i >> 1u]; if ((i & 1u) == 0u) { return vec2f(v.xy); } return vec2f(v.zw); }
`;
  }
  return `@group(0) @binding(${binding}) var<storage, ${access}> ${name}: array<vec4<u32>>;
fn ${name}8(i: u32) -> Half8 { let p = ${name}[i]; return Half8(vec4f(unpack2x16float(p.x), unpack2x16float(p.y)), vec4f(unpack2x16float(p.z), unpack2x16float(p.w))); }
fn ${name}2(i: u32) -> vec2f { let p = ${name}[i >> 2u]; return unpack2x16float(p[i & 3u]); }
`;
}

export const HALF8_STRUCT = 'struct Half8 { lo: vec4f, hi: vec4f }\n';

/** Smallest power of two ≥ n. */
export function pow2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/** A float literal WGSL accepts (always with a decimal point or exponent). */
export function f32Lit(x: number): string {
  if (!Number.isFinite(x)) throw new Error(`not a finite f32 literal: ${x}`);
  const s = String(Math.fround(x));
  return /[.eE]/.test(s) ? s : `${s}.0`;
}

/**
 * A WGSL generator whose source is kept per distinct arguments (compared as JSON, so they must be
 * plain data): rebuilding a MiniCache pair's two layers after a relayout asks again for sources it
 * made before, and generating them (string templates, regex rewrites) was most of that host time.
 */
export function memoWgsl<A extends unknown[], R>(generate: (...args: A) => R, limit = 256): (...args: A) => R {
  const made = new Map<string, R>();
  return (...args: A) => {
    const key = JSON.stringify(args);
    let r = made.get(key);
    if (r === undefined) {
      r = generate(...args);
      if (made.size >= limit) made.clear();
      made.set(key, r);
    }
    return r;
  };
}
