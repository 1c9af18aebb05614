import { timedGeneration } from '../assemble-metrics.js';
import { fixedLengthPrompts, textsFromJsonl } from '../prompt-text.js';
import type { WorkloadDef } from '../workload.js';

/**
 * ShareGPT-style serving workload on one static batch.
 * mode 'fixed': the KIVI/MiniCache protocol — every request promptLen in, outputLen out, ignore-EOS.
 */
export const sharegptWorkload: WorkloadDef = {
  description: 'ShareGPT-style batch serving: fixed 160-in/338-out (KIVI/MiniCache protocol) with ignore-EOS',
  defaults: {
    mode: 'fixed',
    promptLen: 160,
    outputLen: 338,
    text: 'model:heldout/prose.jsonl?',
  },
  dataFiles: (p) => [String(p.text)],
  async run(ctx) {
    const p = ctx.cell.workloadParams;
    if (p.mode !== 'fixed') throw new Error(`sharegpt mode "${String(p.mode)}" is not available in this build`);
    const texts = textsFromJsonl(ctx.data.get(String(p.text)));
    const prompts = fixedLengthPrompts(ctx.tokenizer, texts, ctx.cell.batch, Number(p.promptLen), ctx.cell.seed, ctx.backend.model.bos);
    const { output } = await timedGeneration(ctx, prompts, {
      maxNewTokens: Number(p.outputLen),
      ignoreEos: true,
      sampling: { kind: 'greedy' },
      seed: ctx.cell.seed,
    });
    return output;
  },
};
