/**
 * KIVI on the device (spec §3): WGSL for the prompt's quantization, the per-step append (key tail
 * flushed R tokens at a time, value window sliding one token), and the PastReader that decode
 * attention dequantizes through. Reference: the host KiviStore (src/methods/kivi-store.ts) and
 * its quantizer (src/kernels/quantize.ts), whose layouts and byte counts these buffers follow:
 *
 *  keys, per row (sequence × KV head):  codes  [tiles][wpg][D] u32 (tile = G tokens, a channel's
 *                                        G codes in wpg words, lowest bits first)
 *                                       scales, mins [tiles][D] fp16;  tail [R][D] fp16 (slot j mod R)
 *  values, per row:                     codes  [tokens][D/G][wpg] u32;  scales, mins [tokens][D/G] fp16
 *                                       window [R][D] fp16 (ring: slot j mod R)
 *
 * Everything is a function of the number of tokens held (n = the step's slot), the same for every
 * sequence of a batch: quantized keys R·⌊n/R⌋ (tail n mod R); quantized values max(0, n − R)
 * (window min(n, R)). Quantizing: min and max of the fp16 group; mn and scale = (max − mn)/(2^b − 1)
 * rounded to fp16 (scale 0 when not positive); code = round-half-even(clamp((x − mn)/scale)).
 */
import { LINEAR_GROUP } from '../gpu-context.js';

export interface KiviShape {
  bits: 2 | 4 | 8;
  groupSize: number;
  residual: number;
  kvHeads: number;
  headDim: number;
  /** Sequences of the store. */
  batch: number;
  /** Slots per sequence the store holds at most. */
  cap: number;
}

export interface KiviLayout {
  perWord: number;
  /** u32 words per group of G codes. */
  wpg: number;
  /** Key tiles per row (capacity). */
  tiles: number;
  /** Quantized value tokens per row (capacity). */
  vq: number;
  rows: number;
}

/** Why the device can't hold these options (the host store still can), or null. */
export function kiviDeviceProblem(s: { bits: number; groupSize: number; residual: number; headDim: number }): string | null {
  if (![2, 4, 8].includes(s.bits)) return `bits ${s.bits}`;
  if ((s.groupSize * s.bits) % 32 !== 0) return `group size ${s.groupSize} × ${s.bits} bits is not a whole number of 32-bit words`;
  if (s.residual % s.groupSize !== 0) return `residual ${s.residual} is not a multiple of the group size`;
  if (s.headDim % s.groupSize !== 0 || s.headDim % 8 !== 0) return `head dim ${s.headDim} is not a multiple of the group size ${s.groupSize} (and of 8)`;
  // a token's value groups fill whole words of fp16 scales and mins, so no two threads share one
  if ((s.headDim / s.groupSize) % 2 !== 0) return `head dim ${s.headDim} holds an odd number of value groups of ${s.groupSize}`;
  return null;
}

export function kiviLayout(s: KiviShape): KiviLayout {
  const perWord = 32 / s.bits;
  const wpg = (s.groupSize * s.bits) / 32;
  const R = s.residual;
  return {
    perWord,
    wpg,
    tiles: Math.floor(s.cap / R) * (R / s.groupSize),
    vq: Math.max(0, s.cap - R),
    rows: s.batch * s.kvHeads,
  };
}

/** Buffer sizes in bytes, in binding order. */
export function kiviBufferBytes(s: KiviShape): { kCodes: number; kScale: number; kMin: number; kTail: number; vCodes: number; vScale: number; vMin: number; vRing: number } {
  const L = kiviLayout(s);
  const D = s.headDim;
  const G = s.groupSize;
  return {
    kCodes: L.rows * L.tiles * L.wpg * D * 4,
    kScale: L.rows * L.tiles * D * 2,
    kMin: L.rows * L.tiles * D * 2,
    kTail: L.rows * s.residual * D * 2,
    vCodes: L.rows * L.vq * (D / G) * L.wpg * 4,
    vScale: L.rows * L.vq * (D / G) * 2,
    vMin: L.rows * L.vq * (D / G) * 2,
    vRing: L.rows * s.residual * D * 2,
  };
}

/** WGSL: the quantizer of one group (values already fp16-rounded), as src/kernels/quantize.ts. */
function quantizer(s: KiviShape, L: KiviLayout): string {
  const G = s.groupSize;
  const levels = (1 << s.bits) - 1;
  return `struct QGroup { words: array<u32, ${L.wpg}>, sc: u32, mn: u32 }
fn h16(x: f32) -> u32 { return pack2x16float(vec2f(x, 0.0)) & 0xffffu; }
fn f16v(h: u32) -> f32 { return unpack2x16float(h).x; }
fn quantGroup(x: ptr<function, array<f32, ${G}>>) -> QGroup {
  var mn = (*x)[0];
  var mx = (*x)[0];
  for (var e = 1u; e < ${G}u; e++) { mn = min(mn, (*x)[e]); mx = max(mx, (*x)[e]); }
  var q: QGroup;
  q.mn = h16(mn);
  let mnf = f16v(q.mn);
  q.sc = h16((mx - mnf) / ${levels}.0);
  var sc = f16v(q.sc);
  if (!(sc > 0.0)) { sc = 0.0; q.sc = 0u; }
  for (var w = 0u; w < ${L.wpg}u; w++) { q.words[w] = 0u; }
  if (sc > 0.0) {
    for (var e = 0u; e < ${G}u; e++) {
      let c = u32(round(clamp(((*x)[e] - mnf) / sc, 0.0, ${levels}.0)));
      q.words[e / ${L.perWord}u] |= c << ((e % ${L.perWord}u) * ${s.bits}u);
    }
  }
  return q;
}
`;
}

export const KIVI_REGIONS = ['kCodes', 'kScale', 'kMin', 'kTail', 'vCodes', 'vScale', 'vMin', 'vRing'] as const;

/** Word offsets of the eight regions in one layer's buffer, and its size in bytes. */
export function kiviRegions(s: KiviShape): { offsets: Record<(typeof KIVI_REGIONS)[number], number>; bytes: number } {
  const sizes = kiviBufferBytes(s);
  const offsets = {} as Record<(typeof KIVI_REGIONS)[number], number>;
  let at = 0;
  for (const r of KIVI_REGIONS) {
    offsets[r] = at / 4;
    at += sizes[r];
  }
  return { offsets, bytes: at };
}

/**
 * One storage binding `kv` for a layer's eight regions (a WebGPU stage has as few as 8–12
 * storage bindings: SwiftShader offers 12), and the WGSL `body` with region[i] rewritten to kv[off + i].
 */
function packed(s: KiviShape, binding: number, access: 'read' | 'read_write', body: string): string {
  const { offsets } = kiviRegions(s);
  const re = new RegExp(`\\b(${KIVI_REGIONS.join('|')})\\[`, 'g');
  return `@group(0) @binding(${binding}) var<storage, ${access}> kv: array<u32>;\n` + body.replace(re, (_m, name: string) => `kv[${offsets[name as (typeof KIVI_REGIONS)[number]]}u + `).replace(/kv\[(\d+)u \+ ([^\]]*)\]/g, 'kv[$1u + ($2)]');
}

/**
 * The reader decode attention dequantizes through (PastReader: k8, v2). `prm.slot` is n, the
 * number of past tokens held. `branchFree`: k8, v2 and v8 load both the quantized form (at a slot
 * clamped into its region) and the fp16 tail or window, and select, instead of branching on the
 * slot's region: a variant for the benches (PastReader.variants), to see whether the branch keeps
 * an unrolled group's loads ('rowsu') from going out together.
 */
export function kiviReaderWgsl(s: KiviShape, f: number, branchFree = false): string {
  const L = kiviLayout(s);
  const { headDim: D, groupSize: G, residual: R, kvHeads: KV } = s;
  const mask = (1 << s.bits) - 1;
  // the last slot each quantized region can hold: a branch-free read clamps to it
  const lastK = Math.max(L.tiles * G, 1) - 1;
  const lastV = Math.max(L.vq, 1) - 1;
  const pick: Pick = (quant, plain, cond, type) =>
    branchFree
      ? `let qv = ${quant}; let pv = ${plain}; let uq = ${cond};
  return ${type === 'Half8' ? 'Half8(select(pv.lo, qv.lo, uq), select(pv.hi, qv.hi, uq))' : 'select(pv, qv, uq)'};`
      : `if (${cond}) { return ${quant}; }
  return ${plain};`;
  return packed(s, f, 'read', `
fn kQuant8(row: u32, j: u32, i: u32) -> Half8 {
  let t = j / ${G}u;
  let e = j % ${G}u;
  let sh = (e % ${L.perWord}u) * ${s.bits}u;
  let cb = ((row * ${L.tiles}u + t) * ${L.wpg}u + e / ${L.perWord}u) * ${D}u + 8u * i;
  let pb = ((row * ${L.tiles}u + t) * ${D}u + 8u * i) / 2u;
  var lo: vec4f;
  var hi: vec4f;
  for (var c = 0u; c < 4u; c++) {
    lo[c] = f32((kCodes[cb + c] >> sh) & ${mask}u);
    hi[c] = f32((kCodes[cb + 4u + c] >> sh) & ${mask}u);
  }
  let s0 = unpack2x16float(kScale[pb]); let s1 = unpack2x16float(kScale[pb + 1u]);
  let s2 = unpack2x16float(kScale[pb + 2u]); let s3 = unpack2x16float(kScale[pb + 3u]);
  let m0 = unpack2x16float(kMin[pb]); let m1 = unpack2x16float(kMin[pb + 1u]);
  let m2 = unpack2x16float(kMin[pb + 2u]); let m3 = unpack2x16float(kMin[pb + 3u]);
  return Half8(lo * vec4f(s0, s1) + vec4f(m0, m1), hi * vec4f(s2, s3) + vec4f(m2, m3));
}
fn kTail8(row: u32, j: u32, i: u32) -> Half8 {
  let tb = ((row * ${R}u + j % ${R}u) * ${D}u + 8u * i) / 2u;
  return Half8(vec4f(unpack2x16float(kTail[tb]), unpack2x16float(kTail[tb + 1u])), vec4f(unpack2x16float(kTail[tb + 2u]), unpack2x16float(kTail[tb + 3u])));
}
fn k8(b: u32, kvh: u32, j: u32, i: u32) -> Half8 {
  let row = b * ${KV}u + kvh;
  let nq = (prm.slot / ${R}u) * ${R}u;
  ${pick(`kQuant8(row, min(j, ${lastK}u), i)`, 'kTail8(row, j, i)', 'j < nq', 'Half8')}
}
fn vQuant2(row: u32, j: u32, w: u32) -> vec2f {
  let c = 2u * w;
  let g = c / ${G}u;
  let e = c % ${G}u;
  let sh = (e % ${L.perWord}u) * ${s.bits}u;
  let p = (row * ${L.vq}u + j) * ${D / G}u + g;
  let word = vCodes[p * ${L.wpg}u + e / ${L.perWord}u];
  let sc = unpack2x16float(vScale[p >> 1u])[p & 1u];
  let mn = unpack2x16float(vMin[p >> 1u])[p & 1u];
  return vec2f(f32((word >> sh) & ${mask}u), f32((word >> (sh + ${s.bits}u)) & ${mask}u)) * sc + mn;
}
fn v2(b: u32, kvh: u32, j: u32, w: u32) -> vec2f {
  let row = b * ${KV}u + kvh;
  let nqv = select(0u, prm.slot - ${R}u, prm.slot > ${R}u);
  ${pick(`vQuant2(row, min(j, ${lastV}u), w)`, `unpack2x16float(vRing[((row * ${R}u + j % ${R}u) * ${D}u) / 2u + w])`, 'j < nqv', 'vec2f')}
}
${kiviV8Wgsl(s, pick, lastV)}${kiviKeyTileWgsl(s)}`);
}

/** Where a reader function returns its quantized or its fp16 form: a branch, or both and a select. */
type Pick = (quant: string, plain: string, cond: string, type: 'Half8' | 'vec2f') => string;

/** Slots of a key tile (PastReader.kTile): a code word holds one channel of this many tokens. */
export function kiviKeyTile(s: { bits: number }): number {
  return 32 / s.bits;
}

/**
 * The key tiles for kiviReaderWgsl: chunk i (channels 8i..8i+7) of the 32/bits slots whose codes
 * share a word is eight code words, eight scales and eight mins, loaded once for all those slots
 * (k8 loads the same sixteen words for each slot). kTileGet dequantizes as k8 does.
 */
function kiviKeyTileWgsl(s: KiviShape): string {
  const L = kiviLayout(s);
  const { headDim: D, groupSize: G, residual: R, kvHeads: KV } = s;
  const mask = (1 << s.bits) - 1;
  return `struct KTile { lo: vec4<u32>, hi: vec4<u32>, s: Half8, m: Half8 }
fn kTileWhole(j0: u32) -> bool { return j0 + ${L.perWord}u <= (prm.slot / ${R}u) * ${R}u; }
fn kTileLoad(b: u32, kvh: u32, j0: u32, i: u32) -> KTile {
  let row = b * ${KV}u + kvh;
  let t = j0 / ${G}u;
  let cb = ((row * ${L.tiles}u + t) * ${L.wpg}u + (j0 % ${G}u) / ${L.perWord}u) * ${D}u + 8u * i;
  let pb = ((row * ${L.tiles}u + t) * ${D}u + 8u * i) / 2u;
  return KTile(
    vec4<u32>(kCodes[cb], kCodes[cb + 1u], kCodes[cb + 2u], kCodes[cb + 3u]),
    vec4<u32>(kCodes[cb + 4u], kCodes[cb + 5u], kCodes[cb + 6u], kCodes[cb + 7u]),
    Half8(vec4f(unpack2x16float(kScale[pb]), unpack2x16float(kScale[pb + 1u])), vec4f(unpack2x16float(kScale[pb + 2u]), unpack2x16float(kScale[pb + 3u]))),
    Half8(vec4f(unpack2x16float(kMin[pb]), unpack2x16float(kMin[pb + 1u])), vec4f(unpack2x16float(kMin[pb + 2u]), unpack2x16float(kMin[pb + 3u]))));
}
fn kTileGet(t: KTile, e: u32) -> Half8 {
  let sh = vec4<u32>(e * ${s.bits}u);
  let lo = vec4f((t.lo >> sh) & vec4<u32>(${mask}u));
  let hi = vec4f((t.hi >> sh) & vec4<u32>(${mask}u));
  return Half8(lo * t.s.lo + t.m.lo, hi * t.s.hi + t.m.hi);
}
`;
}

/** Whether eight value channels (8i..8i+7) sit in one code word: one word, one scale, one min. */
export function kiviHasV8(s: KiviShape): boolean {
  return s.groupSize % 8 === 0 && 32 / s.bits >= 8;
}

/** v8 for kiviReaderWgsl where kiviHasV8: the eight channels' codes from one word. */
function kiviV8Wgsl(s: KiviShape, pick: Pick, lastV: number): string {
  if (!kiviHasV8(s)) return '';
  const L = kiviLayout(s);
  const { headDim: D, groupSize: G, residual: R, kvHeads: KV } = s;
  const mask = (1 << s.bits) - 1;
  const b = s.bits;
  return `fn vQuant8(row: u32, j: u32, i: u32) -> Half8 {
  let c = 8u * i;
  let e = c % ${G}u;
  let sh = (e % ${L.perWord}u) * ${b}u;
  let p = (row * ${L.vq}u + j) * ${D / G}u + c / ${G}u;
  let word = vCodes[p * ${L.wpg}u + e / ${L.perWord}u] >> sh;
  let sc = unpack2x16float(vScale[p >> 1u])[p & 1u];
  let mn = unpack2x16float(vMin[p >> 1u])[p & 1u];
  let lo = vec4f(f32(word & ${mask}u), f32((word >> ${b}u) & ${mask}u), f32((word >> ${2 * b}u) & ${mask}u), f32((word >> ${3 * b}u) & ${mask}u));
  let hi = vec4f(f32((word >> ${4 * b}u) & ${mask}u), f32((word >> ${5 * b}u) & ${mask}u), f32((word >> ${6 * b}u) & ${mask}u), f32((word >> ${7 * b}u) & ${mask}u));
  return Half8(lo * sc + mn, hi * sc + mn);
}
fn vRing8(row: u32, j: u32, i: u32) -> Half8 {
  let o = ((row * ${R}u + j % ${R}u) * ${D}u) / 2u + 4u * i;
  return Half8(vec4f(unpack2x16float(vRing[o]), unpack2x16float(vRing[o + 1u])), vec4f(unpack2x16float(vRing[o + 2u]), unpack2x16float(vRing[o + 3u])));
}
fn v8(b: u32, kvh: u32, j: u32, i: u32) -> Half8 {
  let row = b * ${KV}u + kvh;
  let nqv = select(0u, prm.slot - ${R}u, prm.slot > ${R}u);
  ${pick(`vQuant8(row, min(j, ${lastV}u), i)`, 'vRing8(row, j, i)', 'j < nqv', 'Half8')}
}
`;
}

/**
 * Prefill of sequences prm.b0 … prm.b0 + count − 1 from the fp16 staging [B, KV, P, D] RoPE wrote:
 * four ranges of threads — key tiles (row, tile, channel), key tail words, value groups
 * (row, token, group), value window words.
 */
export function kiviPrefillWgsl(s: KiviShape & { P: number; count: number }): { code: string; threads: number } {
  const L = kiviLayout(s);
  const { headDim: D, groupSize: G, residual: R, kvHeads: KV, P, count } = s;
  const rows = count * KV;
  const nqk = Math.floor(P / R) * R;
  const tiles = nqk / G;
  const nqv = Math.max(0, P - R);
  const a = rows * tiles * (D / 2);
  const bT = rows * (P - nqk) * (D / 2);
  const c = rows * nqv * (D / G / 2);
  const d = rows * (P - nqv) * (D / 2);
  const threads = a + bT + c + d;
  const code = `struct Prm { slot: u32, b0: u32 }
@group(0) @binding(0) var<storage, read> Ks: array<u32>;
@group(0) @binding(1) var<storage, read> Vs: array<u32>;
@group(0) @binding(2) var<storage, read> prm: Prm;
${packed(s, 3, 'read_write', `
${quantizer(s, L)}
fn stK(row: u32, j: u32, c: u32) -> f32 { return unpack2x16float(Ks[((row * ${P}u + j) * ${D}u + c) / 2u])[c & 1u]; }
fn stV(row: u32, j: u32, c: u32) -> f32 { return unpack2x16float(Vs[((row * ${P}u + j) * ${D}u + c) / 2u])[c & 1u]; }
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) gid3: vec3u, @builtin(local_invocation_index) tid: u32) {
  ${LINEAR_GROUP}
  var t = wg * 64u + tid;
  if (t >= ${threads}u) { return; }
  if (t < ${a}u) {
    // a pair of channels of one key tile (whole words of scales and mins)
    let lr = t / ${Math.max(1, tiles * (D / 2))}u;
    let tile = (t / ${D / 2}u) % ${Math.max(1, tiles)}u;
    let cp = t % ${D / 2}u;
    let row = (prm.b0 * ${KV}u) + lr;
    var words: array<u32, 2>;
    for (var h = 0u; h < 2u; h++) {
      let ch = 2u * cp + h;
      var x: array<f32, ${G}>;
      for (var e = 0u; e < ${G}u; e++) { x[e] = stK(row, tile * ${G}u + e, ch); }
      let q = quantGroup(&x);
      for (var w = 0u; w < ${L.wpg}u; w++) { kCodes[((row * ${L.tiles}u + tile) * ${L.wpg}u + w) * ${D}u + ch] = q.words[w]; }
      words[h] = q.sc | (q.mn << 16u);
    }
    let pw = ((row * ${L.tiles}u + tile) * ${D}u) / 2u + cp;
    kScale[pw] = (words[0] & 0xffffu) | ((words[1] & 0xffffu) << 16u);
    kMin[pw] = (words[0] >> 16u) | (words[1] & 0xffff0000u);
    return;
  }
  t -= ${a}u;
  if (t < ${bT}u) {
    let lr = t / ${Math.max(1, (P - nqk) * (D / 2))}u;
    let j = ${nqk}u + (t / ${D / 2}u) % ${Math.max(1, P - nqk)}u;
    let w = t % ${D / 2}u;
    let row = prm.b0 * ${KV}u + lr;
    kTail[((row * ${R}u + j % ${R}u) * ${D}u) / 2u + w] = Ks[((row * ${P}u + j) * ${D}u) / 2u + w];
    return;
  }
  t -= ${bT}u;
  if (t < ${c}u) {
    // a pair of value groups of one token (whole words of scales and mins)
    let lr = t / ${Math.max(1, nqv * (D / G / 2))}u;
    let j = (t / ${D / G / 2}u) % ${Math.max(1, nqv)}u;
    let row = prm.b0 * ${KV}u + lr;
    let g0 = (t % ${D / G / 2}u) * 2u;
    var words: array<u32, 2>;
    for (var h = 0u; h < 2u; h++) {
      let g = g0 + h;
      var x: array<f32, ${G}>;
      for (var e = 0u; e < ${G}u; e++) { x[e] = stV(row, j, g * ${G}u + e); }
      let q = quantGroup(&x);
      let p = (row * ${L.vq}u + j) * ${D / G}u + g;
      for (var w = 0u; w < ${L.wpg}u; w++) { vCodes[p * ${L.wpg}u + w] = q.words[w]; }
      words[h] = q.sc | (q.mn << 16u);
    }
    let p0 = (row * ${L.vq}u + j) * ${D / G}u + g0;
    vScale[p0 / 2u] = (words[0] & 0xffffu) | ((words[1] & 0xffffu) << 16u);
    vMin[p0 / 2u] = (words[0] >> 16u) | (words[1] & 0xffff0000u);
    return;
  }
  t -= ${c}u;
  let lr = t / ${Math.max(1, (P - nqv) * (D / 2))}u;
  let j = ${nqv}u + (t / ${D / 2}u) % ${Math.max(1, P - nqv)}u;
  let w = t % ${D / 2}u;
  let row = prm.b0 * ${KV}u + lr;
  vRing[((row * ${R}u + j % ${R}u) * ${D}u) / 2u + w] = Vs[((row * ${P}u + j) * ${D}u) / 2u + w];
}
`)}`;
  return { code, threads };
}

/**
 * One decode step's append for every row (a workgroup per row): the new key into the tail at
 * slot n mod R, and when that fills the tail, its R tokens quantized into R/G key tiles; the
 * token leaving the value window (n − R, at slot n mod R) quantized, then the new value in its slot.
 */
export function kiviAppendWgsl(s: KiviShape & { heads: number }): string {
  const L = kiviLayout(s);
  const { headDim: D, groupSize: G, residual: R, kvHeads: KV, heads: H, batch: B } = s;
  const RL = (H + 2 * KV) * D;
  const WG = 64;
  const tilesPerFlush = R / G;
  return `struct Prm { slot: u32, b0: u32 }
@group(0) @binding(0) var<storage, read> QKV: array<f32>;
@group(0) @binding(1) var<storage, read> prm: Prm;
${packed(s, 2, 'read_write', `
${quantizer(s, L)}
fn tailK(row: u32, slot: u32, c: u32) -> f32 { return unpack2x16float(kTail[((row * ${R}u + slot) * ${D}u + c) / 2u])[c & 1u]; }
fn ringV(row: u32, slot: u32, c: u32) -> f32 { return unpack2x16float(vRing[((row * ${R}u + slot) * ${D}u + c) / 2u])[c & 1u]; }
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) gid3: vec3u, @builtin(local_invocation_index) tid: u32) {
  ${LINEAR_GROUP}
  if (wg >= ${B * KV}u) { return; }
  let row = wg;
  let b = row / ${KV}u;
  let kvh = row % ${KV}u;
  let n = prm.slot;
  let slot = n % ${R}u;
  let kq = b * ${RL}u + ${H * D}u + kvh * ${D}u;
  let vq = b * ${RL}u + ${(H + KV) * D}u + kvh * ${D}u;
  // keys: the new token into the tail
  for (var w = tid; w < ${D / 2}u; w += ${WG}u) {
    kTail[((row * ${R}u + slot) * ${D}u) / 2u + w] = pack2x16float(vec2f(QKV[kq + 2u * w], QKV[kq + 2u * w + 1u]));
  }
  // values: the token leaving the window is quantized before its slot is reused
  if (n >= ${R}u) {
    let j = n - ${R}u;
    for (var g0 = tid * 2u; g0 < ${D / G}u; g0 += ${WG * 2}u) {
      var words: array<u32, 2>;
      for (var h = 0u; h < 2u; h++) {
        let g = g0 + h;
        var x: array<f32, ${G}>;
        for (var e = 0u; e < ${G}u; e++) { x[e] = ringV(row, slot, g * ${G}u + e); }
        let q = quantGroup(&x);
        let p = (row * ${L.vq}u + j) * ${D / G}u + g;
        for (var w = 0u; w < ${L.wpg}u; w++) { vCodes[p * ${L.wpg}u + w] = q.words[w]; }
        words[h] = q.sc | (q.mn << 16u);
      }
      let p0 = (row * ${L.vq}u + j) * ${D / G}u + g0;
      vScale[p0 / 2u] = (words[0] & 0xffffu) | ((words[1] & 0xffffu) << 16u);
      vMin[p0 / 2u] = (words[0] >> 16u) | (words[1] & 0xffff0000u);
    }
  }
  storageBarrier();
  workgroupBarrier();
  for (var w = tid; w < ${D / 2}u; w += ${WG}u) {
    vRing[((row * ${R}u + slot) * ${D}u) / 2u + w] = pack2x16float(vec2f(QKV[vq + 2u * w], QKV[vq + 2u * w + 1u]));
  }
  // keys: a full tail becomes R/G tiles (a thread per pair of channels and tile)
  if ((n + 1u) % ${R}u == 0u) {
    let tile0 = (n + 1u - ${R}u) / ${G}u;
    for (var task = tid; task < ${tilesPerFlush * (D / 2)}u; task += ${WG}u) {
      let t = task / ${D / 2}u;
      let cp = task % ${D / 2}u;
      var words: array<u32, 2>;
      for (var h = 0u; h < 2u; h++) {
        let ch = 2u * cp + h;
        var x: array<f32, ${G}>;
        for (var e = 0u; e < ${G}u; e++) { x[e] = tailK(row, t * ${G}u + e, ch); }
        let q = quantGroup(&x);
        for (var w = 0u; w < ${L.wpg}u; w++) { kCodes[((row * ${L.tiles}u + tile0 + t) * ${L.wpg}u + w) * ${D}u + ch] = q.words[w]; }
        words[h] = q.sc | (q.mn << 16u);
      }
      let pw = ((row * ${L.tiles}u + tile0 + t) * ${D}u) / 2u + cp;
      kScale[pw] = (words[0] & 0xffffu) | ((words[1] & 0xffffu) << 16u);
      kMin[pw] = (words[0] >> 16u) | (words[1] & 0xffff0000u);
    }
  }
}
`)}`;
}
