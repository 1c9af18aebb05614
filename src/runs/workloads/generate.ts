import { timedGeneration } from '../assemble-metrics.js';
import { fixedLengthPrompts, textsFromJsonl } from '../prompt-text.js';
import type { WorkloadDef } from '../workload.js';

/**
 * Plain generation: `batch` prompts (given texts, or cut from the model's held-out prose),
 * greedy or seeded sampling, stopping at EOS or maxNewTokens. The smoke workload.
 */
export const generateWorkload: WorkloadDef = {
  description: 'Generate from prompts (given texts, or held-out prose cut to promptLen tokens); stops at EOS unless ignoreEos',
  defaults: {
    prompts: null,
    text: 'model:heldout/prose.jsonl?',
    promptLen: 32,
    maxNewTokens: 32,
    ignoreEos: false,
    temperature: 0,
  },
  dataFiles: (p) => (p.prompts ? [] : [String(p.text)]),
  timed: true,
  async run(ctx) {
    const p = ctx.cell.workloadParams;
    const { tokenizer: tok, backend } = ctx;
    const B = ctx.cell.batch;
    let prompts: number[][];
    if (Array.isArray(p.prompts) && p.prompts.length > 0) {
      const texts = p.prompts as string[];
      prompts = Array.from({ length: B }, (_, i) => tok.encode(texts[i % texts.length]!, { bos: true }));
    } else {
      const texts = textsFromJsonl(ctx.data.get(String(p.text)));
      prompts = fixedLengthPrompts(tok, texts, B, Number(p.promptLen), ctx.cell.seed, backend.model.bos);
    }
    const temperature = Number(p.temperature);
    const { output } = await timedGeneration(ctx, prompts, {
      maxNewTokens: Number(p.maxNewTokens),
      ignoreEos: Boolean(p.ignoreEos),
      sampling: temperature > 0 ? { kind: 'sample', temperature } : { kind: 'greedy' },
      seed: ctx.cell.seed,
    });
    return output;
  },
};
