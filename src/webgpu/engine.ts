/**
 * The WebGPU engine: a LLaMA-architecture decoder whose weights, KV cache and per-step work all
 * stay on one GPUDevice. Host-agnostic: the runner hands it a GpuContext made from the `webgpu`
 * package (Node, Dawn) or navigator.gpu (a page), and a WeightSource.
 */
import type { ModelInfo } from '../engine/backend.js';
import { decodeHalf } from '../kernels/half.js';
import type { DeviceBytesByCategory, GpuContext } from './gpu-context.js';
import { Fp16Store, type EngineKvStore, type StoreGeometry } from './kv-store.js';
import { uploadFilledWeights } from './fill-weights.js';
import { uploadWeights, type DeviceWeights, type EngineModelConfig, type WeightSource } from './model.js';
import { EngineSession, prefillSubBatch, type SessionOptions } from './session.js';

/** Creates a method's store on the device for a session's geometry. */
export type StoreFactory = (ctx: GpuContext, geometry: StoreGeometry) => EngineKvStore;

export const fp16StoreFactory: StoreFactory = (ctx, g) => new Fp16Store(ctx, g);

function halfToFloat(h: Uint16Array): Float32Array {
  const out = new Float32Array(h.length);
  decodeHalf(h, out);
  return out;
}

export class WebGpuEngine {
  private constructor(
    readonly ctx: GpuContext,
    readonly config: EngineModelConfig,
    readonly weights: DeviceWeights,
  ) {}

  static async load(ctx: GpuContext, config: EngineModelConfig, src: WeightSource, onProgress?: (done: number, total: number) => void): Promise<WebGpuEngine> {
    // dummy weights are made on the device; a checkpoint streams from the host tensor by tensor
    const w = src.dummy ? await uploadFilledWeights(ctx, config, src, onProgress) : await uploadWeights(ctx, config, src, halfToFloat, onProgress);
    await ctx.finish();
    return new WebGpuEngine(ctx, config, w);
  }

  /** The engine as the harness's ModelInfo. */
  get model(): ModelInfo {
    const c = this.config;
    return {
      name: c.name,
      layers: c.layers,
      heads: c.heads,
      kvHeads: c.kvHeads,
      headDim: c.headDim,
      vocabSize: c.vocabSize,
      maxContext: c.maxContext,
      bos: c.bos,
      eos: c.eos,
      weightBytes: this.weights.bytes,
      ...(c.weights === 'dummy' ? { weights: 'dummy' as const } : {}),
    };
  }

  /** A session (all its buffers allocated now) with a store made by `store` for its geometry. */
  session(opts: SessionOptions, store: StoreFactory = fp16StoreFactory): EngineSession {
    const c = this.config;
    const prefillBatch = prefillSubBatch(this.ctx, c, opts.batch, opts.promptSlots, opts.prefillScratchBytes);
    const st = store(this.ctx, { layers: c.layers, batch: opts.batch, kvHeads: c.kvHeads, headDim: c.headDim, capacity: opts.capacity, promptSlots: opts.promptSlots, prefillBatch });
    try {
      return new EngineSession(this.ctx, c, this.weights, st, opts);
    } catch (e) {
      st.dispose();
      throw e;
    }
  }

  deviceBytes(): DeviceBytesByCategory {
    return this.ctx.bytesByCategory();
  }

  dispose(): void {
    this.ctx.destroyAll();
  }
}
