/**
 * TypeScript references of the engine's WGSL kernels (llm.c's dev/cuda discipline: every kernel
 * beside a plain version that tests hold it to). Float64 arithmetic, the kernels' data layouts.
 */
import { halfToFloat } from '../../kernels/half.js';
import type { MatmulEpilogue } from './matmul.js';
import type { RopeLayout } from './rope.js';

/** Y[M, N] (op)= X[M, K] · W[N, K]ᵀ with W as fp16 bits; swiglu: Y[m, j] = silu(acc[2j])·acc[2j+1]. */
export function matmulRef(X: Float32Array, W: Uint16Array, M: number, N: number, K: number, op: MatmulEpilogue, Y?: Float32Array): Float32Array {
  const outCols = op === 'swiglu' ? N / 2 : N;
  const out = Y ? Float32Array.from(Y) : new Float32Array(M * outCols);
  const w = Float64Array.from(W, halfToFloat);
  for (let m = 0; m < M; m++) {
    const acc = new Float64Array(N);
    for (let n = 0; n < N; n++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += X[m * K + k]! * w[n * K + k]!;
      acc[n] = s;
    }
    if (op === 'swiglu') {
      for (let j = 0; j < outCols; j++) {
        const g = acc[2 * j]!;
        out[m * outCols + j] = (g / (1 + Math.exp(-g))) * acc[2 * j + 1]!;
      }
    } else {
      for (let n = 0; n < N; n++) out[m * N + n] = (op === 'add' ? out[m * N + n]! : 0) + acc[n]!;
    }
  }
  return out;
}

export function embedRef(ids: Uint32Array, E: Uint16Array, dim: number): Float32Array {
  const out = new Float32Array(ids.length * dim);
  for (let r = 0; r < ids.length; r++) for (let c = 0; c < dim; c++) out[r * dim + c] = halfToFloat(E[ids[r]! * dim + c]!);
  return out;
}

export function rmsnormRef(X: Float32Array, w: Float32Array, rows: number, dim: number, eps: number, inStride = 1, inOffset = 0): Float32Array {
  const out = new Float32Array(rows * dim);
  for (let r = 0; r < rows; r++) {
    const src = (r * inStride + inOffset) * dim;
    let s = 0;
    for (let c = 0; c < dim; c++) s += X[src + c]! ** 2;
    const rms = Math.sqrt(s / dim + eps);
    for (let c = 0; c < dim; c++) out[r * dim + c] = (X[src + c]! / rms) * w[c]!;
  }
  return out;
}

/**
 * RoPE of the q and k heads of QKV rows in place (row m = b·T + t at slot slot0 + t, position
 * max(0, slot − start[b0 + b])); returns the rotated rows.
 */
export function ropeRef(
  qkv: Float32Array,
  o: { rows: number; T: number; heads: number; kvHeads: number; headDim: number; layout: RopeLayout; invFreq: readonly number[]; starts: Uint32Array; slot0: number; b0: number },
): Float32Array {
  const { rows, T, heads: H, kvHeads: KV, headDim: D, layout } = o;
  const R = (H + 2 * KV) * D;
  const out = Float32Array.from(qkv);
  for (let m = 0; m < rows; m++) {
    const b = Math.floor(m / T);
    const t = m % T;
    const pos = Math.max(0, o.slot0 + t - o.starts[o.b0 + b]!);
    for (let h = 0; h < H + KV; h++) {
      const base = m * R + h * D;
      for (let i = 0; i < D / 2; i++) {
        const a = Math.fround(Math.fround(pos) * Math.fround(o.invFreq[i]!));
        const c = Math.cos(a);
        const s = Math.sin(a);
        const [i0, i1] = layout === 'interleaved' ? [base + 2 * i, base + 2 * i + 1] : [base + i, base + i + D / 2];
        const x0 = qkv[i0]!;
        const x1 = qkv[i1]!;
        out[i0] = x0 * c - x1 * s;
        out[i1] = x0 * s + x1 * c;
      }
    }
  }
  return out;
}

/**
 * Attention of query rows over key/value rows with the harness's masking: sequence b's slots before
 * starts[b] are padding; a padding query attends to every key of the pass uniformly.
 *   q(b, h, t) and k(b, kvh, j) / v(b, kvh, j): accessors into the caller's layout.
 */
export function attentionRef(o: {
  batch: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  /** Query slots of each sequence (prefill: 0..T−1; decode: [n]). */
  querySlots: number[];
  /** Keys 0..keys−1 of each sequence. */
  keys: number;
  starts: Uint32Array;
  q: (b: number, h: number, qi: number) => ArrayLike<number>;
  k: (b: number, kvh: number, j: number) => ArrayLike<number>;
  v: (b: number, kvh: number, j: number) => ArrayLike<number>;
}): Float32Array {
  const { batch: B, heads: H, kvHeads: KV, headDim: D, querySlots, keys } = o;
  const G = H / KV;
  const Q = querySlots.length;
  const out = new Float32Array(B * Q * H * D);
  for (let b = 0; b < B; b++) {
    for (let qi = 0; qi < Q; qi++) {
      const s = querySlots[qi]!;
      const pad = s < o.starts[b]!;
      for (let h = 0; h < H; h++) {
        const kvh = Math.floor(h / G);
        const q = o.q(b, h, qi);
        const allowed: number[] = [];
        for (let j = 0; j < keys; j++) if (pad || (j >= o.starts[b]! && j <= s)) allowed.push(j);
        const sc = allowed.map((j) => {
          if (pad) return 0;
          const k = o.k(b, kvh, j);
          let d = 0;
          for (let c = 0; c < D; c++) d += q[c]! * k[c]!;
          return d / Math.sqrt(D);
        });
        const mx = Math.max(...sc);
        const p = sc.map((x) => Math.exp(x - mx));
        const z = p.reduce((a, x) => a + x, 0);
        const dst = ((b * Q + qi) * H + h) * D;
        allowed.forEach((j, i) => {
          const v = o.v(b, kvh, j);
          for (let c = 0; c < D; c++) out[dst + c] = out[dst + c]! + (p[i]! / z) * v[c]!;
        });
      }
    }
  }
  return out;
}

/** The sampler's counter-based hash (sample.ts). */
export function sampleHash(x: number): number {
  let h = x >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d) >>> 0;
  h ^= h >>> 15;
  h = Math.imul(h, 0x846ca68b) >>> 0;
  h ^= h >>> 16;
  return h >>> 0;
}

/** The uniform in [0, 1) the sampler draws for (seed, step, sequence). */
export function sampleUniform(seed: number, step: number, b: number): number {
  const h = sampleHash(sampleHash((seed >>> 0) ^ sampleHash(step)) ^ sampleHash((b + 0x9e3779b9) >>> 0));
  return (h >>> 8) / 16777216;
}

/**
 * The sampler's choice for one row: greedy argmax (lowest id on ties), or top-k/top-p thresholds
 * and an inverse-CDF draw in id order with sampleUniform. Float64 here, so a draw landing within
 * rounding of a boundary may differ from the device's.
 */
export function sampleRef(logits: ArrayLike<number>, o: { temperature: number; topK: number; topP: number; seed: number; step: number; b: number }): number {
  const V = logits.length;
  let best = 0;
  for (let i = 1; i < V; i++) if (logits[i]! > logits[best]!) best = i;
  if (!(o.temperature > 0)) return best;
  const m = logits[best]!;
  const p = Array.from({ length: V }, (_, i) => Math.exp((logits[i]! - m) / o.temperature));
  const sorted = [...p].sort((a, b) => b - a);
  const thK = o.topK > 0 ? sorted[Math.min(o.topK, V) - 1]! : 0;
  let th = thK;
  if (o.topP < 1) {
    const kept = sorted.filter((x) => x >= thK);
    const total = kept.reduce((a, x) => a + x, 0);
    let c = 0;
    for (const x of kept) {
      c += x;
      th = x;
      if (c >= o.topP * total) break;
    }
  }
  const kept = p.reduce((a, x) => a + (x >= th ? x : 0), 0);
  const target = sampleUniform(o.seed, o.step, o.b) * kept;
  let c = 0;
  for (let i = 0; i < V; i++) {
    if (p[i]! < th) continue;
    c += p[i]!;
    if (target < c) return i;
  }
  return best;
}
