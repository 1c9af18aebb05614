import { generate, type GenerateOptions, type GenerateResult } from '../engine/generate.js';
import { totalBytes } from '../methods/types.js';
import type { Metrics } from '../results/record.js';
import { median, servingMetrics } from './serving-metrics.js';
import type { WorkloadContext, WorkloadOutput } from './workload.js';

/**
 * Run the same generation warmup + repeats times; report the median repeat's serving metrics,
 * every repeat's headline figures, and the bytes of the last repeat (deterministic: identical
 * in every repeat).
 */
export async function timedGeneration(
  ctx: WorkloadContext,
  prompts: number[][],
  opts: Omit<GenerateOptions, 'createMethod'>,
): Promise<{ output: WorkloadOutput; last: GenerateResult }> {
  const runs: GenerateResult[] = [];
  const total = ctx.warmup + ctx.repeats;
  for (let i = 0; i < total; i++) {
    // Warm-up runs are short: they exist to create sessions and buffers, not to be timed.
    const warm = i < ctx.warmup;
    const r = await generate(ctx.backend, prompts, {
      ...opts,
      ...(warm ? { maxNewTokens: 4 } : {}),
      createMethod: ctx.createMethod,
      ...(ctx.signal ? { signal: ctx.signal } : {}),
      onStep: (s, n) => ctx.onProgress?.(i * n + s, total * n, i < ctx.warmup ? 'warm-up' : `repeat ${i - ctx.warmup + 1}/${ctx.repeats}`),
    });
    if (!warm) runs.push(r);
  }
  const serving = runs.map(servingMetrics);
  const mid = serving.map((s) => s.decodeTokensPerSecond);
  const order = mid.map((v, i) => [v, i] as const).sort((a, b) => a[0] - b[0]);
  const pick = order[(order.length - 1) >> 1]![1];
  const s = serving[pick]!;
  const last = runs[runs.length - 1]!;
  const kvBytes = last.peakKvBytes;
  const metrics: Metrics = {
    kvBytes,
    kvBytesBaseline: last.kvBytesBaseline,
    compressionRatio: last.kvBytesBaseline / Math.max(1, totalBytes(last.bytes)),
    seqLen: last.seqLen,
    kvBytesByComponent: last.bytes,
    decodeTokensPerSecond: median(mid),
    prefillTokensPerSecond: median(serving.map((x) => x.prefillTokensPerSecond)),
    requestsPerSecond: median(serving.map((x) => x.requestsPerSecond)),
    ttftMs: s.ttft.mean,
    tpotMs: s.tpot.mean,
    ttft: s.ttft,
    tpot: s.tpot,
    itl: s.itl,
    e2e: s.e2e,
    cacheOpMsPerStep: median(serving.map((x) => x.cacheOpMsPerStep)),
    modelMsPerStep: median(serving.map((x) => x.modelMsPerStep)),
    modelWeightBytes: ctx.backend.model.weightBytes,
    generatedTokens: last.tokens.reduce((a, t) => a + t.length, 0),
    repeats: {
      decodeTokensPerSecond: mid,
      prefillTokensPerSecond: serving.map((x) => x.prefillTokensPerSecond),
      ttftMs: serving.map((x) => x.ttft.mean),
      tpotMs: serving.map((x) => x.tpot.mean),
    },
  };
  return {
    output: {
      metrics,
      diagnostics: last.diagnostics,
      sampleTokens: last.tokens.slice(0, 8),
      outputs: { tokens: last.tokens },
    },
    last,
  };
}
