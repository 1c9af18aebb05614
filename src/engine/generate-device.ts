/**
 * The decode loop of the device-resident cache path: the same batching, masking, sampling and
 * timing as generate(), but the cache never comes to the host. Per step:
 *   restore graph(store) → past (device) → model(past) → logits (host) + present (device)
 *   → append graph(store, present) → store' (device).
 * The host sees logits (and MiniCache's per-token retention flags). Cache-op time (restore +
 * append) and model time are taken apart per step; with a fenced method (DeviceMethodOptions)
 * each cache op's device work is finished inside its own time.
 */
import type { ModelInfo } from './backend.js';
import type { GenerateOptions, GenerateResult } from './generate.js';
import { layoutBatch } from './batch-layout.js';
import { Sampler } from './sampler.js';
import { totalBytes, type ByteBreakdown } from '../methods/types.js';
import type { CacheGeometry } from './kv-block.js';
import type { DeviceCacheMethod, DeviceDecoder, DeviceTensor } from '../gpu/device-types.js';
import { withPresent } from '../gpu/device-decoder-io.js';

export interface DeviceGenerateOptions extends Omit<GenerateOptions, 'createMethod' | 'teacherForce'> {
  createMethod: (geometry: CacheGeometry) => DeviceCacheMethod;
}

export interface DeviceGenerateResult extends GenerateResult {
  /** Peak bytes of the tensors the cache held on the device (kvBytes of the record). */
  peakHeldBytes: number;
  /** The same state in the reference accounting (fp16 payloads, packed codes). */
  peakPackedBytes: number;
  bytesHeld: ByteBreakdown;
  /** Largest per-step transient: restored past tensors made by the restore graph (0 for fp16 pass-through). */
  peakRestoreBytes: number;
  /** Bytes of the model's present outputs at the last step (the full fp16 past + 1 of every layer). */
  presentBytes: number;
}

function tensorBytes(t: DeviceTensor): number {
  const el = t.type === 'float16' ? 2 : t.type === 'float32' || t.type === 'int32' ? 4 : 8;
  return t.dims.reduce((a, b) => a * b, 1) * el;
}

export async function generateOnDevice(decoder: DeviceDecoder, model: ModelInfo, prompts: number[][], opts: DeviceGenerateOptions): Promise<DeviceGenerateResult> {
  const now = opts.now ?? (() => performance.now());
  const m = model;
  const layout = layoutBatch(m, prompts, opts);
  const { batch: B, lens, promptSlots: P, budget, maxNew, stop, pad, geometry, maskFor } = layout;
  const sampler = new Sampler(opts.sampling ?? { kind: 'greedy' }, opts.seed ?? 0);
  const method = opts.createMethod(geometry);
  const V = m.vocabSize;
  const cap = P + maxNew;

  // A method that keeps no present gets the new tokens alone: no full-length present beside the restored past.
  const kvOutputs = method.needsPresent ? 'both' : 'new';
  try {
    await decoder.prepare?.(kvOutputs);
    const t0 = now();
    const ids = layout.prefillIds;
    const pos = layout.prefillPositions;
    const pre = await decoder.forward({ batch: B, tokens: P, inputIds: ids, attentionMask: maskFor(P), positionIds: pos, past: null });
    const tPre = now();
    await method.prefill(withPresent(pre.present));
    const tCache0 = now();

    const tokens: number[][] = prompts.map(() => []);
    const times: number[][] = prompts.map(() => []);
    const done = new Array<boolean>(B).fill(false);
    const next = new Array<number>(B).fill(pad);
    const choose = (logits: Float32Array, t: number) => {
      for (let b = 0; b < B; b++) {
        if (done[b]) {
          next[b] = pad;
          continue;
        }
        const tok = sampler.pick(logits, b, V);
        next[b] = tok;
        if (stop.has(tok)) done[b] = true;
        else {
          tokens[b]!.push(tok);
          times[b]!.push(t - t0);
        }
        if (tokens[b]!.length >= budget[b]!) done[b] = true;
      }
    };
    choose(pre.logits, tCache0);

    const stepMs: number[] = [];
    const modelMs: number[] = [];
    const cacheMs: number[] = [tCache0 - tPre];
    let bytes = method.bytes();
    let peakHeld = totalBytes(bytes.held);
    let peakPacked = totalBytes(bytes.packedEquivalent);
    let peakRestore = 0;
    let presentBytes = 0;
    const totalSteps = maxNew - 1;
    for (let step = 1; step <= totalSteps && done.some((d) => !d); step++) {
      if (opts.signal?.aborted) throw new Error('aborted');
      const n = method.length;
      const s0 = now();
      const { past, transient } = await method.restore();
      const s1 = now();
      const stepIds = BigInt64Array.from(next, (t) => BigInt(t));
      const stepPos = BigInt64Array.from(lens, (l) => BigInt(l + step - 1));
      const out = await decoder.forward({ batch: B, tokens: 1, inputIds: stepIds, attentionMask: maskFor(n + 1), positionIds: stepPos, past, kvOutputs });
      const s2 = now();
      peakRestore = Math.max(peakRestore, transient.reduce((a, t) => a + tensorBytes(t), 0));
      for (const t of transient) t.dispose();
      presentBytes = out.present.reduce((a, kv) => a + (kv.k && kv.v ? tensorBytes(kv.k) + tensorBytes(kv.v) : 0), 0);
      await method.append(out.present);
      const s3 = now();
      choose(out.logits, s3);
      bytes = method.bytes();
      peakHeld = Math.max(peakHeld, totalBytes(bytes.held));
      peakPacked = Math.max(peakPacked, totalBytes(bytes.packedEquivalent));
      stepMs.push(s3 - s0);
      modelMs.push(s2 - s1);
      cacheMs.push(s1 - s0 + (s3 - s2));
      opts.onStep?.(step, totalSteps);
    }

    const seqLen = method.length;
    return {
      tokens,
      tokenTimesMs: times,
      prefillMs: tPre - t0,
      stepMs,
      modelMs,
      cacheMs,
      promptTokens: lens,
      seqLen,
      bytes: bytes.packedEquivalent,
      bytesHeld: bytes.held,
      peakKvBytes: peakPacked,
      peakHeldBytes: peakHeld,
      peakPackedBytes: peakPacked,
      peakRestoreBytes: peakRestore,
      presentBytes,
      kvBytesBaseline: 2 * m.layers * B * m.kvHeads * seqLen * m.headDim * 2,
      diagnostics: method.diagnostics(),
    };
  } finally {
    method.dispose();
  }
}
