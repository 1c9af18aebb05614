/**
 * Dummy weights (a WeightSource with `dummy`) made on the device by the fill kernel, in the same
 * buffers and layout uploadWeights makes (model.ts): nothing crosses from the host but 32 bytes of
 * parameters per tensor, so a LLaMA-2-7B-shaped model (13.5 GB) is ready in the time the device
 * takes to write it. The values are iid, so a fused buffer (wqkv, w13) is filled in one go; padded
 * FFN rows and columns stay zero, as uploadWeights leaves them.
 */
import type { EngineBuffer, GpuContext } from './gpu-context.js';
import { encodeFill } from './kernels/fill.js';
import { paddedHidden, type DeviceWeights, type EngineModelConfig, type LayerWeights, type WeightSource } from './model.js';

export async function uploadFilledWeights(ctx: GpuContext, cfg: EngineModelConfig, src: WeightSource, onTensor?: (done: number, total: number) => void): Promise<DeviceWeights> {
  const d = src.dummy;
  if (!d) throw new Error('uploadFilledWeights: the weight source has no dummy settings');
  const { dim, hiddenDim: hid, layers: L, vocabSize: V, kvHeads, headDim } = cfg;
  const kvDim = kvHeads * headDim;
  const hidP = paddedHidden(cfg);
  if (dim % 8 !== 0) throw new Error(`webgpu engine: model width ${dim} must be a multiple of 8`);
  if (headDim % 8 !== 0) throw new Error(`webgpu engine: head dim ${headDim} must be a multiple of 8`);
  if (cfg.heads * headDim !== dim) throw new Error(`webgpu engine: ${cfg.heads} heads × head dim ${headDim} ≠ dim ${dim}`);
  const params: EngineBuffer[] = [];
  let done = 0;
  const total = 2 * (V * dim * (cfg.tiedClassifier ? 1 : 2) + L * (dim * (dim + 2 * kvDim) + dim * dim + 2 * hidP * dim + dim * hidP)) + 4 * (2 * L + 1) * dim;
  let stream = 0;
  let bytes = 0; // this model's own buffers (the context may hold another model's too)
  const matrix = (label: string, rows: number, cols: number, valid?: { rowLen: number; valid: number; count?: number }): EngineBuffer => {
    const b = ctx.alloc('weights', 2 * rows * cols, label);
    params.push(encodeFill(ctx, b, valid?.count ?? rows * cols, { kind: 'normal', std: d.std, seed: d.seed, stream: ++stream, ...(valid ? { rowLen: valid.rowLen, valid: valid.valid } : {}) }));
    done += b.size;
    bytes += b.size;
    onTensor?.(done, total);
    return b;
  };
  const norm = (label: string): EngineBuffer => {
    const b = ctx.alloc('weights', 4 * dim, label);
    params.push(encodeFill(ctx, b, dim, { kind: 'constant', value: d.norm }));
    done += b.size;
    bytes += b.size;
    onTensor?.(done, total);
    return b;
  };
  try {
    const embed = matrix('embed', V, dim);
    const layers: LayerWeights[] = [];
    for (let l = 0; l < L; l++) {
      layers.push({
        attnNorm: norm(`l${l}.attnNorm`),
        wqkv: matrix(`l${l}.wqkv`, dim + 2 * kvDim, dim),
        wo: matrix(`l${l}.wo`, dim, dim),
        ffnNorm: norm(`l${l}.ffnNorm`),
        // rows 2j, 2j + 1 (gate, up) for j < hidden; the padding rows after them stay zero
        w13: matrix(`l${l}.w13`, 2 * hidP, dim, { rowLen: 2 * hidP * dim, valid: 2 * hid * dim }),
        // [dim, hidP]: columns from hidden on are padding
        w2: matrix(`l${l}.w2`, dim, hidP, { rowLen: hidP, valid: hid }),
      });
    }
    const fin = norm('norm');
    const cls = cfg.tiedClassifier ? embed : matrix('cls', V, dim);
    await ctx.finish();
    await src.close?.();
    const count = V * dim * (cfg.tiedClassifier ? 1 : 2) + L * (2 * dim + dim * (dim + 2 * kvDim) + dim * dim + 3 * hid * dim) + dim;
    return { embed, layers, norm: fin, cls, params: count, bytes };
  } finally {
    await ctx.finish();
    for (const p of params) p.destroy();
  }
}
