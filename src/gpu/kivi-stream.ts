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
import { DataType, halfIndices, type GraphKit } from './graph-kit.js';
import { dequantizeChannels, dequantizeTokens, quantizeChannels, quantizeTokens, type KiviShape, type QuantParts, type ReadParts } from './kivi-graph.js';
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
        return { type: DataType.INT32, shape: [B, KV, 'n', (D * bits) / 32] };
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
    return this.emitReadOf(g, this.has('codes') ? this.parts(g) : null, this.has('tail') ? this.input(g, 'tail') : null, this.shape.B, asKv);
  }

  /** Dequantized codes (if any) followed by the fp16 tail (if any), over `rows` rows of this stream's kind. */
  private emitReadOf(g: GraphKit, p: ReadParts | null, tail: string | null, rows: number, asKv: boolean): string {
    const parts: string[] = [];
    if (p) {
      const q = { ...this.q, B: rows };
      parts.push(this.role === 'key' ? dequantizeChannels(g, p, q, asKv) : dequantizeTokens(g, p, q, asKv));
    }
    if (tail) parts.push(asKv ? tail : g.toF32(tail));
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
    const plan = this.planAppend(g, x, tokens);
    return plan.quant ? { ...this.withQuantized(g, this.quantize(g, g.toF32(plan.quant))), ...plan.rest } : plan.rest;
  }

  /**
   * What an append does under the streaming rules: the tokens it quantizes (kv dtype, or null)
   * and the rest of its update (the new tail, or its removal).
   */
  private planAppend(g: GraphKit, x: string, tokens: number): { quant: string | null; rest: SlotUpdate } {
    const R = this.options.residual;
    if (this.n === 0) {
      // Prefill: the split between quantized tokens and tail is baked in from `tokens`.
      const { quantized: nq, tail } = KiviStream.lengths(this.role, R, tokens);
      return {
        quant: nq > 0 ? (tail > 0 ? g.slice(x, 2, 0, nq) : x) : null,
        rest: tail > 0 ? { tail: nq > 0 ? g.slice(x, 2, nq, END) : x } : {},
      };
    }
    const { tail } = KiviStream.lengths(this.role, R, this.n);
    const full = this.has('tail') ? g.concat([this.input(g, 'tail'), x], 2) : x;
    if (this.role === 'key') {
      // A tail that reaches R tokens is quantized whole and emptied.
      return tail + 1 < R ? { quant: null, rest: { tail: full } } : { quant: full, rest: { tail: null } };
    }
    // Values: a full window's oldest token leaves it, quantized.
    return tail < R ? { quant: null, rest: { tail: full } } : { quant: g.slice(full, 2, 0, 1), rest: { tail: g.slice(full, 2, 1, END) } };
  }

  private withQuantized(g: GraphKit, p: QuantParts): SlotUpdate {
    if (!this.has('codes')) return { codes: p.codes, scale: p.scale, min: p.min };
    const old = this.parts(g);
    return {
      codes: g.concat([old.codes, p.codes], 2),
      scale: g.concat([old.scale, p.scale], 2),
      min: g.concat([old.min, p.min], 2),
    };
  }

  /**
   * Reads the stream in row chunks (sizes summing to B), one dequantizer per chunk: more
   * dispatches than one read, but every full-size intermediate is a chunk's, small enough for the
   * runtime's buffer cache (see layersPerChunk).
   */
  emitReadChunks(g: GraphKit, sizes: readonly number[], asKv: boolean): string[] {
    if (sizes.length === 1) return [this.emitRead(g, asKv)];
    const cut = (slot: string) => (this.has(slot) ? g.split(this.input(g, slot), sizes, 0) : null);
    // The Gather indices are made once over all words and split with the other parts.
    const idx = this.has('codes') ? g.split(halfIndices(g, this.input(g, 'codes')), sizes, 0) : null;
    const scale = cut('scale');
    const min = cut('min');
    const tail = cut('tail');
    return sizes.map((rows, i) => this.emitReadOf(g, idx ? { idx: idx[i]!, scale: scale![i]!, min: min![i]! } : null, tail ? tail[i]! : null, rows, asKv));
  }

  /** True when `others` can share this stream's quantizer and dequantizer (same role, options and length). */
  jointWith(others: readonly DeviceStream[]): others is KiviStream[] {
    return others.every(
      (o) =>
        o instanceof KiviStream &&
        o.role === this.role &&
        o.n === this.n &&
        o.shape.KV === this.shape.KV &&
        o.shape.D === this.shape.D &&
        o.kvType === this.kvType &&
        o.options.bits === this.options.bits &&
        o.options.groupSize === this.options.groupSize &&
        o.options.residual === this.options.residual,
    );
  }

  /**
   * Appends to several streams of one kind (see jointWith) in one graph, with ONE quantizer over
   * their rows stacked along the batch axis: quantization groups never span rows, so the codes are
   * those of separate quantizers, for half the dispatches. Equal lengths make every stream take
   * the same branch of the streaming rules.
   */
  static emitAppendJoint(g: GraphKit, streams: readonly KiviStream[], xs: readonly string[], tokens: number): SlotUpdate[] {
    const plans = streams.map((s, i) => s.planAppend(g, xs[i]!, tokens));
    if (plans.every((p) => !p.quant)) return plans.map((p) => p.rest);
    if (!plans.every((p) => p.quant)) throw new Error('kivi (device): joint append of streams at different points of the streaming rules');
    const first = streams[0]!;
    const sizes = streams.map((s) => s.shape.B);
    const q = { ...first.q, B: sizes.reduce((a, b) => a + b, 0) };
    const x32 = g.toF32(g.concat(plans.map((p) => p.quant!), 0));
    const parts = first.role === 'key' ? quantizeChannels(g, x32, q) : quantizeTokens(g, x32, q);
    const codes = g.split(parts.codes, sizes, 0);
    const scale = g.split(parts.scale, sizes, 0);
    const min = g.split(parts.min, sizes, 0);
    return streams.map((s, i) => ({ ...s.withQuantized(g, { codes: codes[i]!, scale: scale[i]!, min: min[i]! }), ...plans[i]!.rest }));
  }

  /** Reads several streams of one kind (see jointWith) with ONE dequantizer: [ΣB, KV, n, D], stacked in order. */
  static emitReadJoint(g: GraphKit, streams: readonly KiviStream[], asKv: boolean): string {
    const first = streams[0]!;
    const cat = (slot: string) => g.concat(streams.map((s) => s.input(g, slot)), 0);
    const p = first.has('codes') ? { codes: cat('codes'), scale: cat('scale'), min: cat('min') } : null;
    const rows = streams.reduce((a, s) => a + s.shape.B, 0);
    return first.emitReadOf(g, p, first.has('tail') ? cat('tail') : null, rows, asKv);
  }
}
