import { generate } from '../../engine/generate.js';
import { totalBytes } from '../../methods/types.js';
import { textsFromJsonl } from '../prompt-text.js';
import type { WorkloadDef } from '../workload.js';

/**
 * Perplexity of long held-out documents read through the compressed cache: prefill a prefix
 * (exact), then feed the true continuation token by token, each step attending to the restored
 * cache. Lower is better; FP16 is the reference.
 */
export const perplexityWorkload: WorkloadDef = {
  description: 'Teacher-forced perplexity of held-out documents through the compressed cache (prefix exact, continuation scored)',
  defaults: { text: 'model:heldout/prose.jsonl?', documents: 4, prefixLen: 256, scoredLen: 256 },
  dataFiles: (p) => [String(p.text)],
  async run(ctx) {
    const p = ctx.cell.workloadParams;
    const m = ctx.backend.model;
    const need = Number(p.prefixLen) + Number(p.scoredLen);
    const docs = textsFromJsonl(ctx.data.get(String(p.text)))
      .map((t) => ctx.tokenizer.encode(t, { bos: true }))
      .filter((ids) => ids.length >= need + 1)
      .slice(0, Number(p.documents));
    if (docs.length === 0) throw new Error(`perplexity: no held-out document of ${need + 1}+ tokens (text: ${String(p.text)})`);
    const items: number[] = [];
    let bytes = {};
    let seqLen = 0;
    let baseline = 0;
    const B = ctx.cell.batch;
    for (let i = 0; i < docs.length; i += B) {
      const chunk = docs.slice(i, i + B);
      const prompts = chunk.map((d) => d.slice(0, Number(p.prefixLen)));
      const forced = chunk.map((d) => d.slice(Number(p.prefixLen), need));
      const r = await generate(ctx.backend, prompts, {
        createMethod: ctx.createMethod,
        maxNewTokens: Number(p.scoredLen),
        ignoreEos: true,
        teacherForce: forced,
        onStep: (s, n) => ctx.onProgress?.(i * n + s * chunk.length, docs.length * n),
        ...(ctx.signal ? { signal: ctx.signal } : {}),
      });
      for (const x of r.nll!) items.push(Math.exp(x.sum / x.count));
      bytes = r.bytes;
      seqLen = r.seqLen;
      baseline = r.kvBytesBaseline;
    }
    const ppl = items.reduce((a, b) => a + b, 0) / items.length;
    return {
      metrics: {
        kvBytes: totalBytes(bytes),
        kvBytesBaseline: baseline,
        compressionRatio: baseline / Math.max(1, totalBytes(bytes)),
        seqLen,
        kvBytesByComponent: bytes,
        perplexity: ppl,
        modelWeightBytes: m.weightBytes,
      },
      tasks: [{ task: 'perplexity', metric: 'perplexity', score: Math.round(ppl * 100) / 100, n: items.length, items }],
    };
  },
};
