import { groupSizeProblem, isQuantBits, type QuantBits } from '../kernels/quantize.js';
import { KernelHeap } from '../kernels/wasm/heap.js';
import { TokenQuantRows } from './quant-rows.js';
import type { ByteBreakdown, StoreShape, TensorStore } from './types.js';

export interface RtnOptions {
  bits: QuantBits;
  /** Channels per group (per-token groups, for keys and values alike). */
  groupSize: number;
}

export function rtnOptionsProblem(o: { bits: unknown; groupSize: unknown }, headDim?: number): string | null {
  if (!isQuantBits(o.bits)) return `bits must be 2, 4 or 8, got ${String(o.bits)}`;
  const g = groupSizeProblem(o.groupSize as number, o.bits);
  if (g) return g;
  if (headDim !== undefined && headDim % (o.groupSize as number) !== 0) return `head dim ${headDim} is not a multiple of the group size ${String(o.groupSize)}`;
  return null;
}

/**
 * The paper's RTN row: plain round-to-nearest of every token as it arrives, per-token groups of
 * G channels with fp16 min and scale (KIVI's quantizer), no full-precision residual.
 */
export class RtnStore implements TensorStore {
  private readonly rows: number;
  private readonly q: TokenQuantRows;

  constructor(private readonly shape: StoreShape, readonly role: 'key' | 'value', readonly options: RtnOptions, readonly heap: KernelHeap = new KernelHeap()) {
    const problem = rtnOptionsProblem(options, shape.headDim);
    if (problem) throw new Error(`rtn store: ${problem}`);
    this.rows = shape.batch * shape.heads;
    this.q = new TokenQuantRows(heap, this.rows, shape.headDim, options.groupSize, options.bits);
  }

  get length(): number {
    return this.q.length;
  }

  append(block: Float32Array, tokens: number): void {
    const D = this.shape.headDim;
    if (block.length !== this.rows * tokens * D) throw new Error(`rtn store: block of ${block.length} floats is not [${this.shape.batch}, ${this.shape.heads}, ${tokens}, ${D}]`);
    const heap = this.heap;
    const src = heap.stageF32('store.in', block);
    const n = block.length;
    const half = heap.scratchPtr('rtn.half', n * 2);
    const rounded = heap.scratchPtr('rtn.f32', n * 4);
    this.q.reserve(this.q.length + tokens);
    // Round through fp16 first: the activations a real fp16 model would hand over.
    heap.encodeHalfRows(src, 0, half, 0, 1, n);
    heap.decodeHalfRows(half, 0, rounded, 0, 1, n);
    this.q.quantizeTokens(this.q.length, tokens, rounded, tokens * D);
    this.q.length += tokens;
  }

  read(out: Float32Array): void {
    const D = this.shape.headDim;
    const n = this.q.length;
    if (out.length !== this.rows * n * D) throw new Error(`rtn store: output of ${out.length} floats is not [${this.shape.batch}, ${this.shape.heads}, ${n}, ${D}]`);
    const ptr = this.heap.target('store.out', out);
    this.readPtr(ptr);
    this.heap.commit(ptr, out);
  }

  readPtr(out: number): void {
    const D = this.shape.headDim;
    const n = this.q.length;
    for (let r = 0; r < this.rows; r++) this.q.dequantizeRow(r, out + r * n * D * 4);
  }

  bytes(): ByteBreakdown {
    return this.q.bytes();
  }
}
