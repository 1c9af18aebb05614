/**
 * One layer's K and V held on the device in a plain layout, the building block of the engine's
 * method stores: fp16 (as the FP16 cache), or KIVI-b. A layer store takes a prompt from an fp16
 * target RoPE (or a merge) writes at prefill, appends the token at slot prm.slot from rows laid
 * out like QKV ([B, (H + 2·KV)·D] f32: K at head H + kh, V at H + KV + kh), and gives decode
 * attention a PastReader. MiniCache keeps its unmerged layers and its merged directions in them.
 */
import type { ByteBreakdown } from '../methods/types.js';
import { dispatchGroups, LINEAR_GROUP, type EngineBuffer, type GpuContext } from './gpu-context.js';
import { fp16PastReader, type PastReader } from './kernels/attention.js';
import { kiviAppendWgsl as kiviAppendSource, kiviHasV8, kiviKeyTile, kiviLayout, kiviPrefillWgsl, kiviReaderWgsl as kiviReaderSource, kiviRegions, type KiviShape } from './kernels/kivi.js';
import { memoWgsl } from './kernels/wgsl-common.js';
import type { Ops, StoreGeometry } from './kv-store.js';

// sources a MiniCache relayout's rebuild asks for again (its directions are a KIVI layer store)
const kiviAppendWgsl = memoWgsl(kiviAppendSource);
const kiviReaderWgsl = memoWgsl(kiviReaderSource);

export interface LayerStore {
  readonly buffers: EngineBuffer[];
  /** Where the prompt's fp16 K/V go at prefill ([B, KV, cap, D]). */
  readonly prefillTarget: { k: GPUBuffer; v: GPUBuffer; cap: number };
  /** Prefill work once the target holds sequences sub.b0 … (quantizing them). */
  prefillOps(sub: { b0: number; count: number; prm: GPUBuffer }): Ops | undefined;
  /** Append the token at slot prm.slot from `rows` (QKV layout). */
  appendOps(rows: GPUBuffer, prm: GPUBuffer, heads: number): Ops;
  readonly reader: PastReader;
  /** Bytes held for n tokens, by component (the host store's accounting). */
  held(n: number): ByteBreakdown;
  dispose(): void;
}

export interface KiviParams {
  bits: 2 | 4 | 8;
  groupSize: number;
  residual: number;
}

function ops(pipeline: GPUComputePipeline, group: GPUBindGroup, groups: number): Ops {
  return (pass) => {
    if (groups === 0) return;
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, group);
    dispatchGroups(pass, groups);
  };
}

/** WGSL: the token at slot prm.slot into an fp16 cache [B, KV, cap, D] from QKV-layout rows. */
function fp16AppendWgsl(o: { batch: number; kvHeads: number; heads: number; headDim: number; cap: number }): string {
  const { batch: B, kvHeads: KV, heads: H, headDim: D, cap } = o;
  const RL = (H + 2 * KV) * D;
  return `struct Prm { slot: u32, b0: u32 }
@group(0) @binding(0) var<storage, read> rows: array<f32>;
@group(0) @binding(1) var<storage, read> prm: Prm;
@group(0) @binding(2) var<storage, read_write> Kc: array<u32>;
@group(0) @binding(3) var<storage, read_write> Vc: array<u32>;
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) gid3: vec3u, @builtin(local_invocation_index) tid: u32) {
  ${LINEAR_GROUP}
  let t = wg * 64u + tid;
  if (t >= ${(B * KV * D) / 2}u) { return; }
  let row = t / ${D / 2}u;
  let w = t % ${D / 2}u;
  let b = row / ${KV}u;
  let kh = row % ${KV}u;
  let o = ((row * ${cap}u + prm.slot) * ${D}u) / 2u + w;
  let k = b * ${RL}u + ${H * D}u + kh * ${D}u + 2u * w;
  let v = b * ${RL}u + ${(H + KV) * D}u + kh * ${D}u + 2u * w;
  Kc[o] = pack2x16float(vec2f(rows[k], rows[k + 1u]));
  Vc[o] = pack2x16float(vec2f(rows[v], rows[v + 1u]));
}
`;
}

export function fp16Layer(ctx: GpuContext, g: StoreGeometry, label: string): LayerStore {
  const { batch: B, kvHeads: KV, headDim: D, capacity: cap } = g;
  const bytes = B * KV * cap * D * 2;
  const k = ctx.alloc('kvStore', bytes, `${label} K`);
  const v = ctx.alloc('kvStore', bytes, `${label} V`);
  return {
    buffers: [k, v],
    prefillTarget: { k: k.buffer, v: v.buffer, cap },
    prefillOps: () => undefined,
    appendOps(rows, prm, heads) {
      const p = ctx.pipeline(fp16AppendWgsl({ batch: B, kvHeads: KV, heads, headDim: D, cap }), 'fp16 append');
      return ops(p, ctx.bindGroup(p, [rows, prm, k, v]), Math.ceil((B * KV * D) / 2 / 64));
    },
    reader: fp16PastReader({ kvHeads: KV, headDim: D, cap }),
    held: (n) => ({ data: 2 * B * KV * n * D * 2 }),
    dispose() {
      k.destroy();
      v.destroy();
    },
  };
}

/**
 * KIVI-b for one layer; `staging` is the fp16 prompt target [B, KV, P, D] (shared by the layers
 * of a store: each layer's prompt is quantized before the next layer's RoPE writes it).
 */
export function kiviLayer(ctx: GpuContext, g: StoreGeometry, params: KiviParams, staging: { k: EngineBuffer; v: EngineBuffer }, label: string): LayerStore {
  const shape: KiviShape = { ...params, kvHeads: g.kvHeads, headDim: g.headDim, batch: g.batch, cap: g.capacity };
  // one buffer per layer for KIVI's eight regions: binding slots per shader stage are few
  const bufs = [ctx.alloc('kvStore', kiviRegions(shape).bytes, `${label} kivi`)];
  const P = g.promptSlots;
  return {
    buffers: bufs,
    prefillTarget: { k: staging.k.buffer, v: staging.v.buffer, cap: P },
    prefillOps(sub) {
      const { code, threads } = kiviPrefillWgsl({ ...shape, P, count: sub.count });
      const p = ctx.pipeline(code, 'kivi prefill');
      return ops(p, ctx.bindGroup(p, [staging.k, staging.v, sub.prm, ...bufs]), Math.ceil(threads / 64));
    },
    appendOps(rows, prm, heads) {
      const p = ctx.pipeline(kiviAppendWgsl({ ...shape, heads }), 'kivi append');
      return ops(p, ctx.bindGroup(p, [rows, prm, ...bufs]), g.batch * g.kvHeads);
    },
    reader: kiviLayerReader(shape),
    held(n) {
      const { batch, kvHeads, headDim: D } = g;
      const { groupSize: G, residual: R } = params;
      const L = kiviLayout(shape);
      const rows = batch * kvHeads;
      const kTiles = Math.floor(n / R) * (R / G);
      const vq = Math.max(0, n - R);
      const params2 = rows * kTiles * D * 2 + rows * vq * (D / G) * 2;
      return {
        data: rows * kTiles * L.wpg * D * 4 + rows * vq * (D / G) * L.wpg * 4,
        scales: params2,
        zeroPoints: params2,
        residual: rows * (n % R) * D * 2 + rows * Math.min(n, R) * D * 2,
      };
    },
    dispose() {
      for (const b of bufs) b.destroy();
    },
  };
}

/**
 * KIVI's reader: the branch-free form read by 'rowsu' (session 27, H100, embedded model, batch 128,
 * 12 layers at 497 tokens: kivi4 0.372 ms against the branching form's 0.446 under 'rows', kivi2
 * 0.382 against 0.425); the branching form stays as a variant, and is what MiniCache's merged
 * reader wraps (mergedForm): there the branch-free form was slower (minicache+kivi4 0.541 against 0.493 ms).
 */
function kiviLayerReader(shape: KiviShape): PastReader {
  const key = `kivi:${shape.bits}:${shape.groupSize}:${shape.residual}:${shape.kvHeads}:${shape.headDim}:${shape.batch}:${shape.cap}`;
  const base = { bindings: 1, v8: kiviHasV8(shape), kTile: kiviKeyTile(shape) };
  const branching: PastReader = { ...base, key, wgsl: (f) => kiviReaderWgsl(shape, f) };
  const branchFree: PastReader = { ...base, key: `${key}:branch-free`, preferred: 'rowsu', wgsl: (f) => kiviReaderWgsl(shape, f, true) };
  return {
    ...branchFree,
    variants: [{ name: 'branching reader', reader: branching }],
    mergedForm: { ...branching, variants: [{ name: 'branch-free reader', reader: branchFree }] },
  };
}

/** An fp16 prompt staging [B, KV, P, D] for K and V (scratch: only the prefill writes it). */
export function promptStaging(ctx: GpuContext, g: StoreGeometry, label: string): { k: EngineBuffer; v: EngineBuffer; destroy(): void } {
  const bytes = g.batch * g.kvHeads * g.promptSlots * g.headDim * 2;
  const k = ctx.alloc('scratch', bytes, `${label} prompt K`);
  const v = ctx.alloc('scratch', bytes, `${label} prompt V`);
  return {
    k,
    v,
    destroy() {
      k.destroy();
      v.destroy();
    },
  };
}

/** Sums byte breakdowns. */
export function sumBytes(parts: ByteBreakdown[]): ByteBreakdown {
  const out: ByteBreakdown = {};
  for (const p of parts) for (const [k, v] of Object.entries(p) as [keyof ByteBreakdown, number][]) out[k] = (out[k] ?? 0) + v;
  return out;
}
