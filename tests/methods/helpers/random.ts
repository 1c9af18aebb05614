import type { CacheGeometry, KVBlock } from '../../../src/engine/kv-block.js';
import { blockSize } from '../../../src/engine/kv-block.js';

/** Small seeded PRNG so property tests are reproducible. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal via Box–Muller. */
export function gaussian(rand: () => number): () => number {
  return () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
}

export function randomArray(n: number, rand: () => number, scale = 1): Float32Array {
  const g = gaussian(rand);
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = g() * scale;
  return a;
}

/**
 * Random KV blocks for every layer, with adjacent layers correlated the way real caches are
 * (cos ≈ 0.6–0.9): layer l = base_l + noise, base drifting slowly with depth.
 */
export function correlatedLayers(g: CacheGeometry, tokens: number, seed: number, similarity = 0.8): KVBlock[] {
  const rand = mulberry32(seed);
  const n = blockSize(g, tokens);
  let baseK = randomArray(n, rand);
  let baseV = randomArray(n, rand);
  const layers: KVBlock[] = [];
  const w = Math.sqrt(1 - similarity * similarity);
  for (let l = 0; l < g.layers; l++) {
    const k = new Float32Array(n);
    const v = new Float32Array(n);
    const nk = randomArray(n, rand);
    const nv = randomArray(n, rand);
    for (let i = 0; i < n; i++) {
      k[i] = similarity * baseK[i]! + w * nk[i]!;
      v[i] = similarity * baseV[i]! + w * nv[i]!;
    }
    layers.push({ k, v, tokens });
    baseK = k;
    baseV = v;
  }
  return layers;
}
