import { blockSize, type CacheGeometry, type KVBlock } from '../engine/kv-block.js';
import type { KernelHeap } from '../kernels/wasm/heap.js';

/**
 * The restore outputs a method owns (KVCacheMethod.restoreOwned): one K and one V buffer per
 * layer in the method's kernel heap, sized for a capacity in tokens, so the kernels write the
 * past where the model reads it. Not cache state: never counted in bytes().
 */
export class RestoreBuffers {
  readonly k: number[] = [];
  readonly v: number[] = [];
  private capacity = 0;

  constructor(private readonly heap: KernelHeap, private readonly geometry: CacheGeometry) {}

  /** Make room for `tokens` tokens per sequence in every layer. */
  ensure(tokens: number): void {
    if (tokens <= this.capacity) return;
    const bytes = blockSize(this.geometry, tokens) * 4;
    for (const p of [...this.k, ...this.v]) this.heap.free(p);
    this.k.length = 0;
    this.v.length = 0;
    for (let l = 0; l < this.geometry.layers; l++) {
      this.k.push(this.heap.alloc(bytes));
      this.v.push(this.heap.alloc(bytes));
    }
    this.capacity = tokens;
  }

  /** Views of the first `tokens` tokens of every layer ([B, H, tokens, D]); valid until the next heap allocation. */
  views(tokens: number): KVBlock[] {
    const n = blockSize(this.geometry, tokens);
    return this.k.map((k, l) => ({ k: this.heap.f32At(k, n), v: this.heap.f32At(this.v[l]!, n), tokens }));
  }
}
