import { KernelHeap } from '../kernels/wasm/heap.js';
import type { ByteBreakdown, StoreShape, TensorStore } from './types.js';

/**
 * Plain fp16 storage of a [B, H, n, D] stream, in the method's kernel heap. Capacity grows by
 * doubling so appends are amortised O(1); bytes are reported for the tokens held, not the
 * spare capacity. Row r (= b·H + h) holds its tokens at data + r·capacity·D halves.
 */
export class Fp16Store implements TensorStore {
  private data: number;
  private cap: number;
  length = 0;

  constructor(private readonly shape: StoreShape, readonly role: 'key' | 'value', readonly heap: KernelHeap = new KernelHeap(), initialCapacity = 64) {
    this.cap = initialCapacity;
    this.data = heap.alloc(shape.batch * shape.heads * this.cap * shape.headDim * 2);
  }

  /** Heap pointer of the fp16 data and the row capacity in tokens (for fused kernels). */
  get dataPtr(): number {
    return this.data;
  }
  get capacity(): number {
    return this.cap;
  }

  append(block: Float32Array, tokens: number): void {
    this.checkBlock(block, tokens, 'block');
    const src = this.heap.stageF32('store.in', block);
    this.appendPtr(src, tokens);
  }

  /** Append `tokens` tokens given as [B, H, tokens, D] f32 at heap pointer src. */
  appendPtr(src: number, tokens: number): void {
    const { batch, heads, headDim: D } = this.shape;
    this.reserve(this.length + tokens);
    this.heap.encodeHalfRows(src, tokens * D, this.data + this.length * D * 2, this.cap * D, batch * heads, tokens * D);
    this.length += tokens;
  }

  read(out: Float32Array): void {
    this.checkBlock(out, this.length, 'output');
    const ptr = this.heap.target('store.out', out);
    this.readPtr(ptr);
    this.heap.commit(ptr, out);
  }

  readPtr(out: number): void {
    const { batch, heads, headDim: D } = this.shape;
    const n = this.length * D;
    this.heap.decodeHalfRows(this.data, this.cap * D, out, n, batch * heads, n);
  }

  /** A wrong-sized array would be read or written past its end in the heap: refuse it, as the KIVI and RTN stores do. */
  private checkBlock(a: Float32Array, tokens: number, what: string): void {
    const { batch, heads, headDim: D } = this.shape;
    if (a.length !== batch * heads * tokens * D) throw new Error(`fp16 store: ${what} of ${a.length} floats is not [${batch}, ${heads}, ${tokens}, ${D}]`);
  }

  bytes(): ByteBreakdown {
    const { batch, heads, headDim } = this.shape;
    return { data: batch * heads * this.length * headDim * 2 };
  }

  private reserve(n: number): void {
    if (n <= this.cap) return;
    let cap = this.cap;
    while (cap < n) cap *= 2;
    const { batch, heads, headDim: D } = this.shape;
    const next = this.heap.alloc(batch * heads * cap * D * 2);
    for (let r = 0; r < batch * heads; r++) this.heap.copy(next + r * cap * D * 2, this.data + r * this.cap * D * 2, this.length * D * 2);
    this.heap.free(this.data);
    this.data = next;
    this.cap = cap;
  }
}
