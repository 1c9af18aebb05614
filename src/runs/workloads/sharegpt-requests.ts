import { parseShareGpt } from '../../workloads/sharegpt/parse.js';
import type { ServingRequest } from '../../workloads/sharegpt/request.js';
import { sampleShareGpt } from '../../workloads/sharegpt/sample.js';
import { syntheticRequests } from '../../workloads/sharegpt/synthetic.js';
import { timedGeneration } from '../assemble-metrics.js';
import { textsFromJsonl } from '../prompt-text.js';
import type { WorkloadDef } from '../workload.js';

/**
 * ShareGPT requests of realistic, varied lengths served as one static batch (the cell's batch
 * = number of requests), host cache path:
 *  - source 'embedded': the project's ShareGPT-like requests — lengths drawn to match ShareGPT's
 *    distribution after vLLM's filter (mean ≈161 in / ≈338 out), prompts cut from held-out text;
 *  - source 'file': a ShareGPT_V3-format JSON file sampled with vLLM's rules (first human/assistant
 *    pair, seeded shuffle, length filter). The file is read whole, so give a subset of the full
 *    650 MB release (e.g. the first 20k records) — V8 strings stop near 512 MB.
 * Every request generates exactly its output length (ignore-EOS, as vLLM's throughput benchmark);
 * prompts are left-padded, so a request's budget is capped where the padded batch would pass the
 * model's context.
 */
export const sharegptRequestsWorkload: WorkloadDef = {
  description: 'ShareGPT requests of varied lengths (embedded ShareGPT-like set, or a ShareGPT_V3 JSON file with vLLM sampling) as one static batch',
  defaults: { source: 'embedded', file: null, text: 'model:heldout/prose.jsonl?' },
  dataFiles: (p) => {
    if (p.source === 'file') {
      if (!p.file) throw new Error('sharegpt-requests: source "file" needs file (a ShareGPT_V3-format JSON array)');
      return [String(p.file)];
    }
    if (p.source !== 'embedded') throw new Error(`sharegpt-requests: source must be "embedded" or "file", got ${JSON.stringify(p.source)}`);
    return [String(p.text)];
  },
  async run(ctx) {
    const p = ctx.cell.workloadParams;
    const B = ctx.cell.batch;
    let requests: ServingRequest[];
    let sampling: Record<string, unknown> = {};
    if (p.source === 'file') {
      const name = String(p.file);
      let json: unknown;
      try {
        json = JSON.parse(ctx.data.get(name) ?? '');
      } catch (e) {
        throw new Error(`${name}: not valid JSON (${(e as Error).message})`);
      }
      const parsed = parseShareGpt(json, name);
      const sample = sampleShareGpt(parsed.pairs, { numRequests: B, seed: ctx.cell.seed, tokenizer: ctx.tokenizer });
      if (sample.requests.length < B) throw new Error(`${name}: only ${sample.requests.length} requests pass vLLM's filter, the cell needs ${B}`);
      requests = sample.requests;
      sampling = { records: parsed.total, skippedRecords: parsed.skipped, considered: sample.considered, rejected: sample.rejected };
    } else {
      requests = syntheticRequests({ numRequests: B, seed: ctx.cell.seed, tokenizer: ctx.tokenizer, texts: textsFromJsonl(ctx.data.get(String(p.text))) });
    }
    const prompts = requests.map((r) => r.promptIds ?? ctx.tokenizer.encode(r.prompt, { bos: true }));
    const P = Math.max(...prompts.map((x) => x.length));
    const room = ctx.backend.model.maxContext - P;
    const budgets = requests.map((r) => Math.max(1, Math.min(r.outputLen, room)));
    const { output } = await timedGeneration(ctx, prompts, { maxNewTokens: budgets, ignoreEos: true, sampling: { kind: 'greedy' }, seed: ctx.cell.seed });
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
    output.metrics.requestLengths = {
      meanPrompt: mean(prompts.map((x) => x.length)),
      meanOutput: mean(budgets),
      cappedByContext: budgets.filter((b, i) => b < requests[i]!.outputLen).length,
      ...sampling,
    };
    return output;
  },
};
