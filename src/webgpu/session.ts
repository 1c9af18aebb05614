/**
 * One cell's decoding state on the device: every buffer sized once for the cell's batch and
 * capacity, bind groups made once, and per step one command buffer with every layer in it.
 *
 * prefill(): embed → per layer [RMSNorm, QKV, RoPE (+ cache write), causal attention, Wo (+x),
 *   RMSNorm, W13 with SwiGLU, W2 (+x)] → final norm of each sequence's last slot → classifier →
 *   sample. Long prompts run in sub-batches of sequences so the activations stay bounded.
 * step(): the same for one token per sequence, attention reading the store's past directly.
 * The sampled ids go into the next step's input on the device and into a read-back ring; the
 * host reads them (and logits, when asked) without stalling the queue: a step can be submitted
 * before the previous one's ids are read.
 */
import type { SamplingSpec } from '../engine/sampler.js';
import { dispatchGroups, type EngineBuffer, type GpuContext } from './gpu-context.js';
import { decodePartialBytes } from './kernels/attention.js';
import { MatmulOp, sharedPartialBytes } from './kernels/matmul.js';
import { encodeRows, rmsnormWgsl } from './kernels/norm-embed.js';
import { ropeTable } from './kernels/rope.js';
import { buildLayerStack, stackShapes, type LayerStack, type StackBuffers } from './layer-stack.js';
import { sampleWgsl } from './kernels/sample.js';
import type { EngineKvStore } from './kv-store.js';
import { paddedHidden, type DeviceWeights, type EngineModelConfig } from './model.js';

export interface SessionOptions {
  batch: number;
  /** Padded prompt length (slots 0..promptSlots-1 hold the left-padded prompts). */
  promptSlots: number;
  /** Slots per sequence: promptSlots + new tokens. */
  capacity: number;
  sampling: SamplingSpec;
  seed: number;
  /** Ids that end a sequence (EOS unless ignored, and extra stop tokens). */
  stop: readonly number[];
  pad: number;
  /** New tokens per sequence. */
  budgets: readonly number[];
  /** Copy every step's logits to the host (teacher forcing, log-probs). */
  readLogits?: boolean;
  /** Steps that may be in flight before the host reads their ids (default 4). */
  ring?: number;
  /** Bound on the activation buffers of a prefill sub-batch, bytes (default PREFILL_SCRATCH_BYTES). */
  prefillScratchBytes?: number;
}

interface Pending {
  ids: Promise<Uint32Array>;
  logits?: Promise<Float32Array>;
}

const PRM_BYTES = 16;

/** Default bound on a prefill sub-batch's activations: they are part of the engine's peak memory. */
export const PREFILL_SCRATCH_BYTES = 32 * 2 ** 20;

/** Sequences per prefill sub-batch: as many as fit `budget` bytes of activations (at least one). */
export function prefillSubBatch(ctx: { limits: GPUSupportedLimits }, cfg: EngineModelConfig, B: number, P: number, budget = PREFILL_SCRATCH_BYTES): number {
  const { dim, heads: H, kvHeads: KV, headDim: D } = cfg;
  const hid = paddedHidden(cfg);
  const R = (H + 2 * KV) * D;
  const perRow = 4 * (2 * dim + R + dim + hid);
  const maxBind = Math.min(ctx.limits.maxStorageBufferBindingSize, ctx.limits.maxBufferSize);
  const widest = 4 * Math.max(R, hid, dim);
  if (widest * P > maxBind) throw new Error(`webgpu engine: a ${P}-token prompt needs ${widest * P} bytes of activations per sequence, more than one buffer binds (${maxBind})`);
  return Math.max(1, Math.min(B, Math.floor(Math.min(budget, maxBind) / (perRow * P)), Math.floor(maxBind / (widest * P))));
}

export class EngineSession {
  readonly B: number;
  readonly P: number;
  readonly cap: number;
  /** Sequences per prefill sub-batch. */
  readonly subBatch: number;
  private readonly bufs: EngineBuffer[] = [];
  private readonly ring: number;
  private prefillPasses: ((pass: GPUComputePassEncoder) => void)[] = [];
  private readonly buildPrefill: () => ((pass: GPUComputePassEncoder) => void)[];
  private readonly sampleState: EngineBuffer;
  private decodePass: (pass: GPUComputePassEncoder) => void;
  private readonly buildDecode: () => (pass: GPUComputePassEncoder) => void;
  private storeVersion = 0;
  private decodeStack?: LayerStack;
  private readonly tail: (pass: GPUComputePassEncoder) => void;
  private readonly prefillIds: EngineBuffer[] = [];
  private readonly ids: EngineBuffer;
  private readonly starts: EngineBuffer;
  private readonly prm: EngineBuffer;
  private readonly out: EngineBuffer;
  private readonly logits: EngineBuffer;
  private readonly stagingIds: EngineBuffer[] = [];
  private readonly stagingLogits: EngineBuffer[] = [];
  private readonly pending = new Map<number, Pending>();
  private stepIndex = -1;
  private disposed = false;

  constructor(
    private readonly ctx: GpuContext,
    private readonly cfg: EngineModelConfig,
    private readonly w: DeviceWeights,
    readonly store: EngineKvStore,
    private readonly opts: SessionOptions,
  ) {
    const { batch: B, promptSlots: P, capacity: cap } = opts;
    const { dim, heads: H, kvHeads: KV, headDim: D, vocabSize: V } = cfg;
    const hid = paddedHidden(cfg);
    this.B = B;
    this.P = P;
    this.cap = cap;
    this.ring = opts.ring ?? 4;
    if (store.geometry.capacity < cap || store.geometry.batch !== B) throw new Error('webgpu engine: the store is smaller than the session');
    const R = (H + 2 * KV) * D;
    this.subBatch = store.geometry.prefillBatch;
    const rows = Math.max(this.subBatch * P, B);
    const scratch = (size: number, label: string) => {
      const b = ctx.alloc('scratch', size, label);
      this.bufs.push(b);
      return b;
    };
    const x = scratch(rows * dim * 4, 'x');
    const h = scratch(rows * dim * 4, 'h');
    const qkv = scratch(rows * R * 4, 'qkv');
    const att = scratch(rows * dim * 4, 'att');
    const act = scratch(rows * hid * 4, 'act');
    const last = scratch(B * dim * 4, 'last');
    this.logits = scratch(B * V * 4, 'logits');
    this.ids = scratch(B * 4, 'ids');
    this.starts = scratch(B * 4, 'starts');
    this.prm = scratch(PRM_BYTES, 'prm');
    this.out = scratch(this.ring * B * 4, 'out ring');
    const budgets = scratch(B * 4, 'budgets');
    const state = scratch(B * 8, 'sample state');
    ctx.write(budgets, Uint32Array.from(opts.budgets));
    const cosSin = scratch(cap * D * 4, 'rope table');
    ctx.write(cosSin, ropeTableFor(cfg, cap));
    for (let r = 0; r < this.ring; r++) {
      const s = ctx.staging(B * 4, `ids staging ${r}`);
      this.bufs.push(s);
      this.stagingIds.push(s);
      if (opts.readLogits) {
        const sl = ctx.staging(B * V * 4, `logits staging ${r}`);
        this.bufs.push(sl);
        this.stagingLogits.push(sl);
      }
    }

    const eps = cfg.rmsEps;
    const partial = scratch(decodePartialBytes({ heads: H, kvHeads: KV, headDim: D, batch: B, cap }), 'attention partials');
    // one split-K buffer for every matmul of the session: decode, each prefill sub-batch, the classifier
    const subSizes = new Set([this.subBatch, B % this.subBatch].filter((n) => n > 0));
    const clsShape = { M: B, N: V, K: dim, epilogue: 'store' } as const;
    const splitBytes = sharedPartialBytes(ctx, [...stackShapes(cfg, B), ...[...subSizes].flatMap((nb) => stackShapes(cfg, nb * P)), clsShape]);
    const splitK = splitBytes > 0 ? scratch(splitBytes, 'split-K partials') : undefined;
    const bufs: StackBuffers = { x, h, qkv, att, act, cosSin, starts: this.starts, partial, ...(splitK ? { splitK } : {}) };
    store.bind?.({ qkv: qkv.buffer, starts: this.starts.buffer, decodePrm: this.prm.buffer, heads: H });
    const layerOps = (M: number, T: number, prm: EngineBuffer, idsBuf: EngineBuffer, decode: boolean, b0 = 0) =>
      buildLayerStack(ctx, cfg, w, bufs, {
        M,
        T,
        batch: decode ? B : M / T,
        prm,
        ids: idsBuf,
        // RoPE hands each token's K/V to the store: into its fp16 target at prefill, and at decode
        // too for a store that writes there (fp16); others take the new token from QKV (appendOps).
        cap: decode ? (store.decodeTarget(0)?.cap ?? 0) : store.prefillTarget(0).cap,
        attentionCap: cap,
        ropeWrite: decode ? store.decodeWrite : 'fp16',
        ropeOut: (l) => {
          const t = decode ? store.decodeTarget(l) : store.prefillTarget(l);
          return t ? [t.k, t.v] : [];
        },
        ...(decode ? { reader: (l: number) => store.reader(l) } : {}),
        storeOps: (l) => (decode ? store.appendOps?.(l) : store.prefillOps?.(l, { b0, count: M / T, prm: prm.buffer })),
        ...(decode && store.layerVersion ? { layerVersion: (l: number) => store.layerVersion!(l) } : {}),
      });

    // prefill, one sub-batch at a time: the final norm writes each sequence's last slot into `last`
    const subs: { b0: number; nb: number; prm: EngineBuffer; ids: EngineBuffer }[] = [];
    for (let b0 = 0; b0 < B; b0 += this.subBatch) {
      const nb = Math.min(this.subBatch, B - b0);
      const prm = scratch(PRM_BYTES, `prm prefill ${b0}`);
      ctx.write(prm, Uint32Array.of(0, b0, 0, 0));
      const idsBuf = scratch(nb * P * 4, `prefill ids ${b0}`);
      this.prefillIds.push(idsBuf);
      subs.push({ b0, nb, prm, ids: idsBuf });
    }
    this.buildPrefill = () =>
      subs.map(({ b0, nb, prm, ids: idsBuf }) => {
        const body = layerOps(nb * P, P, prm, idsBuf, false, b0);
        const lastP = ctx.pipeline(rmsnormWgsl({ rows: nb, dim, eps, inStride: P, inOffset: P - 1, outOffset: b0 }), 'rmsnorm last');
        const lastG = ctx.bindGroup(lastP, [x, w.norm, last]);
        return (pass: GPUComputePassEncoder) => {
          body(pass);
          encodeRows(pass, lastP, lastG, nb);
        };
      });
    this.prefillPasses = this.buildPrefill();
    this.sampleState = state;
    const finalP = ctx.pipeline(rmsnormWgsl({ rows: B, dim, eps }), 'rmsnorm final');
    const finalG = ctx.bindGroup(finalP, [x, w.norm, last]);
    this.buildDecode = () => {
      const decodeBody = layerOps(B, 1, this.prm, this.ids, true);
      this.decodeStack = decodeBody;
      this.storeVersion = store.version ?? 0;
      return (pass) => {
        decodeBody(pass);
        encodeRows(pass, finalP, finalG, B);
      };
    };
    this.decodePass = this.buildDecode();
    const cls = new MatmulOp(ctx, clsShape, last.buffer, w.cls.buffer, this.logits.buffer, 'classifier', undefined, splitK?.buffer);
    const s = opts.sampling;
    const sampP = ctx.pipeline(
      sampleWgsl({
        batch: B,
        vocab: V,
        temperature: s.kind === 'greedy' ? 0 : s.temperature,
        topK: s.kind === 'greedy' ? 0 : (s.topK ?? 0),
        topP: s.kind === 'greedy' ? 1 : (s.topP ?? 1),
        seed: opts.seed,
        ring: this.ring,
        stop: opts.stop,
        pad: opts.pad,
      }),
      'sample',
    );
    const sampG = ctx.bindGroup(sampP, [this.logits, this.ids, this.out, this.prm, budgets, state]);
    this.tail = (pass) => {
      cls.encode(pass);
      pass.setPipeline(sampP);
      pass.setBindGroup(0, sampG);
      dispatchGroups(pass, B);
    };
  }

  /** Submits the prefill of the left-padded prompts (ids [B, P]) and the first token's choice. */
  prefill(ids: Uint32Array, starts: Uint32Array): void {
    if (this.stepIndex !== -1) throw new Error('webgpu engine: prefill runs once per session');
    const { B, P } = this;
    if (ids.length !== B * P || starts.length !== B) throw new Error('webgpu engine: prefill ids must be [batch, promptSlots]');
    this.ctx.write(this.starts, starts);
    for (let i = 0, b0 = 0; b0 < B; b0 += this.subBatch, i++) {
      const nb = Math.min(this.subBatch, B - b0);
      this.ctx.write(this.prefillIds[i]!, ids.subarray(b0 * P, (b0 + nb) * P));
    }
    this.ctx.write(this.prm, Uint32Array.of(P, 0, 0, 0));
    this.stepIndex = 0;
    this.submit(0, (pass) => {
      for (const p of this.prefillPasses) p(pass);
    });
  }

  /**
   * Submits decode step `step` (1, 2, …): the token chosen at the previous step (or `forced`
   * ids, teacher forcing) at slot P + step − 1.
   */
  step(forced?: Uint32Array): number {
    const step = this.stepIndex + 1;
    if (step < 1) throw new Error('webgpu engine: step before prefill');
    const slot = this.P + step - 1;
    if (slot >= this.cap) throw new Error(`webgpu engine: step ${step} exceeds the session's capacity of ${this.cap} slots`);
    if (this.pending.size >= this.ring) throw new Error('webgpu engine: read the ids of earlier steps before submitting more (ring full)');
    if (forced) this.ctx.write(this.ids, forced);
    this.ctx.write(this.prm, Uint32Array.of(slot, 0, step, forced ? 1 : 0));
    this.stepIndex = step;
    this.submit(step, this.decodePass);
    return step;
  }

  /**
   * Encodes one decode step's device work (every layer, the classifier, sampling) into `pass` as
   * step() does, without submitting or reading back, so benches can time the device's share of a
   * step apart from the host's. It writes the slot step() wrote last again.
   */
  encodeStep(pass: GPUComputePassEncoder): void {
    this.decodePass(pass);
    this.tail(pass);
  }

  private submit(step: number, body: (pass: GPUComputePassEncoder) => void): void {
    const enc = this.ctx.device.createCommandEncoder();
    const pass = enc.beginComputePass();
    body(pass);
    this.tail(pass);
    pass.end();
    const r = step % this.ring;
    const sIds = this.stagingIds[r]!;
    enc.copyBufferToBuffer(this.out.buffer, r * this.B * 4, sIds.buffer, 0, this.B * 4);
    const sLog = this.opts.readLogits ? this.stagingLogits[r]! : undefined;
    if (sLog) enc.copyBufferToBuffer(this.logits.buffer, 0, sLog.buffer, 0, this.B * this.cfg.vocabSize * 4);
    this.ctx.device.queue.submit([enc.finish()]);
    const B = this.B;
    const ids = sIds.buffer.mapAsync(1).then(() => {
      const a = new Uint32Array(sIds.buffer.getMappedRange(0, B * 4).slice(0));
      sIds.buffer.unmap();
      return a;
    });
    const V = this.cfg.vocabSize;
    const logits = sLog
      ? sLog.buffer.mapAsync(1).then(() => {
          const a = new Float32Array(sLog.buffer.getMappedRange(0, B * V * 4).slice(0));
          sLog.buffer.unmap();
          return a;
        })
      : undefined;
    this.pending.set(step, { ids, ...(logits ? { logits } : {}) });
  }

  /** The ids chosen at `step` (0: from the prefill's logits); frees its ring slot. */
  async read(step: number): Promise<{ ids: Uint32Array; logits?: Float32Array }> {
    const p = this.pending.get(step);
    if (!p) throw new Error(`webgpu engine: step ${step} has no pending read-back`);
    const ids = await p.ids;
    const logits = p.logits ? await p.logits : undefined;
    this.pending.delete(step);
    // errors arrive as events before the read-back of the work they spoiled resolves
    this.ctx.throwIfDeviceError();
    return logits ? { ids, logits } : { ids };
  }

  /**
   * The store's work once the prefill is done (await after reading step 0). True when the store
   * needs the prefill run again (its buffers were too small for what the prompt produced; they
   * are larger now): call prefillAgain() and read step 0 again.
   */
  async afterPrefill(): Promise<boolean> {
    const again = (await this.store.afterPrefill?.()) === 'again';
    if (again) this.prefillPasses = this.buildPrefill();
    this.refreshPasses();
    return again;
  }

  /** Runs the prefill again on the same prompts, from a clean sampler state. */
  prefillAgain(): void {
    if (this.stepIndex !== 0) throw new Error('webgpu engine: prefillAgain right after the prefill only');
    this.ctx.write(this.sampleState, new Uint32Array(this.B * 2));
    this.ctx.write(this.prm, Uint32Array.of(this.P, 0, 0, 0));
    this.submit(0, (pass) => {
      for (const p of this.prefillPasses) p(pass);
    });
  }

  /** The store's upkeep between steps (call every few steps; waits for the submitted work). */
  async maintain(): Promise<void> {
    await this.store.maintain?.();
    const t = performance.now();
    this.refreshPasses();
    this.rebuildMs += performance.now() - t;
  }

  /** Host ms spent rebuilding decode passes after the store moved buffers (benches print it). */
  rebuildMs = 0;

  /** Layers whose decode attention and append were rebuilt after the store reallocated their buffers (benches print it). */
  layersRebuilt = 0;
  /** Times the whole decode pass was rebuilt instead (a store that does not say which layers moved). */
  wholeRebuilds = 0;

  private refreshPasses(): void {
    const v = this.store.version ?? 0;
    if (v === this.storeVersion) return;
    if (this.store.layerVersion && this.decodeStack) {
      // only the layers whose buffers moved (a MiniCache pair's two)
      this.layersRebuilt += this.decodeStack.refresh();
      this.storeVersion = v;
    } else {
      this.decodePass = this.buildDecode();
      this.wholeRebuilds++;
    }
  }

  get inFlight(): number {
    return this.pending.size;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    // steps queued ahead of an interrupted run: destroying their staging rejects the reads nobody awaits
    for (const p of this.pending.values()) {
      p.ids.catch(() => undefined);
      p.logits?.catch(() => undefined);
    }
    this.pending.clear();
    for (const b of this.bufs) b.destroy();
    this.store.dispose();
  }
}

function ropeTableFor(cfg: EngineModelConfig, cap: number): Float32Array {
  return ropeTable(cap, cfg.headDim, cfg.invFreq);
}
