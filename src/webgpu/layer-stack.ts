/**
 * Encodes the decoder body for M rows (T tokens of M/T sequences): embedding, then per layer
 * RMSNorm → QKV → RoPE (handing the new K/V to the cache) → attention → Wo (+x) → RMSNorm →
 * W13 with SwiGLU → W2 (+x). Pipelines and bind groups are made here once; the returned function
 * only records dispatches. Prefill (no reader) attends causally over the pass's own K/V; decode
 * (T = 1, a reader) over the store's past plus the current token.
 */
import type { EngineBuffer, GpuContext } from './gpu-context.js';
import { DecodeAttention, defaultDecodeKernel, encodeGroups, prefillAttentionGroups, prefillAttentionWgsl, type PastReader } from './kernels/attention.js';
import { fusesNorm, fusesRope, MatmulOp, matmulKernelFor, sharedPartialBytes, type MatmulShape } from './kernels/matmul.js';
import { embedWgsl, encodeRows, rmsnormWgsl } from './kernels/norm-embed.js';
import { encodeRope, ropeWgsl, type RopeWrite } from './kernels/rope.js';
import { paddedHidden, type DeviceWeights, type EngineModelConfig } from './model.js';

export interface StackBuffers {
  /** Residual stream [M, dim]. */
  x: EngineBuffer;
  /** Normed input of a block [M, dim]. */
  h: EngineBuffer;
  qkv: EngineBuffer;
  att: EngineBuffer;
  /** SwiGLU output [M, hidden]. */
  act: EngineBuffer;
  cosSin: EngineBuffer;
  starts: EngineBuffer;
  /** Decode: split partials of the attention (decodePartialBytes at the attention's capacity). */
  partial?: EngineBuffer;
  /** Split-K partial sums shared by the stack's matmuls (sharedPartialBytes of stackShapes); needed where one runs 'splitk'. */
  splitK?: EngineBuffer;
}

/** The matmul shapes of a layer at M rows: QKV, Wo, W13 with SwiGLU, W2. */
export function stackShapes(cfg: EngineModelConfig, M: number): MatmulShape[] {
  const { dim, heads: H, kvHeads: KV, headDim: D } = cfg;
  const hid = paddedHidden(cfg);
  return [
    { M, N: (H + 2 * KV) * D, K: dim, epilogue: 'store' },
    { M, N: dim, K: dim, epilogue: 'add' },
    { M, N: 2 * hid, K: dim, epilogue: 'swiglu' },
    { M, N: dim, K: hid, epilogue: 'add' },
  ];
}

export interface StackSpec {
  M: number;
  T: number;
  /** Sequences in this pass (M / T). */
  batch: number;
  prm: EngineBuffer;
  ids: EngineBuffer;
  cap: number;
  ropeWrite: RopeWrite;
  /** The buffers RoPE writes for layer l ('fp16': K, V caches; 'f32': one [M, 2·KV·D] buffer). */
  ropeOut: (layer: number) => GPUBuffer[];
  /** Decode: the slots attention is dispatched for (default cap). */
  attentionCap?: number;
  /** Decode: how attention reads layer l's past. */
  reader?: (layer: number) => { reader: PastReader; buffers: GPUBuffer[] };
  /** Work a cache store adds to layer l: after RoPE at prefill, after attention at decode. */
  storeOps?: (layer: number) => ((pass: GPUComputePassEncoder) => void) | undefined;
  /** Decode: changes when layer l's reader or store ops bind other buffers (LayerStack.refresh). */
  layerVersion?: (layer: number) => number;
}

/**
 * Records the stack's dispatches. refresh() rebuilds the attention and store work of the layers
 * whose layerVersion changed (a MiniCache relayout reallocates one pair's buffer: two layers'
 * bind groups, not the whole stack's pipelines and bind groups) and says how many it rebuilt.
 */
export type LayerStack = ((pass: GPUComputePassEncoder) => void) & { refresh(): number };

export function buildLayerStack(ctx: GpuContext, cfg: EngineModelConfig, w: DeviceWeights, bufs: StackBuffers, spec: StackSpec): LayerStack {
  const { dim, heads: H, kvHeads: KV, headDim: D } = cfg;
  const { M, T, batch, prm, ids, cap, ropeWrite } = spec;
  const { x, h, qkv, att, act, cosSin, starts } = bufs;
  const hid = paddedHidden(cfg);
  const R = (H + 2 * KV) * D;
  const shape = { heads: H, kvHeads: KV, headDim: D };
  const embedP = ctx.pipeline(embedWgsl({ rows: M, dim, f16: ctx.f16 }), 'embed');
  const embedG = ctx.bindGroup(embedP, [ids, w.embed, x]);
  const normP = ctx.pipeline(rmsnormWgsl({ rows: M, dim, eps: cfg.rmsEps }), 'rmsnorm');
  const prefillP = spec.reader ? null : ctx.pipeline(prefillAttentionWgsl({ ...shape, batch, T }), 'attention prefill');
  const [sQkv, sO, s13, s2] = stackShapes(cfg, M) as [MatmulShape, MatmulShape, MatmulShape, MatmulShape];
  const need = sharedPartialBytes(ctx, [sQkv, sO, s13, s2]);
  if (need > (bufs.splitK?.size ?? 0)) throw new Error(`webgpu engine: the layer stack at M = ${M} needs a ${need}-byte split-K buffer (StackBuffers.splitK)`);
  const mm = (shape: MatmulShape, xb: EngineBuffer, wb: EngineBuffer, yb: EngineBuffer, label: string, gain?: EngineBuffer, rope?: ConstructorParameters<typeof MatmulOp>[9]) =>
    new MatmulOp(ctx, shape, xb.buffer, wb.buffer, yb.buffer, label, undefined, bufs.splitK?.buffer, gain ? { gain: gain.buffer, eps: cfg.rmsEps } : undefined, rope);
  // Row-group kernels (batch ≤ 8) apply the block's RMSNorm themselves (two dispatches fewer a
  // layer) and, where the device has the storage bindings, the QKV projection's RoPE with the K/V
  // hand-over to an fp16 cache or to a store's own append (one fewer again)
  const kQkv = matmulKernelFor(ctx, sQkv);
  const fuse1 = fusesNorm(kQkv);
  const fuse2 = fusesNorm(matmulKernelFor(ctx, s13));
  const ropeEpi = ropeWrite === 'f32' ? undefined : { T, heads: H, kvHeads: KV, headDim: D, layout: cfg.ropeLayout, write: ropeWrite, cap };
  const fuseRope = !!ropeEpi && fusesRope(kQkv, ropeEpi, fuse1, ctx.limits.maxStorageBuffersPerShaderStage);
  const ropeP = fuseRope ? undefined : ctx.pipeline(ropeWgsl({ rows: M, T, heads: H, kvHeads: KV, headDim: D, layout: cfg.ropeLayout, write: ropeWrite, cap }), 'rope');
  type Side = { attend: (pass: GPUComputePassEncoder) => void; store: ((pass: GPUComputePassEncoder) => void) | undefined; version: number };
  // per layer: the work that binds the store's buffers, and how to make it again
  const sides: { make: () => Side; now: Side }[] = [];
  const ops = w.layers.map((lw, l) => {
    const norm1 = ctx.bindGroup(normP, [x, lw.attnNorm, h]);
    const ropeIn = fuseRope ? { epilogue: ropeEpi!, cosSin: cosSin.buffer, starts: starts.buffer, prm: prm.buffer, caches: spec.ropeOut(l) } : undefined;
    const mmQkv = fuse1 ? mm(sQkv, x, lw.wqkv, qkv, 'qkv', lw.attnNorm, ropeIn) : mm(sQkv, h, lw.wqkv, qkv, 'qkv');
    const rope = ropeP && ctx.bindGroup(ropeP, [qkv, cosSin, starts, prm, ...(ropeWrite === 'none' ? [] : spec.ropeOut(l))]);
    const make = (): Side => {
      let attend: (pass: GPUComputePassEncoder) => void;
      if (spec.reader) {
        const rd = spec.reader(l);
        if (!bufs.partial) throw new Error('webgpu engine: decode attention needs a partials buffer');
        const ashape = { ...shape, batch, cap: spec.attentionCap ?? cap, reader: rd.reader };
        const da = new DecodeAttention(ctx, ashape, { qkv: qkv.buffer, starts: starts.buffer, prm: prm.buffer, partial: bufs.partial.buffer, out: att.buffer, past: rd.buffers }, defaultDecodeKernel(ashape, ctx.decodeKernel));
        attend = (pass) => da.encode(pass);
      } else {
        const g = ctx.bindGroup(prefillP!, [qkv, starts, prm, att]);
        const groups = prefillAttentionGroups({ ...shape, batch, T });
        attend = (pass) => encodeGroups(pass, prefillP!, g, groups);
      }
      return { attend, store: spec.storeOps?.(l), version: spec.layerVersion?.(l) ?? 0 };
    };
    const side = { make, now: make() };
    sides.push(side);
    const mmO = mm(sO, att, lw.wo, x, 'wo');
    const norm2 = ctx.bindGroup(normP, [x, lw.ffnNorm, h]);
    const mm13 = fuse2 ? mm(s13, x, lw.w13, act, 'w13', lw.ffnNorm) : mm(s13, h, lw.w13, act, 'w13');
    const mm2 = mm(s2, act, lw.w2, x, 'w2');
    return (pass: GPUComputePassEncoder) => {
      if (!fuse1) encodeRows(pass, normP, norm1, M);
      mmQkv.encode(pass);
      if (ropeP && rope) encodeRope(pass, ropeP, rope, M);
      if (!spec.reader) side.now.store?.(pass);
      side.now.attend(pass);
      if (spec.reader) side.now.store?.(pass);
      mmO.encode(pass);
      if (!fuse2) encodeRows(pass, normP, norm2, M);
      mm13.encode(pass);
      mm2.encode(pass);
    };
  });
  const encode = (pass: GPUComputePassEncoder) => {
    encodeRows(pass, embedP, embedG, M);
    for (const op of ops) op(pass);
  };
  const refresh = () => {
    let n = 0;
    sides.forEach((side, l) => {
      if ((spec.layerVersion?.(l) ?? 0) === side.now.version) return;
      side.now = side.make();
      n++;
    });
    return n;
  };
  return Object.assign(encode, { refresh });
}
