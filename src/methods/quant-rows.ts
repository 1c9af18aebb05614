import {
  dequantizeAlongChannels,
  dequantizeAlongTokens,
  quantizeAlongChannels,
  quantizeAlongTokens,
  type QuantBits,
} from '../kernels/quantize.js';
import type { ByteBreakdown } from './types.js';

/**
 * Growable storage of quantized tokens for `rows` independent rows (the B·H rows of a
 * [B, H, n, D] stream), all of the same length. Capacity doubles, so appends are amortised
 * O(1); bytes are reported for what is held, not for spare capacity.
 */
abstract class QuantRows {
  protected codes: Uint32Array;
  protected scales: Uint16Array;
  protected mins: Uint16Array;
  protected capacity: number;
  /** Tokens held per row. */
  length = 0;

  constructor(
    readonly rows: number,
    readonly width: number,
    readonly groupSize: number,
    readonly bits: QuantBits,
    /** Capacity unit in tokens (1 for per-token groups, G for per-channel groups). */
    unit: number,
    initialTokens: number,
  ) {
    this.capacity = Math.max(unit, Math.ceil(initialTokens / unit) * unit);
    this.codes = new Uint32Array(rows * this.capacity * this.wordsPerToken());
    this.scales = new Uint16Array(rows * this.capacity * this.paramsPerToken());
    this.mins = new Uint16Array(this.scales.length);
  }

  protected wordsPerToken(): number {
    return (this.width * this.bits) / 32;
  }

  protected abstract paramsPerToken(): number;

  /** Make room for `tokens` tokens per row, keeping what is held. */
  reserve(tokens: number): void {
    if (tokens <= this.capacity) return;
    let cap = this.capacity;
    while (cap < tokens) cap *= 2;
    const w = this.wordsPerToken();
    const p = this.paramsPerToken();
    const codes = new Uint32Array(this.rows * cap * w);
    const scales = new Uint16Array(this.rows * cap * p);
    const mins = new Uint16Array(scales.length);
    for (let r = 0; r < this.rows; r++) {
      codes.set(this.codes.subarray(r * this.capacity * w, (r * this.capacity + this.length) * w), r * cap * w);
      scales.set(this.scales.subarray(r * this.capacity * p, (r * this.capacity + this.length) * p), r * cap * p);
      mins.set(this.mins.subarray(r * this.capacity * p, (r * this.capacity + this.length) * p), r * cap * p);
    }
    this.codes = codes;
    this.scales = scales;
    this.mins = mins;
    this.capacity = cap;
  }

  bytes(): ByteBreakdown {
    const params = this.rows * this.length * this.paramsPerToken() * 2;
    return { data: this.rows * this.length * this.wordsPerToken() * 4, scales: params, zeroPoints: params };
  }
}

/** Per-token groups of G consecutive channels (KIVI values, RTN). */
export class TokenQuantRows extends QuantRows {
  constructor(rows: number, width: number, groupSize: number, bits: QuantBits, initialTokens = 64) {
    super(rows, width, groupSize, bits, 1, initialTokens);
  }

  protected paramsPerToken(): number {
    return this.width / this.groupSize;
  }

  /** Quantize one token of `row` (width floats at src[srcOffset..]) into slot `token` (< capacity). */
  quantizeToken(row: number, token: number, src: Float32Array, srcOffset: number): void {
    const slot = row * this.capacity + token;
    quantizeAlongChannels(
      src, srcOffset, this.width, this.groupSize, this.bits,
      this.codes, slot * this.wordsPerToken(), this.scales, this.mins, slot * this.paramsPerToken(),
    );
  }

  /** Dequantize the `length` tokens of `row` to out[outOffset..] as [length, width]. */
  dequantizeRow(row: number, out: Float32Array, outOffset: number): void {
    const w = this.wordsPerToken();
    const p = this.paramsPerToken();
    const base = row * this.capacity;
    for (let i = 0; i < this.length; i++) {
      dequantizeAlongChannels(
        this.codes, (base + i) * w, this.scales, this.mins, (base + i) * p,
        this.width, this.groupSize, this.bits, out, outOffset + i * this.width,
      );
    }
  }
}

/** Per-channel groups of G consecutive tokens (KIVI keys); grows by whole G-token tiles. */
export class ChannelQuantRows extends QuantRows {
  constructor(rows: number, width: number, groupSize: number, bits: QuantBits, initialTokens = 64) {
    super(rows, width, groupSize, bits, groupSize, initialTokens);
  }

  protected paramsPerToken(): number {
    // width params per G-token tile, i.e. width/G per token (kept fractional-free by the tile unit).
    return this.width / this.groupSize;
  }

  /** Quantize a tile of G tokens of `row` ([G, width] at src[srcOffset..]) into tile slot `tile`. */
  quantizeTile(row: number, tile: number, src: Float32Array, srcOffset: number): void {
    const first = row * this.capacity + tile * this.groupSize;
    quantizeAlongTokens(
      src, srcOffset, this.width, this.groupSize, this.bits,
      this.codes, first * this.wordsPerToken(), this.scales, this.mins, (first / this.groupSize) * this.width,
    );
  }

  dequantizeRow(row: number, out: Float32Array, outOffset: number): void {
    const tiles = this.length / this.groupSize;
    for (let g = 0; g < tiles; g++) {
      const first = row * this.capacity + g * this.groupSize;
      dequantizeAlongTokens(
        this.codes, first * this.wordsPerToken(), this.scales, this.mins, (first / this.groupSize) * this.width,
        this.width, this.groupSize, this.bits, out, outOffset + g * this.groupSize * this.width,
      );
    }
  }
}
