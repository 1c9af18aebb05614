import { allocBlock } from '../../engine/kv-block.js';
import { totalBytes, type PairDiagnostics } from '../../methods/types.js';
import { fixedLengthPrompts, textsFromJsonl } from '../prompt-text.js';
import type { WorkloadDef } from '../workload.js';

/**
 * Cross-layer KV similarity (the paper's Fig. 1a): prefill held-out text and measure, for every
 * pair of adjacent layers (l, l+1), the mean cosine similarity of the same token's key (and value)
 * vectors per KV head. Uses the exact prefill cache, so the cell's method does not matter.
 */
export const similarityWorkload: WorkloadDef = {
  description: 'Cosine similarity of adjacent layers’ keys and values over held-out text (Fig. 1a analogue)',
  needsRealWeights: true,
  defaults: { text: 'model:heldout/prose.jsonl?', promptLen: 512 },
  dataFiles: (p) => [String(p.text)],
  async run(ctx) {
    const { backend } = ctx;
    const m = backend.model;
    const p = ctx.cell.workloadParams;
    const B = ctx.cell.batch;
    const T = Number(p.promptLen);
    const prompts = fixedLengthPrompts(ctx.tokenizer, textsFromJsonl(ctx.data.get(String(p.text))), B, T, ctx.cell.seed, m.bos);
    const ids = BigInt64Array.from(prompts.flat(), BigInt);
    const pos = BigInt64Array.from({ length: B * T }, (_, i) => BigInt(i % T));
    const mask = new BigInt64Array(B * T).fill(1n);
    const g = { layers: m.layers, batch: B, kvHeads: m.kvHeads, headDim: m.headDim };
    const past = Array.from({ length: m.layers }, () => allocBlock(g, 0));
    const t0 = performance.now();
    const out = await backend.forward({ batch: B, tokens: T, inputIds: ids, attentionMask: mask, positionIds: pos, past });
    const ms = performance.now() - t0;
    const pairs: PairDiagnostics[] = [];
    for (let l = 0; l + 1 < m.layers; l++) {
      const a = out.present[l]!;
      const b = out.present[l + 1]!;
      const k = cosines(a.k, b.k, m.headDim);
      const v = cosines(a.v, b.v, m.headDim);
      const all = [...k.angles, ...v.angles].sort((x, y) => x - y);
      const q = (f: number) => all[Math.min(all.length - 1, Math.floor(f * all.length))]!;
      pairs.push({
        pair: [l, l + 1],
        cosK: k.mean,
        cosV: v.mean,
        retainedFracK: 0,
        retainedFracV: 0,
        angle: { mean: all.reduce((s, x) => s + x, 0) / all.length, p10: q(0.1), p50: q(0.5), p90: q(0.9), max: all[all.length - 1]! },
      });
    }
    // Bytes of the method over this prompt, so the cell still reports what it held.
    const method = ctx.createMethod(g);
    method.prefill(out.present);
    const bytes = method.bytes();
    const baseline = 2 * m.layers * B * m.kvHeads * T * m.headDim * 2;
    method.dispose();
    return {
      metrics: {
        kvBytes: totalBytes(bytes),
        kvBytesBaseline: baseline,
        compressionRatio: baseline / Math.max(1, totalBytes(bytes)),
        seqLen: T,
        kvBytesByComponent: bytes,
        prefillTokensPerSecond: ((B * T) / ms) * 1000,
        meanCosK: pairs.reduce((s, x) => s + x.cosK, 0) / pairs.length,
        meanCosV: pairs.reduce((s, x) => s + x.cosV, 0) / pairs.length,
      },
      diagnostics: { pairs, scope: 'all adjacent layer pairs, exact prefill cache' },
    };
  },
};

/** Mean cosine of corresponding D-vectors, and each pair's angular distance Ω/π. */
function cosines(a: Float32Array, b: Float32Array, D: number): { mean: number; angles: number[] } {
  let sum = 0;
  const angles: number[] = [];
  for (let off = 0; off < a.length; off += D) {
    let dot = 0;
    let na = 0;
    let nb = 0;
    for (let i = 0; i < D; i++) {
      const x = a[off + i]!;
      const y = b[off + i]!;
      dot += x * y;
      na += x * x;
      nb += y * y;
    }
    const c = na > 0 && nb > 0 ? Math.max(-1, Math.min(1, dot / Math.sqrt(na * nb))) : 1;
    sum += c;
    angles.push(Math.acos(c) / Math.PI);
  }
  return { mean: sum / Math.max(1, angles.length), angles };
}
