import type { InferenceBackend } from './backend.js';
import { allocBlock, blockSize, type CacheGeometry, type KVBlock } from './kv-block.js';
import { layoutBatch } from './batch-layout.js';
import { Sampler, type SamplingSpec } from './sampler.js';
import { totalBytes, type ByteBreakdown, type KVCacheMethod, type MethodDiagnostics } from '../methods/types.js';

export interface GenerateOptions {
  /** Creates the cache method once the batch geometry is known. */
  createMethod: (geometry: CacheGeometry) => KVCacheMethod;
  /** New tokens per sequence (one number for all, or one per sequence). */
  maxNewTokens: number | number[];
  sampling?: SamplingSpec;
  seed?: number;
  /** Keep generating past EOS (serving benchmarks with fixed output lengths). */
  ignoreEos?: boolean;
  /** Extra stop tokens besides the model's EOS (e.g. newline for samsum). */
  stopTokens?: number[];
  /** Feed these tokens instead of sampled ones and score their log-probabilities (perplexity). */
  teacherForce?: number[][];
  /** Called after every step, for progress. */
  onStep?: (step: number, totalSteps: number) => void;
  /** Abort between steps. */
  signal?: AbortSignal;
  /** Clock in milliseconds; injectable for tests. */
  now?: () => number;
}

export interface GenerateResult {
  /** Generated tokens per sequence (stop token excluded). */
  tokens: number[][];
  /** Per sequence: ms from start to each generated token. */
  tokenTimesMs: number[][];
  prefillMs: number;
  /** Per decode step: total, model forward, cache operations (restore + append). */
  stepMs: number[];
  modelMs: number[];
  cacheMs: number[];
  promptTokens: number[];
  /** Token slots per sequence held at the end (padded prompt + decode steps). */
  seqLen: number;
  bytes: ByteBreakdown;
  peakKvBytes: number;
  kvBytesBaseline: number;
  diagnostics: MethodDiagnostics;
  /** Teacher forcing: summed negative log-likelihood and count of scored tokens per sequence. */
  nll?: { sum: number; count: number }[];
}

/**
 * Batched generation with the KV cache held by a method between steps:
 * 1. left-pad the prompts and prefill them in one forward (exact attention: the method only stores);
 * 2. hand the prompt's K/V of every layer to the method;
 * 3. per step: restore the past from the method, run the model on the new token, append its exact K/V;
 * 4. stop when every sequence hit EOS or its token budget.
 */
export async function generate(backend: InferenceBackend, prompts: number[][], opts: GenerateOptions): Promise<GenerateResult> {
  const now = opts.now ?? (() => performance.now());
  const m = backend.model;
  const layout = layoutBatch(m, prompts, opts);
  const { batch: B, lens, promptSlots: P, budget, maxNew, stop, pad, geometry, maskFor } = layout;
  const sampler = new Sampler(opts.sampling ?? { kind: 'greedy' }, opts.seed ?? 0);
  const method = opts.createMethod(geometry);
  const V = m.vocabSize;
  const cap = P + maxNew;

  const t0 = now();
  const ids = layout.prefillIds;
  const pos = layout.prefillPositions;
  const empty = Array.from({ length: m.layers }, () => allocBlock(geometry, 0));
  const pre = await backend.forward({ batch: B, tokens: P, inputIds: ids, attentionMask: maskFor(P), positionIds: pos, past: empty });
  const tPre = now();
  method.prefill(pre.present);
  const tCache0 = now();

  const tokens: number[][] = prompts.map(() => []);
  const times: number[][] = prompts.map(() => []);
  const done = new Array<boolean>(B).fill(false);
  const next = new Array<number>(B).fill(pad);
  const nll = opts.teacherForce ? prompts.map(() => ({ sum: 0, count: 0 })) : undefined;
  const choose = (logits: Float32Array, step: number, t: number) => {
    for (let b = 0; b < B; b++) {
      if (done[b]) {
        next[b] = pad;
        continue;
      }
      const forced = opts.teacherForce?.[b]?.[step];
      let tok: number;
      if (forced !== undefined) {
        tok = forced;
        nll![b]!.sum -= logSoftmaxAt(logits, b * V, V, tok);
        nll![b]!.count++;
      } else tok = sampler.pick(logits, b, V);
      next[b] = tok;
      if (stop.has(tok)) done[b] = true;
      else {
        tokens[b]!.push(tok);
        times[b]!.push(t - t0);
      }
      if (tokens[b]!.length >= budget[b]! || (opts.teacherForce && step + 1 >= opts.teacherForce[b]!.length)) done[b] = true;
    }
  };
  choose(pre.logits, 0, tCache0);

  // Restore targets: one capacity-sized buffer per layer, viewed at the current length; a method
  // with its own (restoreOwned: its kernel heap, no copy out) restores into those instead.
  const restoreBuf = method.restoreOwned ? [] : Array.from({ length: m.layers }, () => allocBlock(geometry, cap));
  const stepMs: number[] = [];
  const modelMs: number[] = [];
  const cacheMs: number[] = [tCache0 - tPre];
  let peak = totalBytes(method.bytes());
  const totalSteps = maxNew - 1;
  for (let step = 1; step <= totalSteps && done.some((d) => !d); step++) {
    if (opts.signal?.aborted) throw new Error('aborted');
    const n = method.length;
    const s0 = now();
    let past: KVBlock[];
    if (method.restoreOwned) past = method.restoreOwned(cap);
    else {
      past = restoreBuf.map((buf) => {
        const size = blockSize(geometry, n);
        return { k: buf.k.subarray(0, size), v: buf.v.subarray(0, size), tokens: n };
      });
      method.restore(past);
    }
    const s1 = now();
    const stepIds = BigInt64Array.from(next, (t) => BigInt(t));
    const stepPos = BigInt64Array.from(lens, (l) => BigInt(l + step - 1));
    const out = await backend.forward({ batch: B, tokens: 1, inputIds: stepIds, attentionMask: maskFor(n + 1), positionIds: stepPos, past });
    const s2 = now();
    method.append(out.present);
    const s3 = now();
    choose(out.logits, step, s3);
    peak = Math.max(peak, totalBytes(method.bytes()));
    stepMs.push(s3 - s0);
    modelMs.push(s2 - s1);
    cacheMs.push(s1 - s0 + (s3 - s2));
    opts.onStep?.(step, totalSteps);
  }

  const seqLen = method.length;
  const result: GenerateResult = {
    tokens,
    tokenTimesMs: times,
    prefillMs: tPre - t0,
    stepMs,
    modelMs,
    cacheMs,
    promptTokens: lens,
    seqLen,
    bytes: method.bytes(),
    peakKvBytes: peak,
    kvBytesBaseline: 2 * m.layers * blockSize(geometry, seqLen) * 2,
    diagnostics: method.diagnostics(),
    ...(nll ? { nll } : {}),
  };
  method.dispose();
  return result;
}

function logSoftmaxAt(logits: Float32Array, off: number, n: number, target: number): number {
  let max = -Infinity;
  for (let i = 0; i < n; i++) max = Math.max(max, logits[off + i]!);
  let z = 0;
  for (let i = 0; i < n; i++) z += Math.exp(logits[off + i]! - max);
  return logits[off + target]! - max - Math.log(z);
}
