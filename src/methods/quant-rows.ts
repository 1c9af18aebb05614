import { wordsPerGroup, type QuantBits } from '../kernels/quantize.js';
import type { KernelHeap } from '../kernels/wasm/heap.js';
import type { ByteBreakdown } from './types.js';

/**
 * Growable storage of quantized tokens for `rows` independent rows (the B·H rows of a
 * [B, H, n, D] stream), all of the same length, in the method's kernel heap. Storage is in units
 * (one token for per-token groups, a tile of G tokens for per-channel groups); capacity doubles
 * so appends are amortised O(1); bytes are reported for what is held, not for spare capacity.
 * Buffers are heap pointers: codes (Uint32 words), scales and mins (fp16).
 */
abstract class QuantRows {
  protected codes: number;
  protected scales: number;
  protected mins: number;
  /** Capacity per row, in units. */
  protected capacity: number;
  /** Tokens held per row (a multiple of tokensPerUnit). */
  length = 0;
  protected readonly wordsPerUnit: number;
  protected readonly paramsPerUnit: number;

  constructor(
    protected readonly heap: KernelHeap,
    readonly rows: number,
    readonly width: number,
    readonly groupSize: number,
    readonly bits: QuantBits,
    protected readonly tokensPerUnit: number,
    initialTokens: number,
  ) {
    const groupsPerUnit = tokensPerUnit === 1 ? width / groupSize : width;
    this.wordsPerUnit = groupsPerUnit * wordsPerGroup(groupSize, bits);
    this.paramsPerUnit = groupsPerUnit;
    this.capacity = Math.max(1, Math.ceil(initialTokens / tokensPerUnit));
    this.codes = heap.calloc(rows * this.capacity * this.wordsPerUnit * 4);
    this.scales = heap.calloc(rows * this.capacity * this.paramsPerUnit * 2);
    this.mins = heap.calloc(rows * this.capacity * this.paramsPerUnit * 2);
    // The per-channel kernels' scratch, reserved now so that reading never grows the heap.
    heap.kernelTmp(width);
  }

  protected get units(): number {
    return this.length / this.tokensPerUnit;
  }

  /** Make room for `tokens` tokens per row, keeping what is held. */
  reserve(tokens: number): void {
    const need = Math.ceil(tokens / this.tokensPerUnit);
    if (need <= this.capacity) return;
    let cap = this.capacity;
    while (cap < need) cap *= 2;
    const w = this.wordsPerUnit;
    const p = this.paramsPerUnit;
    const held = this.units;
    const heap = this.heap;
    const codes = heap.alloc(this.rows * cap * w * 4);
    const scales = heap.alloc(this.rows * cap * p * 2);
    const mins = heap.alloc(this.rows * cap * p * 2);
    for (let r = 0; r < this.rows; r++) {
      const from = r * this.capacity;
      heap.copy(codes + r * cap * w * 4, this.codes + from * w * 4, held * w * 4);
      heap.copy(scales + r * cap * p * 2, this.scales + from * p * 2, held * p * 2);
      heap.copy(mins + r * cap * p * 2, this.mins + from * p * 2, held * p * 2);
    }
    heap.free(this.codes);
    heap.free(this.scales);
    heap.free(this.mins);
    this.codes = codes;
    this.scales = scales;
    this.mins = mins;
    this.capacity = cap;
  }

  bytes(): ByteBreakdown {
    const params = this.rows * this.units * this.paramsPerUnit * 2;
    return { data: this.rows * this.units * this.wordsPerUnit * 4, scales: params, zeroPoints: params };
  }

  dispose(): void {
    this.heap.free(this.codes);
    this.heap.free(this.scales);
    this.heap.free(this.mins);
  }
}

/** Per-token groups of G consecutive channels (KIVI values, RTN). */
export class TokenQuantRows extends QuantRows {
  constructor(heap: KernelHeap, rows: number, width: number, groupSize: number, bits: QuantBits, initialTokens = 64) {
    super(heap, rows, width, groupSize, bits, 1, initialTokens);
  }

  /**
   * Quantize `tokens` tokens of every row into slots token0…token0+tokens−1 (< capacity): row r's
   * tokens are `width` floats each at src + (r·rowStride + j·width)·4 (heap pointer).
   */
  quantizeTokens(token0: number, tokens: number, src: number, rowStride: number): void {
    const w = this.wordsPerUnit;
    const p = this.paramsPerUnit;
    for (let r = 0; r < this.rows; r++) {
      const slot = r * this.capacity + token0;
      this.heap.quantChannels(src + r * rowStride * 4, tokens, this.width, this.width, this.groupSize, this.bits, this.codes + slot * w * 4, w, this.scales + slot * p * 2, this.mins + slot * p * 2, p);
    }
  }

  /** Dequantize the `length` tokens of `row` to out (heap pointer) as [length, width] f32. */
  dequantizeRow(row: number, out: number): void {
    const slot = row * this.capacity;
    const w = this.wordsPerUnit;
    const p = this.paramsPerUnit;
    this.heap.dequantChannels(this.codes + slot * w * 4, this.length, w, this.scales + slot * p * 2, this.mins + slot * p * 2, p, this.width, this.groupSize, this.bits, out, this.width);
  }
}

/** Per-channel groups of G consecutive tokens (KIVI keys); grows by whole G-token tiles. */
export class ChannelQuantRows extends QuantRows {
  constructor(heap: KernelHeap, rows: number, width: number, groupSize: number, bits: QuantBits, initialTokens = 64) {
    super(heap, rows, width, groupSize, bits, groupSize, initialTokens);
  }

  /** Quantize `tiles` tiles of G tokens of `row` ([tiles·G, width] f32 at heap pointer src) into tile slots from `tile`. */
  quantizeTiles(row: number, tile: number, tiles: number, src: number): void {
    const slot = row * this.capacity + tile;
    const w = this.wordsPerUnit;
    const p = this.paramsPerUnit;
    const G = this.groupSize;
    this.heap.quantTokens(src, tiles, G * this.width, this.width, G, this.bits, this.codes + slot * w * 4, w, this.scales + slot * p * 2, this.mins + slot * p * 2, p);
  }

  /** Dequantize the `length` tokens of `row` to out (heap pointer) as [length, width] f32. */
  dequantizeRow(row: number, out: number): void {
    const slot = row * this.capacity;
    const w = this.wordsPerUnit;
    const p = this.paramsPerUnit;
    const G = this.groupSize;
    this.heap.dequantTokens(this.codes + slot * w * 4, this.units, w, this.scales + slot * p * 2, this.mins + slot * p * 2, p, this.width, G, this.bits, out, G * this.width);
  }
}
