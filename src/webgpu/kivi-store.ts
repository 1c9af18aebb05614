/**
 * KIVI-b on the device: every layer's keys and values in KIVI's layouts (kernels/kivi.ts),
 * preallocated for the session's capacity; the prompt quantized at prefill from the fp16 K/V RoPE
 * stages, each new token appended in place after attention, and decode attention dequantizing
 * codes as it reads them. Bytes held follow the host KiviStore's accounting exactly (codes,
 * scales, zero points, the fp16 residual tail and window); what the buffers hold beyond that (the
 * capacity not yet filled, the tail's empty slots) is headroom.
 */
import type { ByteBreakdown, MethodDiagnostics } from '../methods/types.js';
import type { EngineBuffer, GpuContext } from './gpu-context.js';
import type { PastReader } from './kernels/attention.js';
import { kiviAppendWgsl, kiviBufferBytes, kiviLayout, kiviPrefillWgsl, kiviReaderWgsl, type KiviShape } from './kernels/kivi.js';
import { dispatchGroups } from './gpu-context.js';
import type { EngineKvStore, Ops, StoreGeometry, StoreIo } from './kv-store.js';

export interface KiviParams {
  bits: 2 | 4 | 8;
  groupSize: number;
  residual: number;
}

const ORDER = ['kCodes', 'kScale', 'kMin', 'kTail', 'vCodes', 'vScale', 'vMin', 'vRing'] as const;

export class KiviDeviceStore implements EngineKvStore {
  readonly name: string;
  readonly decodeWrite = 'none' as const;
  private readonly layers: EngineBuffer[][] = [];
  private readonly stageK: EngineBuffer | null = null;
  private readonly stageV: EngineBuffer | null = null;
  private readonly shape: KiviShape;
  private io?: StoreIo;
  private readonly promptSlots: number;

  constructor(
    private readonly ctx: GpuContext,
    readonly geometry: StoreGeometry,
    readonly params: KiviParams,
  ) {
    this.name = `kivi${params.bits}`;
    const g = geometry;
    this.shape = { ...params, kvHeads: g.kvHeads, headDim: g.headDim, batch: g.batch, cap: g.capacity };
    this.promptSlots = g.promptSlots;
    const sizes = kiviBufferBytes(this.shape);
    for (let l = 0; l < g.layers; l++) this.layers.push(ORDER.map((k) => ctx.alloc('kvStore', sizes[k], `${this.name} ${k} l${l}`)));
    // the prompt's fp16 K/V as RoPE writes them, quantized from here layer by layer (transient)
    const stage = g.batch * g.kvHeads * g.promptSlots * g.headDim * 2;
    this.stageK = ctx.alloc('scratch', stage, `${this.name} prompt K`);
    this.stageV = ctx.alloc('scratch', stage, `${this.name} prompt V`);
  }

  bind(io: StoreIo): void {
    this.io = io;
  }

  prefillTarget(): { k: GPUBuffer; v: GPUBuffer; cap: number } {
    return { k: this.stageK!.buffer, v: this.stageV!.buffer, cap: this.promptSlots };
  }

  decodeTarget(): undefined {
    return undefined;
  }

  prefillOps(layer: number, sub: { b0: number; count: number; prm: GPUBuffer }): Ops {
    const { code, threads } = kiviPrefillWgsl({ ...this.shape, P: this.promptSlots, count: sub.count });
    const p = this.ctx.pipeline(code, `${this.name} prefill`);
    const g = this.ctx.bindGroup(p, [this.stageK!.buffer, this.stageV!.buffer, sub.prm, ...this.layers[layer]!.map((b) => b.buffer)]);
    const groups = Math.ceil(threads / 64);
    return (pass) => {
      if (groups === 0) return;
      pass.setPipeline(p);
      pass.setBindGroup(0, g);
      dispatchGroups(pass, groups);
    };
  }

  appendOps(layer: number): Ops {
    if (!this.io) throw new Error('kivi store: bind() first');
    const p = this.ctx.pipeline(kiviAppendWgsl({ ...this.shape, heads: this.io.heads }), `${this.name} append`);
    const g = this.ctx.bindGroup(p, [this.io.qkv, this.io.decodePrm, ...this.layers[layer]!.map((b) => b.buffer)]);
    const rows = this.geometry.batch * this.geometry.kvHeads;
    return (pass) => {
      pass.setPipeline(p);
      pass.setBindGroup(0, g);
      dispatchGroups(pass, rows);
    };
  }

  reader(layer: number): { reader: PastReader; buffers: GPUBuffer[] } {
    const s = this.shape;
    return {
      reader: { key: `kivi:${s.bits}:${s.groupSize}:${s.residual}:${s.kvHeads}:${s.headDim}:${s.batch}:${s.cap}`, bindings: 8, wgsl: (f) => kiviReaderWgsl(s, f) },
      buffers: this.layers[layer]!.map((b) => b.buffer),
    };
  }

  /** The host KiviStore's bytes for n tokens, over all layers (both of K and V). */
  held(n: number): ByteBreakdown {
    const { layers, batch, kvHeads, headDim: D } = this.geometry;
    const { groupSize: G, residual: R } = this.params;
    const L = kiviLayout(this.shape);
    const rows = batch * kvHeads;
    const kTiles = Math.floor(n / R) * (R / G);
    const vq = Math.max(0, n - R);
    const per = {
      data: rows * kTiles * L.wpg * D * 4 + rows * vq * (D / G) * L.wpg * 4,
      scales: rows * kTiles * D * 2 + rows * vq * (D / G) * 2,
      zeroPoints: rows * kTiles * D * 2 + rows * vq * (D / G) * 2,
      residual: rows * (n % R) * D * 2 + rows * Math.min(n, R) * D * 2,
    };
    return { data: per.data * layers, scales: per.scales * layers, zeroPoints: per.zeroPoints * layers, residual: per.residual * layers };
  }

  bytes(tokens: number): { held: ByteBreakdown; headroom: number } {
    const held = this.held(tokens);
    const allocated = this.layers.flat().reduce((a, b) => a + b.size, 0);
    return { held, headroom: allocated - Object.values(held).reduce((a, b) => a + (b ?? 0), 0) };
  }

  diagnostics(): MethodDiagnostics {
    return {};
  }

  dispose(): void {
    for (const b of this.layers.flat()) b.destroy();
    this.stageK?.destroy();
    this.stageV?.destroy();
  }
}
