import { allocBlock, type CacheGeometry, type KVBlock } from '../../../src/engine/kv-block.js';
import type { KVCacheMethod } from '../../../src/methods/types.js';

/** Tokens [from, to) of every layer's block. */
export function sliceLayers(g: CacheGeometry, layers: readonly KVBlock[], from: number, to: number): KVBlock[] {
  const { batch, kvHeads, headDim } = g;
  return layers.map((b) => {
    const out = allocBlock(g, to - from);
    for (let r = 0; r < batch * kvHeads; r++) {
      const src = (r * b.tokens + from) * headDim;
      const dst = r * (to - from) * headDim;
      out.k.set(b.k.subarray(src, src + (to - from) * headDim), dst);
      out.v.set(b.v.subarray(src, src + (to - from) * headDim), dst);
    }
    return out;
  });
}

export function restoreAll(g: CacheGeometry, m: KVCacheMethod): KVBlock[] {
  const out = Array.from({ length: g.layers }, () => allocBlock(g, m.length));
  m.restore(out);
  return out;
}

/** One head-dim vector (row r = b·H + h, token i) of a [B, H, n, D] array. */
export function vec(a: Float32Array, g: CacheGeometry, n: number, r: number, i: number): number[] {
  const o = (r * n + i) * g.headDim;
  return [...a.subarray(o, o + g.headDim)];
}

export const norm = (v: number[]): number => Math.sqrt(v.reduce((s, x) => s + x * x, 0));
export const dot = (a: number[], b: number[]): number => a.reduce((s, x, i) => s + x * b[i]!, 0);
export const cosine = (a: number[], b: number[]): number => dot(a, b) / (norm(a) * norm(b));

/** Float64 SLERP direction straight from spec §2.3 (the test oracle). */
export function slerpDirection(a: number[], b: number[], t: number): number[] {
  const ua = a.map((x) => x / norm(a));
  const ub = b.map((x) => x / norm(b));
  const c = Math.min(1, Math.max(-1, dot(ua, ub)));
  const om = Math.acos(c);
  const s = Math.sin(om);
  const [wa, wb] = s < 1e-6 || c > 0.9995 ? [1 - t, t] : [Math.sin((1 - t) * om) / s, Math.sin(t * om) / s];
  const e = ua.map((x, i) => wa * x + wb * ub[i]!);
  const ne = norm(e);
  return e.map((x) => x / ne);
}
