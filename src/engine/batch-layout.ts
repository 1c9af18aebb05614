import type { ModelInfo } from './backend.js';
import type { CacheGeometry } from './kv-block.js';

/**
 * How a batch of prompts is laid out for decoding, shared by the host and device decode loops:
 * prompts left-padded to the longest (padded slots masked out, positions counted from each
 * prompt's first real token), per-sequence token budgets, stop tokens, and the attention mask of
 * every step (decode slots are always attended).
 */
export interface BatchLayout {
  batch: number;
  lens: number[];
  /** Padded prompt length. */
  promptSlots: number;
  budget: number[];
  maxNew: number;
  stop: Set<number>;
  pad: number;
  geometry: CacheGeometry;
  /** Prefill inputs [B, P]. */
  prefillIds: BigInt64Array;
  prefillPositions: BigInt64Array;
  /** Attention mask [B, n] for a past + new length of n. */
  maskFor(n: number): BigInt64Array;
}

export function layoutBatch(m: ModelInfo, prompts: number[][], opts: { maxNewTokens: number | number[]; ignoreEos?: boolean; stopTokens?: number[] }): BatchLayout {
  const B = prompts.length;
  if (B === 0) throw new Error('generate: no prompts');
  const lens = prompts.map((p) => p.length);
  if (lens.some((l) => l === 0)) throw new Error('generate: empty prompt (add a BOS token)');
  const P = Math.max(...lens);
  const budget = typeof opts.maxNewTokens === 'number' ? prompts.map(() => opts.maxNewTokens as number) : opts.maxNewTokens;
  if (budget.length !== B) throw new Error('generate: maxNewTokens must have one entry per prompt');
  const maxNew = Math.max(...budget);
  if (P + maxNew > m.maxContext) throw new Error(`generate: prompt ${P} + ${maxNew} new tokens exceeds the model's context of ${m.maxContext}`);
  const pad = m.eos[0] ?? 0;

  const cap = P + maxNew;
  const mask = new BigInt64Array(B * cap);
  for (let b = 0; b < B; b++) for (let s = P - lens[b]!; s < cap; s++) mask[b * cap + s] = 1n;
  const ids = new BigInt64Array(B * P);
  const pos = new BigInt64Array(B * P);
  for (let b = 0; b < B; b++) {
    const off = P - lens[b]!;
    for (let s = 0; s < P; s++) {
      ids[b * P + s] = BigInt(s < off ? pad : prompts[b]![s - off]!);
      pos[b * P + s] = BigInt(Math.max(0, s - off));
    }
  }
  return {
    batch: B,
    lens,
    promptSlots: P,
    budget,
    maxNew,
    stop: new Set([...(opts.ignoreEos ? [] : m.eos), ...(opts.stopTokens ?? [])]),
    pad,
    geometry: { layers: m.layers, batch: B, kvHeads: m.kvHeads, headDim: m.headDim },
    prefillIds: ids,
    prefillPositions: pos,
    maskFor(n) {
      const out = new BigInt64Array(B * n);
      for (let b = 0; b < B; b++) out.set(mask.subarray(b * cap, b * cap + n), b * n);
      return out;
    },
  };
}
