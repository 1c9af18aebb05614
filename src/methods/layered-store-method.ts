import type { CacheGeometry, KVBlock } from '../engine/kv-block.js';
import { KernelHeap } from '../kernels/wasm/heap.js';
import { checkLayerBlocks } from './guard.js';
import { RestoreBuffers } from './restore-buffers.js';
import { addBytes, type ByteBreakdown, type KVCacheMethod, type MethodDiagnostics, type StoreFactory, type TensorStore } from './types.js';

/**
 * A method that keeps every layer's K and V independently in a store (fp16 baseline, KIVI, RTN).
 * Cross-layer methods implement KVCacheMethod directly.
 */
export class LayeredStoreMethod implements KVCacheMethod {
  protected readonly keys: TensorStore[];
  protected readonly values: TensorStore[];
  /** Every buffer of this method (stores, scratch, restore outputs) lives in this heap. */
  readonly heap = new KernelHeap();
  private readonly outputs: RestoreBuffers;

  constructor(readonly name: string, readonly geometry: CacheGeometry, factory: StoreFactory) {
    const shape = { batch: geometry.batch, heads: geometry.kvHeads, headDim: geometry.headDim };
    this.keys = Array.from({ length: geometry.layers }, () => factory(shape, 'key', this.heap));
    this.values = Array.from({ length: geometry.layers }, () => factory(shape, 'value', this.heap));
    this.outputs = new RestoreBuffers(this.heap, geometry);
  }

  get length(): number {
    return this.keys[0]?.length ?? 0;
  }

  prefill(layers: readonly KVBlock[]): void {
    if (this.length > 0) throw new Error(`${this.name}: prefill called on a cache that already holds ${this.length} tokens`);
    this.append(layers, 'prefill');
  }

  append(layers: readonly KVBlock[], what = 'append'): void {
    checkLayerBlocks(this.name, this.geometry, layers, what);
    layers.forEach((b, l) => {
      this.keys[l]!.append(b.k, b.tokens);
      this.values[l]!.append(b.v, b.tokens);
    });
  }

  restore(out: readonly KVBlock[]): void {
    out.forEach((b, l) => {
      this.keys[l]!.read(b.k);
      this.values[l]!.read(b.v);
    });
  }

  restoreOwned(capacity: number): KVBlock[] {
    this.outputs.ensure(Math.max(capacity, this.length));
    this.keys.forEach((s, l) => s.readPtr(this.outputs.k[l]!));
    this.values.forEach((s, l) => s.readPtr(this.outputs.v[l]!));
    return this.outputs.views(this.length);
  }

  bytes(): ByteBreakdown {
    const total: ByteBreakdown = {};
    for (const s of [...this.keys, ...this.values]) addBytes(total, s.bytes());
    return total;
  }

  diagnostics(): MethodDiagnostics {
    const k = this.keys[0]?.diagnostics?.();
    const v = this.values[0]?.diagnostics?.();
    return k || v ? { layer0: { keys: k, values: v } } : {};
  }

  dispose(): void {
    this.keys.length = 0;
    this.values.length = 0;
  }
}
