import {
  dequantizeAlongChannels,
  dequantizeAlongTokens,
  quantizeAlongChannels,
  quantizeAlongTokens,
  wordsPerGroup,
  type QuantBits,
} from '../kernels/quantize.js';
import type { ByteBreakdown } from './types.js';

/**
 * Growable storage of quantized tokens for `rows` independent rows (the B·H rows of a
 * [B, H, n, D] stream), all of the same length. Storage is in units (one token for per-token
 * groups, a tile of G tokens for per-channel groups); capacity doubles so appends are amortised
 * O(1); bytes are reported for what is held, not for spare capacity.
 */
abstract class QuantRows {
  protected codes: Uint32Array;
  protected scales: Uint16Array;
  protected mins: Uint16Array;
  /** Capacity per row, in units. */
  protected capacity: number;
  /** Tokens held per row (a multiple of tokensPerUnit). */
  length = 0;
  protected readonly wordsPerUnit: number;
  protected readonly paramsPerUnit: number;

  constructor(
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
    this.codes = new Uint32Array(rows * this.capacity * this.wordsPerUnit);
    this.scales = new Uint16Array(rows * this.capacity * this.paramsPerUnit);
    this.mins = new Uint16Array(this.scales.length);
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
    const codes = new Uint32Array(this.rows * cap * w);
    const scales = new Uint16Array(this.rows * cap * p);
    const mins = new Uint16Array(scales.length);
    for (let r = 0; r < this.rows; r++) {
      const from = r * this.capacity;
      codes.set(this.codes.subarray(from * w, (from + held) * w), r * cap * w);
      scales.set(this.scales.subarray(from * p, (from + held) * p), r * cap * p);
      mins.set(this.mins.subarray(from * p, (from + held) * p), r * cap * p);
    }
    this.codes = codes;
    this.scales = scales;
    this.mins = mins;
    this.capacity = cap;
  }

  bytes(): ByteBreakdown {
    const params = this.rows * this.units * this.paramsPerUnit * 2;
    return { data: this.rows * this.units * this.wordsPerUnit * 4, scales: params, zeroPoints: params };
  }
}

/** Per-token groups of G consecutive channels (KIVI values, RTN). */
export class TokenQuantRows extends QuantRows {
  constructor(rows: number, width: number, groupSize: number, bits: QuantBits, initialTokens = 64) {
    super(rows, width, groupSize, bits, 1, initialTokens);
  }

  /** Quantize one token of `row` (width floats at src[srcOffset..]) into slot `token` (< capacity). */
  quantizeToken(row: number, token: number, src: Float32Array, srcOffset: number): void {
    const slot = row * this.capacity + token;
    quantizeAlongChannels(
      src, srcOffset, this.width, this.groupSize, this.bits,
      this.codes, slot * this.wordsPerUnit, this.scales, this.mins, slot * this.paramsPerUnit,
    );
  }

  /** Dequantize the `length` tokens of `row` to out[outOffset..] as [length, width]. */
  dequantizeRow(row: number, out: Float32Array, outOffset: number): void {
    const base = row * this.capacity;
    for (let i = 0; i < this.length; i++) {
      dequantizeAlongChannels(
        this.codes, (base + i) * this.wordsPerUnit, this.scales, this.mins, (base + i) * this.paramsPerUnit,
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

  /** Quantize a tile of G tokens of `row` ([G, width] at src[srcOffset..]) into tile slot `tile`. */
  quantizeTile(row: number, tile: number, src: Float32Array, srcOffset: number): void {
    const slot = row * this.capacity + tile;
    quantizeAlongTokens(
      src, srcOffset, this.width, this.groupSize, this.bits,
      this.codes, slot * this.wordsPerUnit, this.scales, this.mins, slot * this.paramsPerUnit,
    );
  }

  dequantizeRow(row: number, out: Float32Array, outOffset: number): void {
    const tiles = this.units;
    for (let g = 0; g < tiles; g++) {
      const slot = row * this.capacity + g;
      dequantizeAlongTokens(
        this.codes, slot * this.wordsPerUnit, this.scales, this.mins, slot * this.paramsPerUnit,
        this.width, this.groupSize, this.bits, out, outOffset + g * this.groupSize * this.width,
      );
    }
  }
}
