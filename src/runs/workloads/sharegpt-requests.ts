import { pairsSource, parseShareGpt } from '../../workloads/sharegpt/parse.js';
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
 *    pair, seeded shuffle, length filter). The Node runner streams it (the full 650 MB release
 *    included) and reads back only the pairs the sampler reaches; a broken record is skipped and
 *    counted. The browser page gets the file's text, so give it a subset.
 * Every request generates exactly its output length (ignore-EOS, as vLLM's throughput benchmark);
 * prompts are left-padded, so a request's budget is capped where the padded batch would pass the
 * model's context.
 */
export const sharegptRequestsWorkload: WorkloadDef = {
  description: 'ShareGPT requests of varied lengths (embedded ShareGPT-like set, or a ShareGPT_V3 JSON file with vLLM sampling) as one static batch',
  defaults: { source: 'embedded', file: null, text: 'model:heldout/prose.jsonl?' },
  timed: true,
  dataFiles: (p) => {
    if (p.source === 'file') {
      if (!p.file) throw new Error('sharegpt-requests: source "file" needs file (a ShareGPT_V3-format JSON array)');
      return [String(p.file)];
    }
    if (p.source !== 'embedded') throw new Error(`sharegpt-requests: source must be "embedded" or "file", got ${JSON.stringify(p.source)}`);
    return [String(p.text)];
  },
  largeFiles: (p) => (p.source === 'file' && p.file ? [String(p.file)] : []),
  async run(ctx) {
    const p = ctx.cell.workloadParams;
    const B = ctx.cell.batch;
    let requests: ServingRequest[];
    let sampling: Record<string, unknown> = {};
    if (p.source === 'file') {
      const name = String(p.file);
      const parsed = ctx.shareGpt
        ? await ctx.shareGpt(name, (done, bytes) => ctx.onProgress?.(done, bytes, 'reading the ShareGPT file'))
        : pairsSource(parseShareGpt(parseJson(ctx.data.get(name) ?? '', name), name));
      const sample = sampleShareGpt(parsed, { numRequests: B, seed: ctx.cell.seed, tokenizer: ctx.tokenizer });
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

function parseJson(text: string, name: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`${name}: not valid JSON (${(e as Error).message})`);
  }
}
