import type { Tokenizer } from '../../engine/backend.js';
import { createPrng } from '../../measure/prng.js';
import { PythonRandom } from '../python-random.js';
import type { ShareGptPair, ShareGptSource } from './parse.js';
import type { ServingRequest } from './request.js';

export interface ShareGptSampleOptions {
  numRequests: number;
  /** vLLM's --seed (default 0). */
  seed?: number;
  tokenizer: Tokenizer;
  /** vLLM's --output-len: fix every output length (must be ≥ 4); the output-length minimum is then not checked. */
  fixedOutputLen?: number;
  /**
   * 'python' (default): CPython's random.shuffle under random.seed(seed) — the same order as
   * vLLM given the same pair list. 'prng': the project's xoshiro PRNG (a different order).
   */
  shuffle?: 'python' | 'prng';
  /** Generate exactly the output length (vLLM's throughput benchmark sets ignore_eos). Default true. */
  ignoreEos?: boolean;
}

export interface ShareGptSample {
  requests: ServingRequest[];
  /** Pairs tokenised before numRequests were accepted (or the list ran out). */
  considered: number;
  rejected: { promptTooShort: number; outputTooShort: number; promptTooLong: number; totalTooLong: number };
  /** True when the list ran out before numRequests were accepted. */
  exhausted: boolean;
}

/**
 * vLLM's ShareGPT sampler (benchmark_serving sample_sharegpt_requests, 2024): shuffle the pairs,
 * then walk them, tokenising prompt and completion with BOS (HF `tokenizer(x).input_ids`, so the
 * BOS counts in both lengths), skipping prompt < 4, output < 4 (only when the output length is not
 * fixed), prompt > 1024 and prompt + output > 2048, until numRequests are accepted.
 */
export function sampleShareGpt(pairs: readonly ShareGptPair[] | ShareGptSource, opts: ShareGptSampleOptions): ShareGptSample {
  const { numRequests, tokenizer, fixedOutputLen } = opts;
  if (!Number.isInteger(numRequests) || numRequests < 0) throw new RangeError(`numRequests must be a non-negative integer, got ${numRequests}`);
  if (fixedOutputLen !== undefined && fixedOutputLen < 4) throw new RangeError(`fixedOutputLen ${fixedOutputLen} is too small (vLLM: "output_len too small", minimum 4)`);
  const seed = opts.seed ?? 0;
  // Shuffling positions gives the order shuffling the pairs would (the swaps depend only on the
  // length), and lets a file-backed source read just the pairs the walk reaches.
  const get = Array.isArray(pairs) ? (i: number) => (pairs as readonly ShareGptPair[])[i]! : (pairs as ShareGptSource).get;
  const order = Array.from({ length: pairs.length }, (_, i) => i);
  if ((opts.shuffle ?? 'python') === 'python') new PythonRandom(seed).shuffle(order);
  else createPrng(seed).shuffle(order);

  const out: ShareGptSample = {
    requests: [],
    considered: 0,
    rejected: { promptTooShort: 0, outputTooShort: 0, promptTooLong: 0, totalTooLong: 0 },
    exhausted: false,
  };
  for (const at of order) {
    if (out.requests.length === numRequests) break;
    const pair = get(at);
    out.considered++;
    const promptLen = tokenizer.encode(pair.prompt, { bos: true }).length;
    const outputLen = fixedOutputLen ?? tokenizer.encode(pair.completion, { bos: true }).length;
    if (promptLen < 4) out.rejected.promptTooShort++;
    else if (fixedOutputLen === undefined && outputLen < 4) out.rejected.outputTooShort++;
    else if (promptLen > 1024) out.rejected.promptTooLong++;
    else if (promptLen + outputLen > 2048) out.rejected.totalTooLong++;
    else out.requests.push({ id: pair.id, prompt: pair.prompt, promptLen, outputLen, ignoreEos: opts.ignoreEos ?? true });
  }
  out.exhausted = out.requests.length < numRequests;
  return out;
}
