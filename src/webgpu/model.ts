/**
 * A LLaMA-architecture decoder's weights on the device, in the layout the kernels read:
 *   embed [V, dim] fp16; per layer attnNorm [dim] f32, wqkv [dim + 2·kvDim, dim] fp16 (q, k, v rows),
 *   wo [dim, dim], ffnNorm [dim] f32, w13 [2·hidden, dim] fp16 with gate and up rows interleaved
 *   (row 2j = w1's row j, row 2j + 1 = w3's), w2 [dim, hidden]; norm [dim] f32; cls [V, dim]
 *   (hidden padded to a multiple of 8 with zeros: paddedHidden)
 *   fp16 unless tied to embed.
 * Weights arrive tensor by tensor from a WeightSource and go to the device one at a time, so a
 * model is never whole in host memory twice.
 */
import { encodeHalf } from '../kernels/half.js';
import type { EngineBuffer, GpuContext } from './gpu-context.js';
import type { RopeLayout } from './kernels/rope.js';

export interface EngineModelConfig {
  name: string;
  dim: number;
  hiddenDim: number;
  layers: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  vocabSize: number;
  maxContext: number;
  rmsEps: number;
  ropeLayout: RopeLayout;
  /** RoPE frequencies per channel pair (D/2): 1/θ^(2i/D), or a scaled set (Llama-3). */
  invFreq: number[];
  tiedClassifier: boolean;
  bos: number;
  eos: number[];
  /**
   * Mistral's sliding-window span (config.json sliding_window). The engine attends over the whole
   * context, which equals windowed attention only while prompt + output fit the window: longer
   * cells are refused (src/runs/generation.ts).
   */
  slidingWindow?: number;
  /** 'dummy': seeded values instead of a checkpoint (throughput and memory only; reports mark it). */
  weights?: 'checkpoint' | 'dummy';
}

/** Raw tensor names as checkpoints hold them ([out, in] matrices). */
export type LayerTensor = 'attnNorm' | 'wq' | 'wk' | 'wv' | 'wo' | 'ffnNorm' | 'w1' | 'w2' | 'w3';
export type GlobalTensor = 'embed' | 'norm' | 'cls';

/**
 * Where weights come from: a llama2.c file, Hugging Face safetensors, or seeded dummy values.
 * Each call returns one tensor (float32 values or fp16 bits) that may be dropped after upload.
 */
export interface WeightSource {
  global(name: GlobalTensor): Promise<Float32Array | Uint16Array | null>;
  layer(name: LayerTensor, layer: number): Promise<Float32Array | Uint16Array>;
  /** Called once the engine holds everything (streaming sources close files here). */
  close?(): Promise<void>;
  /**
   * Optional: the values are made on the device instead (seeded dummy weights, fill-weights.ts):
   * matrices N(0, std²) from a counter-based hash of (seed, tensor, index), norm weights `norm`.
   * global() and layer() are then not called.
   */
  dummy?: { seed: number; std: number; norm: number };
}

export interface LayerWeights {
  attnNorm: EngineBuffer;
  wqkv: EngineBuffer;
  wo: EngineBuffer;
  ffnNorm: EngineBuffer;
  w13: EngineBuffer;
  w2: EngineBuffer;
}

export interface DeviceWeights {
  embed: EngineBuffer;
  layers: LayerWeights[];
  norm: EngineBuffer;
  /** The classifier; the embedding buffer when tied. */
  cls: EngineBuffer;
  /** Parameter count (classifier counted once when tied). */
  params: number;
  /** Bytes the weights occupy on the device. */
  bytes: number;
}

/**
 * The feed-forward width the kernels use: the model's, rounded up to a multiple of 8 (a matmul's K
 * is read in 16-byte groups). Padding rows of W1/W3 and columns of W2 are zero, so they add nothing.
 */
export function paddedHidden(cfg: { hiddenDim: number }): number {
  return Math.ceil(cfg.hiddenDim / 8) * 8;
}

function toHalf(x: Float32Array | Uint16Array): Uint16Array {
  if (x instanceof Uint16Array) return x;
  const out = new Uint16Array(x.length);
  encodeHalf(x, out);
  return out;
}

function toF32(x: Float32Array | Uint16Array, halfToFloat: (h: Uint16Array) => Float32Array): Float32Array {
  return x instanceof Float32Array ? x : halfToFloat(x);
}

function check(name: string, got: number, want: number): void {
  if (got !== want) throw new Error(`webgpu engine: weight ${name} has ${got} values, the model's shape needs ${want}`);
}

/** Uploads a model's weights, tensor by tensor; `onTensor` reports progress (bytes done, total). */
export async function uploadWeights(
  ctx: GpuContext,
  cfg: EngineModelConfig,
  src: WeightSource,
  halfToFloat: (h: Uint16Array) => Float32Array,
  onTensor?: (done: number, total: number) => void,
): Promise<DeviceWeights> {
  const { dim, hiddenDim: hid, layers: L, vocabSize: V, kvHeads, headDim } = cfg;
  const kvDim = kvHeads * headDim;
  const hidP = paddedHidden(cfg);
  if (dim % 8 !== 0) throw new Error(`webgpu engine: model width ${dim} must be a multiple of 8`);
  if (headDim % 8 !== 0) throw new Error(`webgpu engine: head dim ${headDim} must be a multiple of 8`);
  if (cfg.heads * headDim !== dim) throw new Error(`webgpu engine: ${cfg.heads} heads × head dim ${headDim} ≠ dim ${dim}`);
  const total = 2 * (V * dim * (cfg.tiedClassifier ? 1 : 2) + L * (dim * (dim + 2 * kvDim) + dim * dim + 3 * hid * dim)) + 4 * (2 * L + 1) * dim;
  let done = 0;
  const progress = (b: number) => {
    done += b;
    onTensor?.(done, total);
  };
  const half = (cat: string, data: Uint16Array): EngineBuffer => {
    const b = ctx.alloc('weights', data.byteLength, cat);
    ctx.write(b, data);
    progress(data.byteLength);
    return b;
  };
  const f32 = (cat: string, data: Float32Array): EngineBuffer => {
    const b = ctx.alloc('weights', data.byteLength, cat);
    ctx.write(b, data);
    progress(data.byteLength);
    return b;
  };

  const embedRaw = await src.global('embed');
  if (!embedRaw) throw new Error('webgpu engine: the weight source has no token embedding');
  check('embed', embedRaw.length, V * dim);
  const embed = half('embed', toHalf(embedRaw));
  const layers: LayerWeights[] = [];
  for (let l = 0; l < L; l++) {
    const get = async (n: LayerTensor, want: number) => {
      const t = await src.layer(n, l);
      check(`layers.${l}.${n}`, t.length, want);
      return t;
    };
    const attnNorm = f32(`l${l}.attnNorm`, toF32(await get('attnNorm', dim), halfToFloat));
    // q, k, v rows into one buffer: three writes, no host-side concatenation
    const wqkv = ctx.alloc('weights', 2 * dim * (dim + 2 * kvDim), `l${l}.wqkv`);
    let off = 0;
    for (const [n, rows] of [['wq', dim], ['wk', kvDim], ['wv', kvDim]] as const) {
      const t = toHalf(await get(n, rows * dim));
      ctx.write(wqkv, t, off);
      off += t.byteLength;
      progress(t.byteLength);
    }
    const wo = half(`l${l}.wo`, toHalf(await get('wo', dim * dim)));
    const ffnNorm = f32(`l${l}.ffnNorm`, toF32(await get('ffnNorm', dim), halfToFloat));
    const w1 = toHalf(await get('w1', hid * dim));
    const w3 = toHalf(await get('w3', hid * dim));
    const inter = new Uint16Array(2 * hidP * dim);
    for (let j = 0; j < hid; j++) {
      inter.set(w1.subarray(j * dim, (j + 1) * dim), 2 * j * dim);
      inter.set(w3.subarray(j * dim, (j + 1) * dim), (2 * j + 1) * dim);
    }
    const w13 = half(`l${l}.w13`, inter);
    const w2raw = toHalf(await get('w2', dim * hid));
    let w2h = w2raw;
    if (hidP !== hid) {
      w2h = new Uint16Array(dim * hidP);
      for (let r = 0; r < dim; r++) w2h.set(w2raw.subarray(r * hid, (r + 1) * hid), r * hidP);
    }
    const w2 = half(`l${l}.w2`, w2h);
    layers.push({ attnNorm, wqkv, wo, ffnNorm, w13, w2 });
  }
  const normRaw = await src.global('norm');
  if (!normRaw) throw new Error('webgpu engine: the weight source has no final norm');
  check('norm', normRaw.length, dim);
  const norm = f32('norm', toF32(normRaw, halfToFloat));
  let cls = embed;
  if (!cfg.tiedClassifier) {
    const c = await src.global('cls');
    if (!c) throw new Error('webgpu engine: the model has an untied classifier but the weight source has none');
    check('cls', c.length, V * dim);
    cls = half('cls', toHalf(c));
  }
  await src.close?.();
  const params = V * dim * (cfg.tiedClassifier ? 1 : 2) + L * (2 * dim + dim * (dim + 2 * kvDim) + dim * dim + 3 * hid * dim) + dim;
  // this model's buffers only (another model may share the context)
  const own = [embed, norm, ...layers.flatMap((l) => [l.attnNorm, l.wqkv, l.wo, l.ffnNorm, l.w13, l.w2]), ...(cls === embed ? [] : [cls])];
  const bytes = own.reduce((a, b) => a + b.size, 0);
  return { embed, layers, norm, cls, params, bytes };
}
