/**
 * A KV cache held on the device in a method's own layout. The engine asks a store three things:
 * how RoPE hands it each new token (written straight into its buffers, or left in the QKV rows
 * for the store's append kernels), how decode attention reads its past (a PastReader and the
 * buffers to bind for a layer), and what it holds, in bytes by component.
 */
import type { ByteBreakdown, MethodDiagnostics } from '../methods/types.js';
import type { EngineBuffer, GpuContext } from './gpu-context.js';
import { fp16PastReader, type PastReader } from './kernels/attention.js';

export interface StoreGeometry {
  layers: number;
  batch: number;
  kvHeads: number;
  headDim: number;
  /** Slots per sequence the store is allocated for (prompt slots + new tokens). */
  capacity: number;
  /** Padded prompt length of the session (slots the prefill writes). */
  promptSlots: number;
  /** Sequences per prefill sub-batch (the prefill runs them through every layer at once). */
  prefillBatch: number;
}

/** Session buffers a store's kernels bind (given once, before any ops are asked for). */
export interface StoreIo {
  /** QKV rows of the pass (decode: [B, (H + 2·KV)·D] f32, rotated). */
  qkv: GPUBuffer;
  starts: GPUBuffer;
  /** The decode step's parameters (slot = n, the current token's slot). */
  decodePrm: GPUBuffer;
  heads: number;
}

export type Ops = (pass: GPUComputePassEncoder) => void;

export interface EngineKvStore {
  readonly name: string;
  readonly geometry: StoreGeometry;
  /** Prefill: RoPE writes each layer's prompt K/V as fp16 into these ([B, KV, cap, D]). */
  prefillTarget(layer: number): { k: GPUBuffer; v: GPUBuffer; cap: number };
  /** Prefill of sequences b0 … b0 + count − 1: work after the layer's RoPE (compressing the prompt's K/V). */
  prefillOps?(layer: number, sub: { b0: number; count: number; prm: GPUBuffer }): Ops | undefined;
  /** Decode: 'fp16' — RoPE writes the new token into decodeTarget(layer) at its slot; 'none' — appendOps takes it from the QKV rows after attention. */
  readonly decodeWrite: 'fp16' | 'none';
  decodeTarget(layer: number): { k: GPUBuffer; v: GPUBuffer; cap: number } | undefined;
  /** Decode: work after the layer's attention (storing the new token). */
  appendOps?(layer: number): Ops | undefined;
  bind?(io: StoreIo): void;
  /**
   * After the prefill's work is done (MiniCache sizes its retained lists here). 'again': the
   * prefill overflowed buffers the store has now grown: it must run again.
   */
  afterPrefill?(): Promise<void | 'again'>;
  /** Between decode steps, every few steps (MiniCache grows its retained lists here). */
  maintain?(): Promise<void>;
  /** Host milliseconds maintain() spent, by part, and how often it reallocated (benches print them). */
  readonly upkeep?: Readonly<Record<string, number>>;
  /** Reads back whatever bytes() needs (MiniCache's retained counts). */
  refresh?(): Promise<void>;
  /** Changes when the store reallocated buffers that decode passes bind: they must be rebuilt. */
  readonly version?: number;
  /**
   * Changes when the buffers layer `layer`'s reader or append binds were reallocated: a decode
   * pass rebuilds that layer's attention and append alone (a store without it: the whole pass).
   */
  layerVersion?(layer: number): number;
  reader(layer: number): { reader: PastReader; buffers: GPUBuffer[] };
  /**
   * Bytes held for `tokens` slots per sequence, by component (the byte accounting of the host
   * method the store implements), and the bytes allocated beyond them (preallocated headroom).
   */
  bytes(tokens: number): { held: ByteBreakdown; headroom: number };
  diagnostics(): MethodDiagnostics;
  dispose(): void;
}

/** FP16 cache: K and V of every layer as [B, KV, capacity, D] fp16, appended in place. */
export class Fp16Store implements EngineKvStore {
  readonly name = 'fp16';
  readonly decodeWrite = 'fp16' as const;
  private readonly k: EngineBuffer[] = [];
  private readonly v: EngineBuffer[] = [];

  constructor(
    ctx: GpuContext,
    readonly geometry: StoreGeometry,
  ) {
    const { layers, batch, kvHeads, headDim, capacity } = geometry;
    const bytes = batch * kvHeads * capacity * headDim * 2;
    for (let l = 0; l < layers; l++) {
      this.k.push(ctx.alloc('kvStore', bytes, `fp16 K l${l}`));
      this.v.push(ctx.alloc('kvStore', bytes, `fp16 V l${l}`));
    }
  }

  prefillTarget(layer: number) {
    return { k: this.k[layer]!.buffer, v: this.v[layer]!.buffer, cap: this.geometry.capacity };
  }

  decodeTarget(layer: number) {
    return this.prefillTarget(layer);
  }

  reader(layer: number) {
    const g = this.geometry;
    return { reader: fp16PastReader({ kvHeads: g.kvHeads, headDim: g.headDim, cap: g.capacity }), buffers: [this.k[layer]!.buffer, this.v[layer]!.buffer] };
  }

  bytes(tokens: number) {
    const g = this.geometry;
    const per = (n: number) => 2 * g.layers * g.batch * g.kvHeads * n * g.headDim * 2;
    return { held: { data: per(tokens) }, headroom: per(g.capacity) - per(tokens) };
  }

  diagnostics(): MethodDiagnostics {
    return {};
  }

  dispose(): void {
    for (const b of [...this.k, ...this.v]) b.destroy();
  }
}
