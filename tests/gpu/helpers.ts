/**
 * Drives a device cache method and the reference (host) method side by side with the same K/V,
 * the way the decode loop does: present = Concat(restored past, new token) in the kv dtype.
 */
import * as ort from 'onnxruntime-node';
import type { CacheGeometry, KVBlock } from '../../src/engine/kv-block.js';
import type { DeviceCacheMethod, DeviceKV } from '../../src/gpu/device-types.js';
import { decodeHalf, encodeHalf } from '../../src/kernels/half.js';
import type { KVCacheMethod } from '../../src/methods/types.js';
import type { OrtGraphExec } from '../../runners/node/ort-device-cache.js';

export function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
}

/** Random K/V for `tokens` tokens of every layer, rounded to fp16 (what the fp16-KV model emits). Adjacent layers correlated, as in real models. */
export function randomLayers(g: CacheGeometry, tokens: number, rnd: () => number): KVBlock[] {
  const n = g.batch * g.kvHeads * tokens * g.headDim;
  const out: KVBlock[] = [];
  let prevK: Float32Array | null = null;
  let prevV: Float32Array | null = null;
  for (let l = 0; l < g.layers; l++) {
    const k = new Float32Array(n);
    const v = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const nk = (rnd() - 0.5) * 4 + (i % 7 === 0 ? 3 : 0);
      const nv = (rnd() - 0.5) * 2;
      k[i] = prevK ? 0.7 * prevK[i]! + 0.5 * nk : nk;
      v[i] = prevV ? 0.7 * prevV[i]! + 0.5 * nv : nv;
    }
    roundHalfInPlace(k);
    roundHalfInPlace(v);
    out.push({ k, v, tokens });
    prevK = k;
    prevV = v;
  }
  return out;
}

export function roundHalfInPlace(a: Float32Array): void {
  const h = new Uint16Array(a.length);
  encodeHalf(a, h);
  decodeHalf(h, a);
}

export function tensorOf(data: Float32Array, dims: number[], kv: 'float16' | 'float32'): ort.Tensor {
  if (kv === 'float32') return new ort.Tensor('float32', Float32Array.from(data), dims);
  const h = new Uint16Array(data.length);
  encodeHalf(data, h);
  return new ort.Tensor('float16', h, dims);
}

/** [B,KV,n,D] ++ [B,KV,t,D] along tokens. */
export function concatTokens(a: Float32Array, n: number, b: Float32Array, t: number, rows: number, D: number): Float32Array {
  const out = new Float32Array(rows * (n + t) * D);
  for (let r = 0; r < rows; r++) {
    out.set(a.subarray(r * n * D, (r + 1) * n * D), r * (n + t) * D);
    out.set(b.subarray(r * t * D, (r + 1) * t * D), r * (n + t) * D + n * D);
  }
  return out;
}

export interface Compare {
  maxAbs: number;
  /** Elements whose error exceeds atol + rtol·|ref|. */
  outliers: number;
  count: number;
}

export function compare(dev: Float32Array, ref: Float32Array, atol: number, rtol: number): Compare {
  if (dev.length !== ref.length) throw new Error(`length ${dev.length} vs ${ref.length}`);
  let maxAbs = 0;
  let outliers = 0;
  for (let i = 0; i < ref.length; i++) {
    const e = Math.abs(dev[i]! - ref[i]!);
    if (!(e <= atol + rtol * Math.abs(ref[i]!))) outliers++;
    if (e > maxAbs || e !== e) maxAbs = e !== e ? Infinity : e;
  }
  return { maxAbs, outliers, count: ref.length };
}

/** compare() summed over many arrays (every layer of every step of a lockstep run). */
export function comparer(atol: number, rtol: number): Compare & { add(dev: Float32Array, ref: Float32Array): void; readonly rate: number } {
  return {
    maxAbs: 0,
    outliers: 0,
    count: 0,
    add(dev, ref) {
      const c = compare(dev, ref, atol, rtol);
      this.maxAbs = Math.max(this.maxAbs, c.maxAbs);
      this.outliers += c.outliers;
      this.count += c.count;
    },
    get rate() {
      return this.outliers / this.count;
    },
  };
}

/** Runs prefill + `steps` decode steps on both; after each restore compares every layer. */
export async function lockstep(
  exec: OrtGraphExec,
  g: CacheGeometry,
  device: DeviceCacheMethod,
  reference: KVCacheMethod,
  prompt: number,
  steps: number,
  seed: number,
  check: (step: number, layer: number, which: 'k' | 'v', dev: Float32Array, ref: Float32Array) => void,
  /** Also hand the method each step's new tokens alone (DeviceKV.kNew/vNew), as the device decoder does. */
  withNew = false,
): Promise<void> {
  const rnd = rng(seed);
  const rows = g.batch * g.kvHeads;
  const D = g.headDim;
  const pre = randomLayers(g, prompt, rnd);
  reference.prefill(pre);
  await device.prefill(pre.map((b) => ({ k: tensorOf(b.k, [g.batch, g.kvHeads, prompt, D], exec.kv), v: tensorOf(b.v, [g.batch, g.kvHeads, prompt, D], exec.kv) })));
  for (let step = 0; step <= steps; step++) {
    const n = reference.length;
    const refPast = Array.from({ length: g.layers }, () => ({ k: new Float32Array(rows * n * D), v: new Float32Array(rows * n * D), tokens: n }));
    reference.restore(refPast);
    const { past, transient } = await device.restore();
    const devPast: { k: Float32Array; v: Float32Array }[] = [];
    for (let l = 0; l < g.layers; l++) {
      const k = (await exec.read(past[l]!.k)) as Float32Array;
      const v = (await exec.read(past[l]!.v)) as Float32Array;
      devPast.push({ k, v });
      check(step, l, 'k', k, refPast[l]!.k);
      check(step, l, 'v', v, refPast[l]!.v);
    }
    if (step === steps) {
      for (const t of transient) t.dispose();
      break;
    }
    const fresh = randomLayers(g, 1, rnd);
    reference.append(fresh);
    const present: DeviceKV[] = fresh.map((b, l) => ({
      k: tensorOf(concatTokens(devPast[l]!.k, n, b.k, 1, rows, D), [g.batch, g.kvHeads, n + 1, D], exec.kv),
      v: tensorOf(concatTokens(devPast[l]!.v, n, b.v, 1, rows, D), [g.batch, g.kvHeads, n + 1, D], exec.kv),
      ...(withNew ? { kNew: tensorOf(b.k, [g.batch, g.kvHeads, 1, D], exec.kv), vNew: tensorOf(b.v, [g.batch, g.kvHeads, 1, D], exec.kv) } : {}),
    }));
    for (const t of transient) t.dispose();
    await device.append(present);
  }
}
