import { groupSizeProblem, isQuantBits, type QuantBits } from '../kernels/quantize.js';
import { KernelHeap } from '../kernels/wasm/heap.js';
import { ChannelQuantRows, TokenQuantRows } from './quant-rows.js';
import type { ByteBreakdown, StoreShape, TensorStore } from './types.js';

export interface KiviOptions {
  bits: QuantBits;
  /** Group size G (tokens per key group, channels per value group). */
  groupSize: number;
  /** Full-precision residual length R, a positive multiple of G. */
  residual: number;
}

/** What is wrong with KIVI options, and which parameter to change; null when nothing is. */
export function kiviOptionsProblem(o: { bits: unknown; groupSize: unknown; residual: unknown }, headDim?: number): { param: 'bits' | 'groupSize' | 'residual'; message: string } | null {
  if (!isQuantBits(o.bits)) return { param: 'bits', message: `bits must be 2, 4 or 8, got ${String(o.bits)}` };
  const g = groupSizeProblem(o.groupSize as number, o.bits);
  if (g) return { param: 'groupSize', message: g };
  const G = o.groupSize as number;
  const R = o.residual as number;
  if (!Number.isInteger(R) || R <= 0 || R % G !== 0) return { param: 'residual', message: `residual must be a positive multiple of the group size ${G}, got ${String(o.residual)}` };
  if (headDim !== undefined && headDim % G !== 0) return { param: 'groupSize', message: `head dim ${headDim} is not a multiple of the group size ${G} (values are grouped along channels)` };
  return null;
}

/**
 * One stream quantized with KIVI's exact streaming rules (spec §3.3):
 *  - keys: per-channel groups of G tokens; new keys go to an fp16 tail that is quantized as a
 *    whole whenever it reaches R tokens, so the tail cycles 0…R−1 (prefill of T tokens leaves
 *    T mod R, and none when T mod R = 0);
 *  - values: per-token groups of G channels; the fp16 tail is a sliding window of the last R
 *    tokens, the oldest token quantized as each new one arrives beyond R.
 * Everything entering the store is first rounded to fp16 (the activation dtype KIVI runs in).
 */
export class KiviStore implements TensorStore {
  private readonly rows: number;
  private readonly D: number;
  private readonly keyQuant: ChannelQuantRows | null;
  private readonly valueQuant: TokenQuantRows | null;
  /** fp16 tail per row, R slots (heap pointer): keys use slots 0…len−1; values use it as a ring from `start`. */
  private readonly tail: number;
  private tailLen = 0;
  private start = 0;

  constructor(private readonly shape: StoreShape, readonly role: 'key' | 'value', readonly options: KiviOptions, readonly heap: KernelHeap = new KernelHeap()) {
    const problem = kiviOptionsProblem(options, shape.headDim);
    if (problem) throw new Error(`kivi store: ${problem.param}: ${problem.message}`);
    this.rows = shape.batch * shape.heads;
    this.D = shape.headDim;
    const { bits, groupSize: G, residual: R } = options;
    this.keyQuant = role === 'key' ? new ChannelQuantRows(heap, this.rows, this.D, G, bits) : null;
    this.valueQuant = role === 'value' ? new TokenQuantRows(heap, this.rows, this.D, G, bits) : null;
    this.tail = heap.calloc(this.rows * R * this.D * 2);
  }

  get length(): number {
    return this.quantizedLength + this.tailLen;
  }

  /** Tokens per row held in the fp16 residual. */
  get residualLength(): number {
    return this.tailLen;
  }

  get quantizedLength(): number {
    return (this.keyQuant ?? this.valueQuant)!.length;
  }

  append(block: Float32Array, tokens: number): void {
    if (block.length !== this.rows * tokens * this.D) throw new Error(`kivi store: block of ${block.length} floats is not [${this.shape.batch}, ${this.shape.heads}, ${tokens}, ${this.D}]`);
    const src = this.heap.stageF32('store.in', block);
    if (this.role === 'key') this.appendKeys(src, tokens);
    else this.appendValues(src, tokens);
  }

  private appendKeys(src: number, tokens: number): void {
    const { residual: R } = this.options;
    const D = this.D;
    let j = 0;
    while (j < tokens) {
      const k = Math.min(tokens - j, R - this.tailLen);
      this.heap.encodeHalfRows(src + j * D * 4, tokens * D, this.tail + this.tailLen * D * 2, R * D, this.rows, k * D);
      this.tailLen += k;
      j += k;
      if (this.tailLen === R) this.flushKeys();
    }
  }

  /** Quantize the full R-token key tail (R/G tiles per row) and empty it. */
  private flushKeys(): void {
    const q = this.keyQuant!;
    const { groupSize: G, residual: R } = this.options;
    const D = this.D;
    const first = q.length / G;
    q.reserve(q.length + R);
    const scratch = this.heap.scratchPtr('kivi.flush', R * D * 4);
    for (let r = 0; r < this.rows; r++) {
      this.heap.decodeHalfRows(this.tail + r * R * D * 2, 0, scratch, 0, 1, R * D);
      q.quantizeTiles(r, first, R / G, scratch);
    }
    q.length += R;
    this.tailLen = 0;
  }

  private appendValues(src: number, tokens: number): void {
    const q = this.valueQuant!;
    const R = this.options.residual;
    const D = this.D;
    const evicted = Math.max(0, this.tailLen + tokens - R);
    q.reserve(q.length + evicted);
    const scratch = evicted > 0 ? this.heap.scratchPtr('kivi.evict', this.rows * D * 4) : 0;
    for (let j = 0; j < tokens; j++) {
      const from = src + j * D * 4;
      if (this.tailLen === R) {
        // The window is full: the oldest token leaves it, quantized; its slot takes the new one.
        const slot = this.tail + this.start * D * 2;
        this.heap.decodeHalfRows(slot, R * D, scratch, D, this.rows, D);
        q.quantizeTokens(q.length, 1, scratch, D);
        this.heap.encodeHalfRows(from, tokens * D, slot, R * D, this.rows, D);
        q.length++;
        this.start = (this.start + 1) % R;
      } else {
        const slot = (this.start + this.tailLen) % R;
        this.heap.encodeHalfRows(from, tokens * D, this.tail + slot * D * 2, R * D, this.rows, D);
        this.tailLen++;
      }
    }
  }

  read(out: Float32Array): void {
    const n = this.length;
    if (out.length !== this.rows * n * this.D) throw new Error(`kivi store: output of ${out.length} floats is not [${this.shape.batch}, ${this.shape.heads}, ${n}, ${this.D}]`);
    const ptr = this.heap.target('store.out', out);
    this.readPtr(ptr);
    this.heap.commit(ptr, out);
  }

  readPtr(out: number): void {
    const n = this.length;
    const R = this.options.residual;
    const D = this.D;
    const nq = this.quantizedLength;
    const heap = this.heap;
    for (let r = 0; r < this.rows; r++) {
      if (this.keyQuant) this.keyQuant.dequantizeRow(r, out + r * n * D * 4);
      else this.valueQuant!.dequantizeRow(r, out + r * n * D * 4);
    }
    const o = out + nq * D * 4;
    if (this.keyQuant) {
      heap.decodeHalfRows(this.tail, R * D, o, n * D, this.rows, this.tailLen * D);
    } else {
      // Ring order: start … R−1, then 0 … (wrapped part).
      const first = Math.min(this.tailLen, R - this.start);
      heap.decodeHalfRows(this.tail + this.start * D * 2, R * D, o, n * D, this.rows, first * D);
      heap.decodeHalfRows(this.tail, R * D, o + first * D * 4, n * D, this.rows, (this.tailLen - first) * D);
    }
  }

  bytes(): ByteBreakdown {
    const q = (this.keyQuant ?? this.valueQuant)!.bytes();
    return { ...q, residual: this.rows * this.tailLen * this.D * 2 };
  }

  diagnostics(): Record<string, unknown> {
    return { residualLength: this.tailLen, quantizedLength: this.quantizedLength };
  }
}
