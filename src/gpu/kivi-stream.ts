/**
 * KIVI on the device with the exact streaming rules of KiviStore (spec §3.3), all lengths being
 * functions of n alone:
 *  - keys: quantized tokens nq = n − n mod R in tiles of G, fp16 tail of n mod R tokens; an append
 *    that fills the tail to R quantizes it whole (R/G tiles) and empties it;
 *  - values: nq = max(0, n − R) tokens quantized one by one, tail = the last min(n, R) tokens; an
 *    append to a full window quantizes the oldest tail token.
 * Slots: 'codes' int32, 'scale', 'min' (kv dtype), 'tail' (kv dtype, [B,KV,r,D]), each present
 * only when non-empty (WebGPU dislikes zero-size tensors, and the variant says which exist).
 */
import type { ByteBreakdown } from '../methods/types.js';
import { DataType, type GraphKit } from './graph-kit.js';
import { dequantizeChannels, dequantizeTokens, quantizeChannels, quantizeTokens, type KiviShape, type QuantParts } from './kivi-graph.js';
import { DeviceStream, type SlotSpec, type SlotUpdate, type StreamShape } from './stream.js';

export interface KiviStreamOptions {
  bits: 2 | 4 | 8;
  groupSize: number;
  residual: number;
}

const END = 2 ** 62;

export class KiviStream extends DeviceStream {
  private readonly q: KiviShape;

  constructor(id: string, shape: StreamShape, readonly role: 'key' | 'value', private readonly kvType: DataType, readonly options: KiviStreamOptions) {
    super(id, shape);
    const { bits, groupSize: G, residual: R } = options;
    if (shape.D % G !== 0) throw new Error(`kivi (device): head dim ${shape.D} is not a multiple of the group size ${G}`);
    if (R % G !== 0) throw new Error(`kivi (device): residual ${R} is not a multiple of the group size ${G}`);
    if ((G * bits) % 32 !== 0) throw new Error(`kivi (device): group size ${G} × ${bits} bits does not fill whole 32-bit words`);
    this.q = { B: shape.B, KV: shape.KV, D: shape.D, bits, G };
  }

  /** Quantized tokens and fp16 tail length at length n. */
  static lengths(role: 'key' | 'value', R: number, n: number): { quantized: number; tail: number } {
    if (role === 'key') return { quantized: n - (n % R), tail: n % R };
    return { quantized: Math.max(0, n - R), tail: Math.min(n, R) };
  }

  slotSpec(slot: string): SlotSpec {
    const { B, KV, D } = this.shape;
    const { bits, groupSize: G } = this.options;
    const key = this.role === 'key';
    switch (slot) {
      case 'codes':
        return { type: DataType.INT32, shape: key ? [B, KV, 'w', D] : [B, KV, 'n', (D * bits) / 32] };
      case 'scale':
      case 'min':
        return { type: this.kvType, shape: key ? [B, KV, 'g', D] : [B, KV, 'n', D / G] };
      case 'tail':
        return { type: this.kvType, shape: [B, KV, 'r', D] };
      default:
        throw new Error(`kivi stream: no slot ${slot}`);
    }
  }

  protected component(slot: string): keyof ByteBreakdown {
    return slot === 'codes' ? 'data' : slot === 'scale' ? 'scales' : slot === 'min' ? 'zeroPoints' : 'residual';
  }

  private parts(g: GraphKit): QuantParts {
    return { codes: this.input(g, 'codes'), scale: this.input(g, 'scale'), min: this.input(g, 'min') };
  }

  private quantize(g: GraphKit, x32: string): QuantParts {
    return this.role === 'key' ? quantizeChannels(g, x32, this.q) : quantizeTokens(g, x32, this.q);
  }

  readVariant(): string {
    return `k${this.has('codes') ? 'q' : ''}${this.has('tail') ? 't' : ''}`;
  }

  emitRead(g: GraphKit, asKv: boolean): string {
    const parts: string[] = [];
    if (this.has('codes')) {
      parts.push(this.role === 'key' ? dequantizeChannels(g, this.parts(g), this.q, asKv) : dequantizeTokens(g, this.parts(g), this.q, asKv));
    }
    if (this.has('tail')) {
      const t = this.input(g, 'tail');
      parts.push(asKv ? t : g.toF32(t));
    }
    if (parts.length === 0) throw new Error(`${this.id}: read of an empty stream`);
    return g.concat(parts, 2);
  }

  appendVariant(tokens: number): string {
    const R = this.options.residual;
    const base = `${this.readVariant()}+${tokens}`;
    if (this.n === 0) return base; // prefill: the split is baked in from `tokens`
    if (tokens !== 1) throw new Error(`${this.id}: decode appends one token at a time`);
    const { tail } = KiviStream.lengths(this.role, R, this.n);
    if (this.role === 'key') return `${base}${tail + 1 === R ? 'f' : ''}`;
    return `${base}${tail === R ? 'e' : ''}`;
  }

  emitAppend(g: GraphKit, x: string, tokens: number): SlotUpdate {
    return this.n === 0 ? this.emitPrefill(g, x, tokens) : this.role === 'key' ? this.emitKeyStep(g, x) : this.emitValueStep(g, x);
  }

  private addQuantized(g: GraphKit, x32: string): SlotUpdate {
    const p = this.quantize(g, x32);
    if (!this.has('codes')) return { codes: p.codes, scale: p.scale, min: p.min };
    const old = this.parts(g);
    return {
      codes: g.concat([old.codes, p.codes], 2),
      scale: g.concat([old.scale, p.scale], 2),
      min: g.concat([old.min, p.min], 2),
    };
  }

  private emitPrefill(g: GraphKit, x: string, T: number): SlotUpdate {
    const { quantized: nq, tail } = KiviStream.lengths(this.role, this.options.residual, T);
    let update: SlotUpdate = {};
    if (nq > 0) update = this.addQuantized(g, g.toF32(tail > 0 ? g.slice(x, 2, 0, nq) : x));
    if (tail > 0) update.tail = nq > 0 ? g.slice(x, 2, nq, END) : x;
    return update;
  }

  private emitKeyStep(g: GraphKit, x: string): SlotUpdate {
    const R = this.options.residual;
    const { tail } = KiviStream.lengths('key', R, this.n);
    const full = this.has('tail') ? g.concat([this.input(g, 'tail'), x], 2) : x;
    if (tail + 1 < R) return { tail: full };
    return { ...this.addQuantized(g, g.toF32(full)), tail: null };
  }

  private emitValueStep(g: GraphKit, x: string): SlotUpdate {
    const R = this.options.residual;
    const { tail } = KiviStream.lengths('value', R, this.n);
    const full = this.has('tail') ? g.concat([this.input(g, 'tail'), x], 2) : x;
    if (tail < R) return { tail: full };
    // The window is full: its oldest token leaves it, quantized.
    return { ...this.addQuantized(g, g.toF32(g.slice(full, 2, 0, 1))), tail: g.slice(full, 2, 1, END) };
  }
}
