import { generateForCell, type CachePath } from '../generation.js';
import { mean } from '../../measure/stats.js';
import { totalBytes } from '../../methods/types.js';
import type { TaskScore } from '../../results/record.js';
import { corpusPerplexity, pairedCorpusPerplexityDiff, perplexity, type Nll } from '../../workloads/perplexity.js';
import { textsFromJsonl } from '../prompt-text.js';
import type { WorkloadDef } from '../workload.js';

/**
 * Perplexity of long held-out documents read through the compressed cache: prefill a prefix
 * (exact), then feed the true continuation token by token, each step attending to the restored
 * cache. Lower is better; FP16 is the reference. The headline is the corpus perplexity
 * (token-weighted); methods get the paired difference to FP16's with a bootstrap CI over documents.
 * `text` is held-out prose ({text} lines) or a LongBench-format file ({context} lines), e.g. the
 * embedded set's long documents, project:data/embedded-longbench/longdoc_ppl_heldout.jsonl.
 */
export const perplexityWorkload: WorkloadDef = {
  description: 'Teacher-forced corpus perplexity of held-out documents through the compressed cache (prefix exact, continuation scored), paired difference to FP16',
  defaults: { text: 'model:heldout/prose.jsonl?', documents: 4, prefixLen: 256, scoredLen: 256 },
  dataFiles: (p) => [String(p.text)],
  usesBaseline: true,
  needsRealWeights: true,
  async run(ctx) {
    const p = ctx.cell.workloadParams;
    const m = ctx.backend.model;
    const need = Number(p.prefixLen) + Number(p.scoredLen);
    const docs = textsFromJsonl(ctx.data.get(String(p.text)))
      .map((t) => ctx.tokenizer.encode(t, { bos: true }))
      .filter((ids) => ids.length >= need + 1)
      .slice(0, Number(p.documents));
    if (docs.length === 0) throw new Error(`perplexity: no held-out document of ${need + 1}+ tokens (text: ${String(p.text)})`);
    const nll: Nll[] = [];
    let bytes = {};
    let cachePath: CachePath = 'host';
    let seqLen = 0;
    let baseline = 0;
    const B = ctx.cell.batch;
    for (let i = 0; i < docs.length; i += B) {
      const chunk = docs.slice(i, i + B);
      const prompts = chunk.map((d) => d.slice(0, Number(p.prefixLen)));
      const forced = chunk.map((d) => d.slice(Number(p.prefixLen), need));
      const r = await generateForCell(ctx, prompts, {
        maxNewTokens: Number(p.scoredLen),
        ignoreEos: true,
        teacherForce: forced,
        onStep: (s, n) => ctx.onProgress?.(i * n + s * chunk.length, docs.length * n),
        ...(ctx.signal ? { signal: ctx.signal } : {}),
      });
      nll.push(...r.nll!.map((x) => ({ sum: x.sum, count: x.count })));
      bytes = r.bytes;
      cachePath = r.cachePath;
      seqLen = r.seqLen;
      baseline = r.kvBytesBaseline;
    }
    const ppl = corpusPerplexity(nll);
    const perDocument = nll.map(perplexity);
    const task: TaskScore = { task: 'perplexity', metric: 'perplexity', score: Math.round(ppl * 100) / 100, n: nll.length, items: perDocument };
    const fp16 = ctx.baseline?.outputs?.nll;
    if (ctx.cell.method !== 'fp16' && fp16 && fp16.length === nll.length) {
      const ci = pairedCorpusPerplexityDiff(nll, fp16, { seed: 'delta/perplexity' });
      task.deltaVsFp16 = { mean: ci.estimate, lo: ci.lo, hi: ci.hi };
    }
    return {
      metrics: {
        kvBytes: totalBytes(bytes),
        kvBytesBaseline: baseline,
        compressionRatio: baseline / Math.max(1, totalBytes(bytes)),
        seqLen,
        kvBytesByComponent: bytes,
        perplexity: ppl,
        perplexityDocumentMean: mean(perDocument),
        scoredTokens: nll.reduce((a, x) => a + x.count, 0),
        modelWeightBytes: m.weightBytes,
        cachePath,
      },
      tasks: [task],
      outputs: { tokens: [], nll },
    };
  },
};
