/**
 * Shared pieces of bench/harness-overhead.ts and bench/gpu-throughput.ts: the bare onnxruntime
 * decode loop (the floor any harness is measured against), prompts, and formatting.
 */
import * as ort from 'onnxruntime-node';
import type { ModelInfo, Tokenizer } from '../../src/engine/backend.js';
import { buildLlamaOnnx } from '../../src/model/build-llama-onnx.js';
import { HF_IO_NAMES as N, layerName } from '../../src/model/io-names.js';
import type { Llama2cModel } from '../../src/model/llama2c.js';
import { fixedLengthPrompts, textsFromJsonl } from '../../src/runs/prompt-text.js';
import { isDeviceEp } from './ort-device-cache.js';
import { sessionOptions, type OrtEp } from './ort-ep.js';

export interface BareLoopResult {
  /** Per decode step (token 2 … n): ms from feeding the step to having its argmax tokens. */
  stepMs: number[];
  prefillMs: number;
  tokens: number[][];
}

/**
 * The least a decode loop can do with onnxruntime: one session (created once, reused), present fed straight back as past
 * (no copy, no conversion; kept on the device on GPU EPs), greedy argmax on the logits. Same graph
 * builder, masks and positions as the harness; nothing else.
 */
export interface BareLoop {
  run(prompts: number[][], newTokens: number): Promise<BareLoopResult>;
  release(): Promise<void>;
}

export async function createBareLoop(
  weights: Llama2cModel,
  model: ModelInfo,
  opts: { ep: OrtEp; kvDtype: 'float32' | 'float16'; ropeTheta?: number; rmsEps?: number; threads?: number },
): Promise<BareLoop> {
  const bytes = buildLlamaOnnx(weights, { logits: 'last', kvDtype: opts.kvDtype, ropeTheta: opts.ropeTheta, rmsEps: opts.rmsEps });
  const so = sessionOptions(opts.ep, { threads: opts.threads });
  if (isDeviceEp(opts.ep)) {
    const loc: Record<string, ort.Tensor.DataLocation> = { [N.logits]: 'cpu' };
    for (let i = 0; i < model.layers; i++) loc[layerName(N.presentKey, i)] = loc[layerName(N.presentValue, i)] = 'gpu-buffer';
    so.preferredOutputLocation = loc;
  }
  const session = await ort.InferenceSession.create(bytes, so);
  return { run: (prompts, newTokens) => bareRun(session, model, prompts, newTokens, opts.kvDtype), release: () => session.release() };
}

async function bareRun(session: ort.InferenceSession, model: ModelInfo, prompts: number[][], newTokens: number, kvDtype: 'float32' | 'float16'): Promise<BareLoopResult> {
  {
    const B = prompts.length;
    const P = prompts[0]!.length;
    if (prompts.some((p) => p.length !== P)) throw new Error('bareOrtLoop: prompts must have equal lengths');
    const V = model.vocabSize;
    const { kvHeads: KV, headDim: D, layers: L } = model;
    const empty = kvDtype === 'float16' ? new ort.Tensor('float16', new Uint16Array(0), [B, KV, 0, D]) : new ort.Tensor('float32', new Float32Array(0), [B, KV, 0, D]);
    const feeds: Record<string, ort.Tensor> = {};
    const ids = BigInt64Array.from(prompts.flat(), (t) => BigInt(t));
    const pos = new BigInt64Array(B * P);
    for (let b = 0; b < B; b++) for (let s = 0; s < P; s++) pos[b * P + s] = BigInt(s);
    feeds[N.inputIds] = new ort.Tensor('int64', ids, [B, P]);
    feeds[N.positionIds] = new ort.Tensor('int64', pos, [B, P]);
    feeds[N.attentionMask] = new ort.Tensor('int64', new BigInt64Array(B * P).fill(1n), [B, P]);
    for (let i = 0; i < L; i++) feeds[layerName(N.pastKey, i)] = feeds[layerName(N.pastValue, i)] = empty;
    const tokens: number[][] = prompts.map(() => []);
    const argmax = (logits: Float32Array) => {
      const next = new BigInt64Array(B);
      for (let b = 0; b < B; b++) {
        let best = 0;
        let bv = -Infinity;
        const o = b * V;
        for (let v = 0; v < V; v++) if (logits[o + v]! > bv) ((bv = logits[o + v]!), (best = v));
        next[b] = BigInt(best);
        tokens[b]!.push(best);
      }
      return next;
    };
    const t0 = performance.now();
    let out = await session.run(feeds);
    let next = argmax(out[N.logits]!.data as Float32Array);
    const prefillMs = performance.now() - t0;
    const stepMs: number[] = [];
    for (let step = 1; step < newTokens; step++) {
      const s0 = performance.now();
      const total = P + step;
      const f: Record<string, ort.Tensor> = {
        [N.inputIds]: new ort.Tensor('int64', next, [B, 1]),
        [N.positionIds]: new ort.Tensor('int64', new BigInt64Array(B).fill(BigInt(total - 1)), [B, 1]),
        [N.attentionMask]: new ort.Tensor('int64', new BigInt64Array(B * total).fill(1n), [B, total]),
      };
      const prev = out;
      for (let i = 0; i < L; i++) {
        f[layerName(N.pastKey, i)] = prev[layerName(N.presentKey, i)]!;
        f[layerName(N.pastValue, i)] = prev[layerName(N.presentValue, i)]!;
      }
      out = await session.run(f);
      for (let i = 0; i < L; i++) for (const n of [N.presentKey, N.presentValue]) prev[layerName(n, i)]!.dispose();
      next = argmax(out[N.logits]!.data as Float32Array);
      stepMs.push(performance.now() - s0);
    }
    for (let i = 0; i < L; i++) for (const n of [N.presentKey, N.presentValue]) out[layerName(n, i)]!.dispose();
    return { stepMs, prefillMs, tokens };
  }
}

/** `batch` prompts of exactly `len` tokens cut from the model's held-out prose (as the sharegpt workload does). */
export function benchPrompts(tok: Tokenizer, heldoutJsonl: string | undefined, batch: number, len: number, bos: number): number[][] {
  return fixedLengthPrompts(tok, textsFromJsonl(heldoutJsonl), batch, len, 0, bos);
}

export function sum(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0);
}

export function medianOf(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const h = s.length >> 1;
  return s.length % 2 ? s[h]! : (s[h - 1]! + s[h]!) / 2;
}

/** Decode tokens/s of a loop: (steps × batch) tokens over the steps' summed time. */
export function decodeTps(stepMs: readonly number[], batch: number): number {
  return (stepMs.length * batch * 1000) / sum(stepMs);
}
