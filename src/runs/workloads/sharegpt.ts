import type { Tokenizer } from '../../engine/backend.js';
import type { Metrics } from '../../results/record.js';
import { resolveCachePath, timedGeneration, type CachePath } from '../assemble-metrics.js';
import { batchForBudget, resolveKvBudget } from '../memory.js';
import { fixedLengthPrompts, textsFromJsonl } from '../prompt-text.js';
import type { WorkloadContext, WorkloadDef, WorkloadOutput } from '../workload.js';

/**
 * ShareGPT-style serving workload on one static batch, KIVI/MiniCache protocol: every request
 * promptLen in, outputLen out, greedy, ignore-EOS (spec §4.7).
 *  - mode 'fixed': the cell's batch (a suite batch list draws throughput- and memory-vs-batch curves).
 *  - mode 'memory-budget' (the paper's Fig. 5 question): a KV budget — kvBudgetBytes, kvBudgetMiB,
 *    or by default the FP16 cache of the cell's batch at these lengths — and each method runs the
 *    largest batch whose measured peak KV bytes fit it (see runMemoryBudget).
 * `cache` picks where the cache lives between steps: host (JS stores), device (src/gpu graphs on
 * the model's EP), or auto (device on GPU EPs when the method has a device version).
 */
export const sharegptWorkload: WorkloadDef = {
  description: 'ShareGPT-style batch serving: fixed 160-in/338-out (KIVI/MiniCache protocol) with ignore-EOS; fixed batch or largest batch within a KV memory budget',
  defaults: {
    mode: 'fixed',
    promptLen: 160,
    outputLen: 338,
    text: 'model:heldout/prose.jsonl?',
    cache: 'auto',
    /** Device path: fence each cache op so its time is its own (true) or let the device pipeline them (false: best throughput). */
    fenceCacheOps: true,
    kvBudgetBytes: null,
    kvBudgetMiB: null,
    /** memory-budget: batch of the calibration run that measures bytes per sequence. */
    calibrationBatch: 8,
    /** memory-budget: upper bound on the chosen batch. */
    maxBatch: 4096,
  },
  dataFiles: (p) => [String(p.text)],
  timed: true,
  async run(ctx) {
    const p = ctx.cell.workloadParams;
    const cache = resolveCachePath(ctx, p.cache);
    if (p.mode === 'fixed') return (await generateFixed(ctx, ctx.cell.batch, cache)).output;
    if (p.mode === 'memory-budget') return runMemoryBudget(ctx, cache);
    throw new Error(`sharegpt: mode must be "fixed" or "memory-budget", got ${JSON.stringify(p.mode)}`);
  },
};

function promptsFor(ctx: WorkloadContext, batch: number): number[][] {
  const p = ctx.cell.workloadParams;
  const texts = textsFromJsonl(ctx.data.get(String(p.text)));
  return fixedLengthPrompts(ctx.tokenizer as Tokenizer, texts, batch, Number(p.promptLen), ctx.cell.seed, ctx.backend.model.bos);
}

async function generateFixed(ctx: WorkloadContext, batch: number, cache: CachePath, timing = true) {
  const p = ctx.cell.workloadParams;
  const run = timing ? ctx : { ...ctx, warmup: 0, repeats: 1, onProgress: undefined };
  return timedGeneration(run, promptsFor(ctx, batch), {
    maxNewTokens: Number(p.outputLen),
    ignoreEos: true,
    sampling: { kind: 'greedy' },
    seed: ctx.cell.seed,
    cache,
    fenceCacheOps: p.fenceCacheOps !== false,
  });
}

/**
 * Largest batch within the KV budget, from the method's own byte accounting:
 * 1. calibrate: one untimed run at calibrationBatch and the full lengths measures the peak KV
 *    bytes per sequence (exact for fp16 and KIVI, whose bytes are linear in the batch; MiniCache's
 *    retained tokens depend on the data, hence step 3);
 * 2. batch = floor(budget / bytes per sequence), capped by maxBatch; a store that keeps a
 *    data-dependent number of tokens (MiniCache's retained rows) aims RETAINED_MARGIN under the
 *    budget, since its bytes per sequence shift a little with the batch (the 7B card's
 *    minicache+kivi4 overshot by 0.3% at its first batch and its whole run was repeated);
 * 3. the timed run at that batch measures its real peak; if it exceeds the budget the batch shrinks
 *    in proportion and runs again (at most 3 times). The record says what was chosen and measured.
 */
async function runMemoryBudget(ctx: WorkloadContext, cache: CachePath): Promise<WorkloadOutput> {
  const p = ctx.cell.workloadParams;
  const m = ctx.backend.model;
  const seqLen = Number(p.promptLen) + Number(p.outputLen) - 1;
  // On the WebGPU engine the budget is device memory: FP16's store allocates promptLen + outputLen
  // slots per sequence, and a method fits when the KV store the engine allocated does.
  const budget = resolveKvBudget(p, m, ctx.cell.batch, ctx.engine ? seqLen + 1 : seqLen);
  const kvOf = (metrics: Metrics) => (ctx.engine ? engineKvAllocated(metrics) : metrics.kvBytes);
  const maxBatch = Number(p.maxBatch);
  const calBatch = Math.max(1, Math.min(Number(p.calibrationBatch), maxBatch));
  const cal = await generateFixed(ctx, calBatch, cache, false);
  const bytesPerSequence = kvOf(cal.output.metrics) / calBatch;
  const dataDependent = (cal.output.metrics.kvBytesByComponent?.retained ?? 0) > 0;
  const aimBytes = dataDependent ? Math.floor(budget.bytes * (1 - RETAINED_MARGIN)) : budget.bytes;
  // The margin never costs the only sequence that fits: below the aim, try the budget itself.
  let batch = batchForBudget(aimBytes, bytesPerSequence, maxBatch) || batchForBudget(budget.bytes, bytesPerSequence, maxBatch);
  if (batch < 1) throw new Error(`sharegpt memory-budget: not even one sequence fits ${budget.bytes} B of KV (${bytesPerSequence.toFixed(0)} B per sequence)`);
  const tried: { batch: number; peakKvBytes: number }[] = [];
  for (let attempt = 0; ; attempt++) {
    const { output } = await generateFixed(ctx, batch, cache);
    const peak = kvOf(output.metrics);
    tried.push({ batch, peakKvBytes: peak });
    if (peak <= budget.bytes || attempt === 2 || batch === 1) {
      const metrics: Metrics = {
        ...output.metrics,
        batchChosen: batch,
        kvBudgetBytes: budget.bytes,
        kvBudgetSource: budget.source,
        kvBudgetFits: peak <= budget.bytes,
        kvBudgetUsedFraction: peak / budget.bytes,
        ...(ctx.engine ? { kvBudgetMeasure: 'engine-allocated KV store (held + headroom), at the end of the run' } : {}),
        calibration: { batch: calBatch, bytesPerSequence, aimBytes, attempts: tried },
      };
      if (peak > budget.bytes) throw new Error(`sharegpt memory-budget: batch ${batch} still needs ${peak} B > budget ${budget.bytes} B after ${tried.length} tries`);
      return { ...output, metrics };
    }
    batch = Math.max(1, Math.min(batch - 1, Math.floor((batch * budget.bytes) / peak)));
  }
}

/** How far under the budget a store with data-dependent bytes aims its first timed batch. */
export const RETAINED_MARGIN = 0.01;

/** The KV store the engine allocated for a run: bytes held plus the store's preallocated headroom. */
function engineKvAllocated(m: Metrics): number {
  const headroom = typeof m.kvHeadroomBytes === 'number' ? m.kvHeadroomBytes : 0;
  return m.kvBytes + headroom;
}
