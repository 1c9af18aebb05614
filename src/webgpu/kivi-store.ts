/**
 * KIVI-b on the device: every layer's keys and values in KIVI's layouts (kernels/kivi.ts,
 * layer-stores.ts), preallocated for the session's capacity; the prompt quantized at prefill from
 * the fp16 K/V RoPE stages, each new token appended in place after attention, and decode
 * attention dequantizing codes as it reads them. Bytes held follow the host KiviStore's accounting
 * exactly (codes, scales, zero points, the fp16 residual tail and window); what the buffers hold
 * beyond that (capacity not yet filled, the tail's empty slots) is headroom.
 */
import type { ByteBreakdown, MethodDiagnostics } from '../methods/types.js';
import type { GpuContext } from './gpu-context.js';
import type { PastReader } from './kernels/attention.js';
import type { EngineKvStore, Ops, StoreGeometry, StoreIo } from './kv-store.js';
import { kiviLayer, promptStaging, sumBytes, type KiviParams, type LayerStore } from './layer-stores.js';

export type { KiviParams } from './layer-stores.js';

export class KiviDeviceStore implements EngineKvStore {
  readonly name: string;
  readonly decodeWrite = 'none' as const;
  private readonly layers: LayerStore[];
  private readonly staging: ReturnType<typeof promptStaging>;
  private io?: StoreIo;

  constructor(
    ctx: GpuContext,
    readonly geometry: StoreGeometry,
    readonly params: KiviParams,
  ) {
    this.name = `kivi${params.bits}`;
    this.staging = promptStaging(ctx, geometry, this.name);
    this.layers = Array.from({ length: geometry.layers }, (_, l) => kiviLayer(ctx, geometry, params, this.staging, `${this.name} l${l}`));
  }

  bind(io: StoreIo): void {
    this.io = io;
  }

  prefillTarget(layer: number) {
    return this.layers[layer]!.prefillTarget;
  }

  decodeTarget(): undefined {
    return undefined;
  }

  prefillOps(layer: number, sub: { b0: number; count: number; prm: GPUBuffer }): Ops | undefined {
    return this.layers[layer]!.prefillOps(sub);
  }

  appendOps(layer: number): Ops {
    if (!this.io) throw new Error('kivi store: bind() first');
    return this.layers[layer]!.appendOps(this.io.qkv, this.io.decodePrm, this.io.heads);
  }

  reader(layer: number): { reader: PastReader; buffers: GPUBuffer[] } {
    const s = this.layers[layer]!;
    return { reader: s.reader, buffers: s.buffers.map((b) => b.buffer) };
  }

  bytes(tokens: number): { held: ByteBreakdown; headroom: number } {
    const held = sumBytes(this.layers.map((s) => s.held(tokens)));
    const allocated = this.layers.flatMap((s) => s.buffers).reduce((a, b) => a + b.size, 0);
    return { held, headroom: allocated - Object.values(held).reduce((a, b) => a + (b ?? 0), 0) };
  }

  diagnostics(): MethodDiagnostics {
    return {};
  }

  dispose(): void {
    for (const s of this.layers) s.dispose();
    this.staging.destroy();
  }
}
