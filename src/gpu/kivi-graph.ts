/**
 * KIVI's quantizer (spec §3.1–3.2) as graph fragments, bit-compatible with src/kernels/quantize.ts:
 * mn = min g, scale = (max g − mn)/(2^b − 1), both rounded to the storage dtype;
 * q = roundHalfEven(clamp((x − mn)/scale, 0, 2^b − 1)); a group whose scale is not positive
 * stores scale 0 and codes 0. Codes are packed into int32 words (packWords).
 *
 * Layouts on the device (rows = B·KV, static B, KV, D; token counts dynamic):
 *  - values, per-token groups of G channels: codes [B,KV,n,D·b/32], scale/min [B,KV,n,D/G];
 *  - keys, per-channel groups of G tokens: scale/min [B,KV,n/G,D] as in KIVI, but the codes are
 *    packed along channels like the values' ([B,KV,n,D·b/32]), where KIVI and the host kernels pack
 *    a key word along tokens (spec §3.2). Same bits per code and the same bytes held; the grouping
 *    is untouched. The token-major order would cost a full-size Transpose on every read, and no
 *    consumer here needs KIVI's order (its fused CUDA kernels do).
 * The arithmetic is float32, as in the reference (each operation rounded once); WGSL guarantees
 * division only to 2.5 ULP, so on a GPU a code can still differ by one next to a rounding tie
 * (tests bound it). Dequantization can also run in the kv dtype (asKv), as KIVI's own code does.
 */
import { DataType, attr, gatherCodes, halfIndices, packWords, type GraphKit } from './graph-kit.js';

export interface KiviShape {
  B: number;
  KV: number;
  D: number;
  bits: number;
  G: number;
}

export interface QuantParts {
  codes: string;
  scale: string;
  min: string;
}

/** What a dequantizer reads: the parts, or instead of the codes their Gather indices already made (halfIndices). */
export type ReadParts = Omit<QuantParts, 'codes'> & ({ codes: string; idx?: undefined } | { codes?: undefined; idx: string });

function codesOf(g: GraphKit, p: ReadParts, bits: number, dims: readonly number[], type: DataType): string {
  return gatherCodes(g, p.idx ?? halfIndices(g, p.codes!), bits, dims, type);
}

/** Core of the quantizer over groups on `axis` of a float32 tensor x. Returns float codes and kv-dtype params (keepdims). */
function quantCore(g: GraphKit, x: string, axis: number, bits: number): { q: string; scale: string; min: string } {
  const levels = 2 ** bits - 1;
  const mn = g.reduce('ReduceMin', x, axis);
  const mx = g.reduce('ReduceMax', x, axis);
  const minKv = g.toKv(mn);
  const mnF = g.toF32(minKv);
  const scF = g.throughKv(g.op('Div', [g.op('Sub', [mx, mnF]), g.f(levels)]));
  const pos = g.op('Greater', [scF, g.f(0)]);
  const den = g.where(pos, scF, g.f(1));
  const v = g.op('Clip', [g.op('Div', [g.op('Sub', [x, mnF]), den]), g.f(0), g.f(levels)]);
  const q = g.where(pos, g.roundHalfEven(v), g.f(0));
  const scale = g.toKv(g.where(pos, scF, g.f(0)));
  return { q, scale, min: minKv };
}

/** Values: x float32 [B,KV,t,D] → per-token groups of G channels. */
export function quantizeTokens(g: GraphKit, x: string, s: KiviShape): QuantParts {
  const { B, KV, D, bits, G } = s;
  const xr = g.reshape(x, [B, KV, -1, D / G, G]);
  const { q, scale, min } = quantCore(g, xr, -1, bits);
  const words = (D * bits) / 32;
  const codes = packWords(g, g.reshape(q, [B, KV, -1, words, 32 / bits]), bits, [B, KV, -1, words]);
  return { codes, scale: g.reshape(scale, [B, KV, -1, D / G]), min: g.reshape(min, [B, KV, -1, D / G]) };
}

/**
 * Values: parts → [B,KV,n,D], float32, or with `asKv` the kv dtype computed in the kv dtype:
 * x̂ = q·scale + min with scale and min as stored, as KIVI's own code does in the activation dtype.
 * That halves the bytes of every full-size intermediate of a restore (and keeps tensors small
 * enough for the WebGPU EP's buffer cache); each result is within about one fp16 ulp of the
 * float32 computation rounded once.
 */
export function dequantizeTokens(g: GraphKit, p: ReadParts, s: KiviShape, asKv = false): string {
  const { B, KV, D, bits, G } = s;
  const words = (D * bits) / 32;
  const type = asKv ? g.kvType : DataType.FLOAT;
  const c = g.reshape(codesOf(g, p, bits, [B, KV, -1, words], type), [B, KV, -1, D / G, G]);
  const param = (x: string) => g.op('Unsqueeze', [asKv ? x : g.toF32(x), g.i64([-1])]);
  return g.reshape(g.op('Add', [g.op('Mul', [c, param(p.scale)]), param(p.min)]), [B, KV, -1, D]);
}

/**
 * Keys: x float32 [B,KV,t,D] with t a multiple of G → per-channel groups of G tokens. The codes of
 * a token row are packed along channels (see the layouts above), so neither this nor the read
 * transposes a full-size tensor.
 */
export function quantizeChannels(g: GraphKit, x: string, s: KiviShape): QuantParts {
  const { B, KV, D, bits, G } = s;
  const xr = g.reshape(x, [B, KV, -1, G, D]);
  const { q, scale, min } = quantCore(g, xr, 3, bits);
  const words = (D * bits) / 32;
  const codes = packWords(g, g.reshape(q, [B, KV, -1, words, 32 / bits]), bits, [B, KV, -1, words]);
  return { codes, scale: g.reshape(scale, [B, KV, -1, D]), min: g.reshape(min, [B, KV, -1, D]) };
}

/** Keys: parts → [B,KV,n,D], float32 or (asKv) the kv dtype, as dequantizeTokens. */
export function dequantizeChannels(g: GraphKit, p: ReadParts, s: KiviShape, asKv = false): string {
  const { B, KV, D, bits, G } = s;
  const words = (D * bits) / 32;
  const type = asKv ? g.kvType : DataType.FLOAT;
  const c = g.reshape(codesOf(g, p, bits, [B, KV, -1, words], type), [B, KV, -1, G, D]);
  const param = (x: string) => g.op('Unsqueeze', [asKv ? x : g.toF32(x), g.i64([3])]);
  return g.reshape(g.op('Add', [g.op('Mul', [c, param(p.scale)]), param(p.min)]), [B, KV, -1, D]);
}

export { DataType };
