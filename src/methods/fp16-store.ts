import { decodeHalf, floatToHalf } from '../kernels/half.js';
import type { ByteBreakdown, StoreShape, TensorStore } from './types.js';

/**
 * Plain fp16 storage of a [B, H, n, D] stream. Capacity grows by doubling so appends are
 * amortised O(1); bytes are reported for the tokens held, not the spare capacity.
 */
export class Fp16Store implements TensorStore {
  private data: Uint16Array;
  private capacity: number;
  length = 0;

  constructor(private readonly shape: StoreShape, readonly role: 'key' | 'value', initialCapacity = 64) {
    this.capacity = initialCapacity;
    this.data = new Uint16Array(shape.batch * shape.heads * this.capacity * shape.headDim);
  }

  append(block: Float32Array, tokens: number): void {
    const { batch, heads, headDim: D } = this.shape;
    this.reserve(this.length + tokens);
    const rows = batch * heads;
    for (let r = 0; r < rows; r++) {
      const src = r * tokens * D;
      const dst = (r * this.capacity + this.length) * D;
      const n = tokens * D;
      for (let i = 0; i < n; i++) this.data[dst + i] = floatToHalf(block[src + i]!);
    }
    this.length += tokens;
  }

  read(out: Float32Array): void {
    const { batch, heads, headDim: D } = this.shape;
    const rows = batch * heads;
    const n = this.length * D;
    for (let r = 0; r < rows; r++) decodeHalf(this.data, out, r * this.capacity * D, n, r * n);
  }

  bytes(): ByteBreakdown {
    const { batch, heads, headDim } = this.shape;
    return { data: batch * heads * this.length * headDim * 2 };
  }

  private reserve(n: number): void {
    if (n <= this.capacity) return;
    let cap = this.capacity;
    while (cap < n) cap *= 2;
    const { batch, heads, headDim: D } = this.shape;
    const next = new Uint16Array(batch * heads * cap * D);
    for (let r = 0; r < batch * heads; r++) {
      next.set(this.data.subarray(r * this.capacity * D, (r * this.capacity + this.length) * D), r * cap * D);
    }
    this.data = next;
    this.capacity = cap;
  }
}
