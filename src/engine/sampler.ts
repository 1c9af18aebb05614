/**
 * Next-token selection. Greedy is argmax (lowest id on ties, so every runtime agrees);
 * sampling is seeded so the same seed gives the same tokens.
 */
export type SamplingSpec = { kind: 'greedy' } | { kind: 'sample'; temperature: number; topK?: number; topP?: number };

/** mulberry32: tiny, fast, good enough for sampling; identical in every JS runtime. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function argmax(logits: Float32Array, offset: number, n: number): number {
  let best = 0;
  let bestV = -Infinity;
  for (let i = 0; i < n; i++) {
    const v = logits[offset + i]!;
    if (v > bestV) [best, bestV] = [i, v];
  }
  return best;
}

export class Sampler {
  private readonly rand: () => number;
  constructor(private readonly spec: SamplingSpec, seed: number) {
    this.rand = seededRandom(seed);
  }

  /** Pick the next token from row `row` of logits laid out [rows, vocab]. */
  pick(logits: Float32Array, row: number, vocab: number): number {
    const off = row * vocab;
    if (this.spec.kind === 'greedy' || this.spec.temperature <= 0) return argmax(logits, off, vocab);
    const { temperature, topK = 0, topP = 1 } = this.spec;
    let ids = Array.from({ length: vocab }, (_, i) => i);
    ids.sort((a, b) => logits[off + b]! - logits[off + a]! || a - b);
    if (topK > 0) ids = ids.slice(0, topK);
    const max = logits[off + ids[0]!]!;
    let probs = ids.map((i) => Math.exp((logits[off + i]! - max) / temperature));
    const z = probs.reduce((s, p) => s + p, 0);
    probs = probs.map((p) => p / z);
    if (topP < 1) {
      let c = 0;
      let cut = probs.length;
      for (let i = 0; i < probs.length; i++) {
        c += probs[i]!;
        if (c >= topP) {
          cut = i + 1;
          break;
        }
      }
      ids = ids.slice(0, cut);
      const z2 = probs.slice(0, cut).reduce((s, p) => s + p, 0);
      probs = probs.slice(0, cut).map((p) => p / z2);
    }
    let r = this.rand();
    for (let i = 0; i < ids.length; i++) {
      r -= probs[i]!;
      if (r <= 0) return ids[i]!;
    }
    return ids[ids.length - 1]!;
  }
}
