/**
 * The harness's decode loop on the WebGPU engine: the same batching, stop rules, token budgets,
 * teacher forcing and timing fields as generate() (src/engine/generate.ts), with the cache held
 * by a device store. Per step the host submits one command buffer and reads back only the ids the
 * device chose (and logits when teacher forcing scores them); up to `depth` steps are in flight,
 * so the GPU never waits for the host. A token's time is when its id reached the host.
 */
import { layoutBatch } from '../engine/batch-layout.js';
import type { GenerateOptions, GenerateResult } from '../engine/generate.js';
import { totalBytes, type ByteBreakdown } from '../methods/types.js';
import type { DeviceBytesByCategory } from './gpu-context.js';
import type { EngineSession } from './session.js';
import { fp16StoreFactory, type StoreFactory, type WebGpuEngine } from './engine.js';
import { CHECK_EVERY as MAINTAIN_EVERY } from './minicache-store.js';

export interface EngineGenerateOptions extends Omit<GenerateOptions, 'createMethod'> {
  store?: StoreFactory;
  /** Steps in flight before the host reads the oldest (default 3; 1 = no overlap). */
  depth?: number;
  /** Called after the last step with the session and its final slot count, before it is disposed (benchmarks time its store here). */
  inspect?: (session: EngineSession, tokens: number) => Promise<void>;
}

export interface EngineGenerateResult extends GenerateResult {
  /** Bytes the engine allocated on the device at the peak of this generation, by category. */
  deviceBytesByCategory: DeviceBytesByCategory;
  /** The store's bytes by component at the end, and what it allocated beyond them. */
  bytesHeld: ByteBreakdown;
  kvHeadroomBytes: number;
  /** Steps run on the device beyond the last one used (a stop seen only after later steps were queued). */
  speculativeSteps: number;
  /**
   * Host time over the decode loop, ms in all: the store's upkeep between steps (maintain),
   * encoding and submitting steps, and waiting for each step's ids. Where decode is slower than
   * its device work, these say whether the host is why.
   */
  hostMs: { maintain: number; submit: number; wait: number };
}

function logSoftmaxAt(logits: Float32Array, off: number, n: number, i: number): number {
  let max = -Infinity;
  for (let k = 0; k < n; k++) max = Math.max(max, logits[off + k]!);
  let s = 0;
  for (let k = 0; k < n; k++) s += Math.exp(logits[off + k]! - max);
  return logits[off + i]! - max - Math.log(s);
}

export async function generateOnEngine(engine: WebGpuEngine, prompts: number[][], opts: EngineGenerateOptions): Promise<EngineGenerateResult> {
  const now = opts.now ?? (() => performance.now());
  const m = engine.model;
  const layout = layoutBatch(m, prompts, opts);
  const { batch: B, lens, promptSlots: P, budget, maxNew, stop, pad } = layout;
  const V = m.vocabSize;
  const forcing = opts.teacherForce;
  const depth = Math.max(1, opts.depth ?? 3);
  engine.ctx.resetPeak();
  const session = engine.session(
    {
      batch: B,
      promptSlots: P,
      capacity: P + maxNew,
      sampling: opts.sampling ?? { kind: 'greedy' },
      seed: opts.seed ?? 0,
      stop: [...stop],
      pad,
      budgets: budget,
      readLogits: Boolean(forcing),
      ring: depth + 1,
    },
    opts.store ?? fp16StoreFactory,
  );
  try {
    const ids = new Uint32Array(B * P);
    for (let i = 0; i < B * P; i++) ids[i] = Number(layout.prefillIds[i]!);
    const starts = Uint32Array.from(lens, (l) => P - l);

    const tokens: number[][] = prompts.map(() => []);
    const times: number[][] = prompts.map(() => []);
    const done = new Array<boolean>(B).fill(false);
    const nll = forcing ? prompts.map(() => ({ sum: 0, count: 0 })) : undefined;
    // the host's copy of choose(): the device applies the same rules to pick next inputs
    const choose = (chosen: Uint32Array, logits: Float32Array | undefined, step: number, t: number) => {
      for (let b = 0; b < B; b++) {
        if (done[b]) continue;
        const f = forcing?.[b]?.[step];
        let tok: number;
        if (f !== undefined) {
          tok = f;
          nll![b]!.sum -= logSoftmaxAt(logits!, b * V, V, tok);
          nll![b]!.count++;
        } else tok = chosen[b]!;
        if (stop.has(tok)) done[b] = true;
        else {
          tokens[b]!.push(tok);
          times[b]!.push(t);
        }
        if (tokens[b]!.length >= budget[b]! || (forcing && step + 1 >= forcing[b]!.length)) done[b] = true;
      }
    };
    /** Inputs of decode step s under teacher forcing: the forced token of step s − 1, pad when done. */
    const forcedInputs = (s: number, doneNow: readonly boolean[]) =>
      Uint32Array.from({ length: B }, (_, b) => (doneNow[b] ? pad : (forcing![b]![s - 1] ?? pad)));

    const t0 = now();
    session.prefill(ids, starts);
    let first = await session.read(0);
    // a store whose prefill buffers proved too small grows them and asks for the prefill again
    for (let tries = 0; await session.afterPrefill(); tries++) {
      if (tries > 2) throw new Error('webgpu engine: the store asked for the prefill again three times');
      session.prefillAgain();
      first = await session.read(0);
    }
    const tPre = now();
    choose(first.ids, first.logits, 0, tPre - t0);

    const totalSteps = maxNew - 1;
    const stepMs: number[] = [];
    let used = 0;
    let submitted = 0;
    let maintained = 0;
    const hostMs = { maintain: 0, submit: 0, wait: 0 };
    let last = tPre;
    // Teacher forcing needs done flags before each input: no overlap there (perplexity, small batches).
    const ahead = forcing ? 1 : depth;
    // a sequence's done flag as the device will see it at each submitted step (forcing only)
    while (used < totalSteps && done.some((d) => !d)) {
      if (opts.signal?.aborted) throw new Error('aborted');
      while (submitted < totalSteps && submitted - used < ahead) {
        // the store's upkeep (MiniCache's list sizes) every CHECK_EVERY submitted steps
        if (submitted > 0 && submitted % MAINTAIN_EVERY === 0 && maintained < submitted) {
          maintained = submitted;
          const t = now();
          await session.maintain();
          hostMs.maintain += now() - t;
        }
        submitted++;
        const t = now();
        session.step(forcing ? forcedInputs(submitted, done) : undefined);
        hostMs.submit += now() - t;
      }
      const s = used + 1;
      const tw = now();
      const r = await session.read(s);
      const t = now();
      hostMs.wait += t - tw;
      used = s;
      stepMs.push(t - last);
      last = t;
      choose(r.ids, r.logits, s, t - t0);
      opts.onStep?.(s, totalSteps);
    }
    // read back what was queued beyond the last used step, so the ring is free
    for (let s = used + 1; s <= submitted; s++) await session.read(s);
    const seqLen = P + used;
    await session.store.refresh?.();
    if (opts.inspect) await opts.inspect(session, seqLen);
    const bytes = session.store.bytes(seqLen);
    const held = bytes.held;
    return {
      tokens,
      tokenTimesMs: times,
      prefillMs: tPre - t0,
      stepMs,
      // fused on the device: model and cache work are one command buffer
      modelMs: stepMs,
      cacheMs: [0],
      promptTokens: lens,
      seqLen,
      bytes: held,
      bytesHeld: held,
      kvHeadroomBytes: bytes.headroom,
      peakKvBytes: totalBytes(held),
      kvBytesBaseline: 2 * m.layers * B * m.kvHeads * seqLen * m.headDim * 2,
      diagnostics: session.store.diagnostics(),
      ...(nll ? { nll } : {}),
      deviceBytesByCategory: engine.ctx.peakByCategory(),
      speculativeSteps: submitted - used,
      hostMs,
    };
  } finally {
    session.dispose();
  }
}
