/**
 * MiniCache on the device (spec §2): WGSL for the cross-layer merge of a pair's K/V (SLERP
 * directions, magnitudes, angular distances), token retention (the prefill's distinct band and
 * threshold τ per scope, τ for decode tokens), and the hooks decode attention reads a merged
 * layer through. Reference: the host MergedStream / slerpWeightsRows / selectRetained
 * (src/methods/merged-stream.ts, src/kernels/slerp.ts, src/kernels/retention.ts), computed here
 * in float32 (the host sums in float64: angles at a retention boundary may fall the other way).
 *
 * One buffer per pair (a shader stage has few storage bindings), with regions per K|V for every
 * scope (sequence × KV head, the default 'head' granularity): magPrev, magCur [rows][capM] fp16
 * (capM = cap rounded up to even: a thread writes whole words);  count [rows];  tau [rows] (f32
 * bits, negative: no threshold);  segK, segV [rows][offset, capacity]: each scope's list segment;
 *  then one pool of list entries, K's segments first and V's after them, each entry a record
 * [idx, origPrev (D fp16), origCur (D fp16)]. Everything before the pool has a size fixed for the
 * cell, and the pool's entries are found through the segment tables, so no kernel's WGSL depends
 * on how many entries the lists hold: growing a list rewrites buffers, never compiles a pipeline.
 * The direction lives in an inner layer store.
 * An undefined angle (a zero vector) is d = −1 here (NaN on the host): never in the statistics,
 * never retained by the rule.
 */
import { LINEAR_GROUP } from '../gpu-context.js';
import { f32Lit } from './wgsl-common.js';

export type MergeRule = 'slerp' | 'mean';

export interface MergeShape {
  batch: number;
  kvHeads: number;
  heads: number;
  headDim: number;
  /** Slots per sequence (magnitude arrays). */
  cap: number;
  t: number;
  antiparallelEps: number;
  mode: 'distinctBand' | 'literalLow';
  gamma: number;
  decodeRetention: 'threshold' | 'none';
}

/** The regions of a pair buffer before its entry pool: sized by the cell alone. */
export const PAIR_REGIONS = ['magPrevK', 'magCurK', 'magPrevV', 'magCurV', 'countK', 'countV', 'tauK', 'tauV', 'segK', 'segV'] as const;
export type PairRegion = (typeof PAIR_REGIONS)[number];
/** Names the kernels use for the entry fields; each maps to the pool (K's and V's alike: the segment offsets tell them apart). */
const ENTRY_FIELDS = ['idxK', 'idxV', 'origPrevK', 'origCurK', 'origPrevV', 'origCurV'] as const;

/** What a pair buffer's fixed regions depend on: the cell's geometry. */
export interface PairGeometry {
  batch: number;
  kvHeads: number;
  headDim: number;
  cap: number;
}

export interface PairLayout extends PairGeometry {
  /** List entries over all scopes, for K and for V. */
  entriesK: number;
  entriesV: number;
}

/** Words of one pool entry: the token index, then both layers' original rows (fp16 pairs). */
export function entryWords(headDim: number): number {
  return 1 + headDim;
}

/**
 * Word offsets of a pair buffer's fixed regions, where its entry pool starts, and its size in
 * bytes. segK/segV hold each scope's list segment (entry offset into the pool, capacity): a scope's
 * entries are pool[offset … offset + capacity), V's segments after all of K's.
 */
export function pairRegions(o: PairLayout): { offsets: Record<PairRegion, number>; words: Record<PairRegion, number>; pool: number; bytes: number } {
  const f = fixedRegions(o);
  return { ...f, bytes: (f.pool + (o.entriesK + o.entriesV) * entryWords(o.headDim)) * 4 };
}

function fixedRegions(o: PairGeometry): { offsets: Record<PairRegion, number>; words: Record<PairRegion, number>; pool: number } {
  const rows = o.batch * o.kvHeads;
  const capM = o.cap + (o.cap % 2);
  const words: Record<PairRegion, number> = {
    magPrevK: (rows * capM) / 2,
    magCurK: (rows * capM) / 2,
    magPrevV: (rows * capM) / 2,
    magCurV: (rows * capM) / 2,
    countK: rows,
    countV: rows,
    tauK: rows,
    tauV: rows,
    segK: 2 * rows,
    segV: 2 * rows,
  };
  const offsets = {} as Record<PairRegion, number>;
  let at = 0;
  for (const r of PAIR_REGIONS) {
    offsets[r] = at;
    at += words[r];
  }
  return { offsets, words, pool: at };
}

/** Segment tables for per-scope capacities: [offset, capacity] per scope, offsets from `base`. */
export function segmentTable(caps: ArrayLike<number>, base = 0): { table: Uint32Array; entries: number } {
  const table = new Uint32Array(2 * caps.length);
  let at = base;
  for (let r = 0; r < caps.length; r++) {
    table[2 * r] = at;
    table[2 * r + 1] = caps[r]!;
    at += caps[r]!;
  }
  return { table, entries: at - base };
}

/**
 * One binding `ps` for a pair's regions, and `body` with region[i] rewritten to ps[off + (i)].
 * The entry fields keep the kernels' flat indexing: idx*[e] is entry e's first word, and
 * orig*[e·D/2 + w] its word w of that row.
 */
function packedPair(s: PairGeometry, binding: number, access: 'read' | 'read_write', body: string): string {
  const { offsets, pool } = fixedRegions(s);
  const D2 = s.headDim / 2;
  const E = entryWords(s.headDim);
  const field = (name: string, ix: string): string => {
    if (name.startsWith('idx')) return `ps[${pool}u + (${ix}) * ${E}u]`;
    const skip = name.startsWith('origPrev') ? 1 : 1 + D2;
    return `ps[${pool}u + ((${ix}) / ${D2}u) * ${E}u + ${skip}u + (${ix}) % ${D2}u]`;
  };
  const re = new RegExp(`\\b(${[...PAIR_REGIONS, ...ENTRY_FIELDS].join('|')})\\[([^\\]]*)\\]`, 'g');
  const seg = `
fn offK(row: u32) -> u32 { return segK[2u * row]; }
fn capK(row: u32) -> u32 { return segK[2u * row + 1u]; }
fn offV(row: u32) -> u32 { return segV[2u * row]; }
fn capV(row: u32) -> u32 { return segV[2u * row + 1u]; }
`;
  return (
    `@group(0) @binding(${binding}) var<storage, ${access}> ps: array<u32>;\n` +
    (seg + body).replace(re, (_m, name: string, ix: string) => ((PAIR_REGIONS as readonly string[]).includes(name) ? `ps[${offsets[name as PairRegion]}u + (${ix})]` : field(name, ix)))
  );
}

/** f32 → fp16 bits, and the merge of one pair of vectors (slerpWeightsRows in f32). */
function mergeMath(s: MergeShape): string {
  return `fn h16(x: f32) -> u32 { return pack2x16float(vec2f(x, 0.0)) & 0xffffu; }
fn nonFinite(x: f32) -> bool { return (bitcast<u32>(x) & 0x7f800000u) == 0x7f800000u; }
struct Merged { wa: f32, wb: f32, magA: f32, magB: f32, d: f32, forced: bool, zero: bool }
fn weights(aa: f32, bb: f32, ab: f32) -> Merged {
  var m: Merged;
  if (nonFinite(aa) || nonFinite(bb) || nonFinite(ab)) {
    m.zero = true; m.forced = true; m.d = -1.0; m.magA = 0.0; m.magB = 0.0;
    return m;
  }
  let t = ${f32Lit(s.t)};
  let na = sqrt(aa);
  let nb = sqrt(bb);
  m.magA = na;
  m.magB = nb;
  m.forced = na >= 65520.0 || nb >= 65520.0;
  var wa: f32;
  var wb: f32;
  if (na == 0.0 || nb == 0.0) {
    wa = select(0.0, 1.0 / na, na > 0.0);
    wb = select(0.0, 1.0 / nb, nb > 0.0);
    m.d = -1.0;
  } else {
    let c = clamp(ab / (na * nb), -1.0, 1.0);
    let om = acos(c);
    let sn = sin(om);
    if (c < 0.0 && sn < ${f32Lit(s.antiparallelEps)}) { m.forced = true; }
    if (sn < 1e-6 || c > 0.9995) {
      wa = (1.0 - t) / na;
      wb = t / nb;
    } else {
      wa = sin((1.0 - t) * om) / (sn * na);
      wb = sin(t * om) / (sn * nb);
    }
    m.d = om / 3.14159265358979;
  }
  let ee = wa * wa * aa + wb * wb * bb + 2.0 * wa * wb * ab;
  if (ee > 1e-12) {
    let k = 1.0 / sqrt(ee);
    wa *= k;
    wb *= k;
  } else if (nb > 0.0 && (t >= 0.5 || na == 0.0)) {
    wa = 0.0;
    wb = 1.0 / nb;
  } else if (na > 0.0) {
    wa = 1.0 / na;
    wb = 0.0;
  } else {
    wa = 0.0;
    wb = 0.0;
  }
  m.wa = wa;
  m.wb = wb;
  return m;
}
`;
}

/**
 * Copies the rotated K/V of `rows` QKV rows (the shallower layer of a pair) to the pending
 * buffer [rows, 2·KV·D] f32 (one prefill sub-batch, or one decode step; the deeper layer merges
 * them before the next sub-batch or step).
 */
export function stashWgsl(o: { rows: number; T: number; kvHeads: number; heads: number; headDim: number }): string {
  const { rows, T, kvHeads: KV, heads: H, headDim: D } = o;
  const RL = (H + 2 * KV) * D;
  const W = 2 * KV * D;
  return `@group(0) @binding(0) var<storage, read> QKV: array<f32>;
@group(0) @binding(1) var<storage, read_write> pend: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) gid3: vec3u, @builtin(local_invocation_index) tid: u32) {
  ${LINEAR_GROUP}
  let i = wg * 64u + tid;
  if (i >= ${rows * W}u) { return; }
  let r = i / ${W}u;
  let c = i % ${W}u;
  pend[r * ${W}u + c] = QKV[r * ${RL}u + ${H * D}u + c];
}
`;
}

/**
 * Prefill merge of a pair for sequences prm.b0 … + count: a thread per (sequence, KV head, two
 * tokens, K|V) merges the pending (shallower) and QKV (deeper) vectors, writes the direction as
 * fp16 into the inner store's prompt target [B, KV, targetCap, D], both magnitudes (a whole word
 * for the two tokens), and d (+4 when forced) into dd [2][count·KV][P] for the retention kernel.
 */
export function prefillMergeWgsl(s: MergeShape & { P: number; count: number; targetCap: number; rule: MergeRule }): { code: string; threads: number } {
  const { kvHeads: KV, heads: H, headDim: D, P, count, cap, targetCap } = s;
  const RL = (H + 2 * KV) * D;
  const W = 2 * KV * D;
  const pairs = Math.ceil(P / 2);
  const threads = count * KV * pairs * 2;
  const slerp = s.rule === 'slerp';
  const capM = cap + (cap % 2);
  const body = `
${mergeMath(s)}
fn dirOut(isV: u32, at: u32, e: vec2f) { if (isV == 1u) { dirV[at] = pack2x16float(e); } else { dirK[at] = pack2x16float(e); } }
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) gid3: vec3u, @builtin(local_invocation_index) tid: u32) {
  ${LINEAR_GROUP}
  let i = wg * 64u + tid;
  if (i >= ${threads}u) { return; }
  let isV = i % 2u;
  let tp = (i / 2u) % ${pairs}u;
  let lrow = i / ${2 * pairs}u;
  let bl = lrow / ${KV}u;
  let kh = lrow % ${KV}u;
  let bg = prm.b0 + bl;
  let row = bg * ${KV}u + kh;
  var mags = vec4u(0u);
  for (var h = 0u; h < 2u; h++) {
    let tok = 2u * tp + h;
    if (tok >= ${P}u) { break; }
    let a0 = (bl * ${P}u + tok) * ${W}u + isV * ${KV * D}u + kh * ${D}u;
    let b0 = (bl * ${P}u + tok) * ${RL}u + ${H * D}u + isV * ${KV * D}u + kh * ${D}u;
    let o = ((row * ${targetCap}u + tok) * ${D}u) / 2u;
    ${
      slerp
        ? `var aa = 0.0; var bb = 0.0; var ab = 0.0;
    for (var c = 0u; c < ${D}u; c++) { let x = pend[a0 + c]; let y = QKV[b0 + c]; aa += x * x; bb += y * y; ab += x * y; }
    let m = weights(aa, bb, ab);
    for (var w = 0u; w < ${D / 2}u; w++) {
      var e = vec2f(0.0);
      if (!m.zero) { e = m.wa * vec2f(pend[a0 + 2u * w], pend[a0 + 2u * w + 1u]) + m.wb * vec2f(QKV[b0 + 2u * w], QKV[b0 + 2u * w + 1u]); }
      dirOut(isV, o + w, e);
    }
    mags[h] = h16(m.magA);
    mags[2u + h] = h16(m.magB);
    dd[(isV * ${count * KV}u + lrow) * ${P}u + tok] = select(m.d, m.d + 4.0, m.forced);`
        : `for (var w = 0u; w < ${D / 2}u; w++) {
      dirOut(isV, o + w, 0.5 * (vec2f(pend[a0 + 2u * w], pend[a0 + 2u * w + 1u]) + vec2f(QKV[b0 + 2u * w], QKV[b0 + 2u * w + 1u])));
    }`
    }
  }
  ${
    slerp
      ? `let mw = (row * ${capM}u) / 2u + tp;
  if (isV == 1u) { magPrevV[mw] = mags.x | (mags.y << 16u); magCurV[mw] = mags.z | (mags.w << 16u); }
  else { magPrevK[mw] = mags.x | (mags.y << 16u); magCurK[mw] = mags.z | (mags.w << 16u); }`
      : ''
  }
}
`;
  const code = `struct Prm { slot: u32, b0: u32 }
@group(0) @binding(0) var<storage, read> QKV: array<f32>;
@group(0) @binding(1) var<storage, read> pend: array<f32>;
@group(0) @binding(2) var<storage, read> prm: Prm;
@group(0) @binding(3) var<storage, read_write> dirK: array<u32>;
@group(0) @binding(4) var<storage, read_write> dirV: array<u32>;
@group(0) @binding(5) var<storage, read_write> dd: array<f32>;
${slerp ? packedPair(s, 6, 'read_write', body) : body}`;
  return { code, threads };
}

/**
 * Prefill retention, a thread per (scope, K|V): the distinct band (or the low band) of d over
 * the scope's P tokens, its threshold τ, and the retained tokens' indices and originals (fp16 of
 * the exact pending and QKV vectors), in ascending order. Each scope's list holds its segment's
 * capacity; count goes on counting past it (the store checks).
 */
export function prefillRetainWgsl(s: MergeShape & { P: number; count: number }): { code: string; threads: number } {
  const { kvHeads: KV, heads: H, headDim: D, P, count } = s;
  const RL = (H + 2 * KV) * D;
  const W = 2 * KV * D;
  const threads = count * KV * 2;
  const band = s.mode === 'distinctBand';
  const body = `
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) gid3: vec3u, @builtin(local_invocation_index) tid: u32) {
  ${LINEAR_GROUP}
  let i = wg * 64u + tid;
  if (i >= ${threads}u) { return; }
  let isV = i / ${count * KV}u;
  let lrow = i % ${count * KV}u;
  let bl = lrow / ${KV}u;
  let kh = lrow % ${KV}u;
  let bg = prm.b0 + bl;
  let row = bg * ${KV}u + kh;
  let d0 = i * ${P}u;
  var lo = 1.0e30;
  var hi = -1.0e30;
  var finite = 0u;
  for (var t = 0u; t < ${P}u; t++) {
    let x = dd[d0 + t];
    let v = select(x, x - 4.0, x >= 2.0);
    if (v >= 0.0) { finite++; lo = min(lo, v); hi = max(hi, v); }
  }
  // kept: forced, or d in [keepLo, keepHi]; tau < 0: no threshold for decode tokens
  var tau = -1.0;
  var keepLo = 2.0;
  var keepHi = -2.0;
  if (finite > 0u) {
    tau = lo;
    if (hi > lo) {
      ${band ? `tau = hi - ${f32Lit(s.gamma)} * (hi - lo); keepLo = tau; keepHi = 2.0;` : `tau = lo + ${f32Lit(s.gamma)} * (hi - lo); keepLo = 0.0; keepHi = tau;`}
    }
  }
  var n = 0u;
  for (var t = 0u; t < ${P}u; t++) {
    let x = dd[d0 + t];
    let forced = x >= 2.0;
    let v = select(x, x - 4.0, forced);
    if (forced || (v >= 0.0 && v >= keepLo && v <= keepHi)) {
      if (n < select(capK(row), capV(row), isV == 1u)) {
        let e = select(offK(row), offV(row), isV == 1u) + n;
        let a0 = (bl * ${P}u + t) * ${W}u + isV * ${KV * D}u + kh * ${D}u;
        let b0 = (bl * ${P}u + t) * ${RL}u + ${H * D}u + isV * ${KV * D}u + kh * ${D}u;
        for (var w = 0u; w < ${D / 2}u; w++) {
          let p = pack2x16float(vec2f(pend[a0 + 2u * w], pend[a0 + 2u * w + 1u]));
          let c = pack2x16float(vec2f(QKV[b0 + 2u * w], QKV[b0 + 2u * w + 1u]));
          if (isV == 1u) { origPrevV[e * ${D / 2}u + w] = p; origCurV[e * ${D / 2}u + w] = c; }
          else { origPrevK[e * ${D / 2}u + w] = p; origCurK[e * ${D / 2}u + w] = c; }
        }
        if (isV == 1u) { idxV[e] = t; } else { idxK[e] = t; }
      }
      n++;
    }
  }
  if (isV == 1u) { countV[row] = n; tauV[row] = bitcast<u32>(tau); } else { countK[row] = n; tauK[row] = bitcast<u32>(tau); }
}
`;
  const code = `struct Prm { slot: u32, b0: u32 }
@group(0) @binding(0) var<storage, read> QKV: array<f32>;
@group(0) @binding(1) var<storage, read> pend: array<f32>;
@group(0) @binding(2) var<storage, read> prm: Prm;
@group(0) @binding(3) var<storage, read> dd: array<f32>;
${packedPair(s, 4, 'read_write', body)}`;
  return { code, threads };
}

/**
 * Decode merge of a pair at the deeper layer, a thread per (sequence, KV head, K|V): the new
 * token's pending (shallower) and QKV (deeper) vectors merged; the direction (f32) into `dirRows`
 * (QKV layout, for the inner store's append), both magnitudes at slot n (the thread owns the
 * word this step), and the token retained when forced or beyond τ (decodeRetention 'threshold').
 */
export function decodeMergeWgsl(s: MergeShape & { rule: MergeRule }): string {
  const { batch: B, kvHeads: KV, heads: H, headDim: D, cap } = s;
  const RL = (H + 2 * KV) * D;
  const W = 2 * KV * D;
  const slerp = s.rule === 'slerp';
  const capM = cap + (cap % 2);
  const beyond = s.mode === 'distinctBand' ? 'v > tau' : 'v < tau';
  const body = `
${mergeMath(s)}
fn setHalf(word: u32, sh: u32, h: u32) -> u32 { return (word & ~(0xffffu << sh)) | (h << sh); }
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) gid3: vec3u, @builtin(local_invocation_index) tid: u32) {
  ${LINEAR_GROUP}
  let i = wg * 64u + tid;
  if (i >= ${B * KV * 2}u) { return; }
  let isV = i % 2u;
  let row = i / 2u;
  let b = row / ${KV}u;
  let kh = row % ${KV}u;
  let n = prm.slot;
  let a0 = b * ${W}u + isV * ${KV * D}u + kh * ${D}u;
  let b0 = b * ${RL}u + ${H * D}u + isV * ${KV * D}u + kh * ${D}u;
  ${
    slerp
      ? `var aa = 0.0; var bb = 0.0; var ab = 0.0;
  for (var c = 0u; c < ${D}u; c++) { let x = pend[a0 + c]; let y = QKV[b0 + c]; aa += x * x; bb += y * y; ab += x * y; }
  let m = weights(aa, bb, ab);
  for (var c = 0u; c < ${D}u; c++) { dirRows[b0 + c] = select(m.wa * pend[a0 + c] + m.wb * QKV[b0 + c], 0.0, m.zero); }
  let mw = (row * ${capM}u + n) / 2u;
  let sh = (n & 1u) * 16u;
  var tau: f32;
  if (isV == 1u) {
    magPrevV[mw] = setHalf(magPrevV[mw], sh, h16(m.magA));
    magCurV[mw] = setHalf(magCurV[mw], sh, h16(m.magB));
    tau = bitcast<f32>(tauV[row]);
  } else {
    magPrevK[mw] = setHalf(magPrevK[mw], sh, h16(m.magA));
    magCurK[mw] = setHalf(magCurK[mw], sh, h16(m.magB));
    tau = bitcast<f32>(tauK[row]);
  }
  let v = m.d;
  let keep = m.forced || (${s.decodeRetention === 'threshold' ? 'true' : 'false'} && tau >= 0.0 && v >= 0.0 && ${beyond});
  if (keep) {
    var e: u32;
    if (isV == 1u) { e = countV[row]; countV[row] = e + 1u; } else { e = countK[row]; countK[row] = e + 1u; }
    if (e < select(capK(row), capV(row), isV == 1u)) {
      let at = select(offK(row), offV(row), isV == 1u) + e;
      for (var w = 0u; w < ${D / 2}u; w++) {
        let p = pack2x16float(vec2f(pend[a0 + 2u * w], pend[a0 + 2u * w + 1u]));
        let c = pack2x16float(vec2f(QKV[b0 + 2u * w], QKV[b0 + 2u * w + 1u]));
        if (isV == 1u) { origPrevV[at * ${D / 2}u + w] = p; origCurV[at * ${D / 2}u + w] = c; }
        else { origPrevK[at * ${D / 2}u + w] = p; origCurK[at * ${D / 2}u + w] = c; }
      }
      if (isV == 1u) { idxV[at] = n; } else { idxK[at] = n; }
    }
  }`
      : `for (var c = 0u; c < ${D}u; c++) { dirRows[b0 + c] = 0.5 * (pend[a0 + c] + QKV[b0 + c]); }`
  }
}
`;
  return `struct Prm { slot: u32, b0: u32 }
@group(0) @binding(0) var<storage, read> QKV: array<f32>;
@group(0) @binding(1) var<storage, read> pend: array<f32>;
@group(0) @binding(2) var<storage, read> prm: Prm;
@group(0) @binding(3) var<storage, read_write> dirRows: array<f32>;
${slerp ? packedPair(s, 4, 'read_write', body) : body}`;
}

/**
 * Copies a pair buffer into one with other list segments (a relayout): the fixed regions before
 * the segment tables as they are, then each scope's first min(old, new capacity) entries of both
 * lists. The new buffer's segment tables are written by the host before this runs. Its WGSL
 * depends on the cell's geometry alone: `prm` holds the most entries any scope copies, and the
 * threads to launch are `copyPairThreads` of it.
 */
export function copyPairWgsl(g: PairGeometry): string {
  const { offsets, pool } = fixedRegions(g);
  const rows = g.batch * g.kvHeads;
  const fixed = offsets.segK; // mags, counts, tau: laid out alike
  const E = entryWords(g.headDim);
  const per = 2 * E; // K then V: a whole entry each
  return `@group(0) @binding(0) var<storage, read> A: array<u32>;
@group(0) @binding(1) var<storage, read_write> Bo: array<u32>;
@group(0) @binding(2) var<storage, read> prm: array<u32>;
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) gid3: vec3u, @builtin(local_invocation_index) tid: u32) {
  ${LINEAR_GROUP}
  var i = wg * 64u + tid;
  let maxEntries = prm[0];
  if (i >= ${fixed}u + ${rows}u * maxEntries * ${per}u) { return; }
  if (i < ${fixed}u) { Bo[i] = A[i]; return; }
  i -= ${fixed}u;
  let k = i % ${per}u;
  let re = i / ${per}u;
  let row = re / maxEntries;
  let e = re % maxEntries;
  let isV = k / ${E}u;
  let part = k % ${E}u;
  let seg = select(${offsets.segK}u, ${offsets.segV}u, isV == 1u) + 2u * row;
  if (e >= min(A[seg + 1u], Bo[seg + 1u])) { return; }
  Bo[${pool}u + (Bo[seg] + e) * ${E}u + part] = A[${pool}u + (A[seg] + e) * ${E}u + part];
}
`;
}

/** Threads copyPairWgsl needs for `maxEntries` entries per scope. */
export function copyPairThreads(g: PairGeometry, maxEntries: number): number {
  return fixedRegions(g).offsets.segK + g.batch * g.kvHeads * maxEntries * 2 * entryWords(g.headDim);
}

/**
 * The hooks decode attention reads a merged layer through (on top of the inner store's k8/v2,
 * which give the direction): tokenScale rescales a token's direction to this layer's magnitudes
 * (Eq. 2: ‖x‖·e/‖e‖), and the retained lists put back the originals. `side` picks the layer:
 * 'prev' (the pair's shallower layer) or 'cur' (the deeper one, where the record lives).
 */
export function mergedHooksWgsl(s: PairGeometry & { side: 'prev' | 'cur' }, f: number): string {
  const { kvHeads: KV, headDim: D, cap, side } = s;
  const capM = cap + (cap % 2);
  const mag = side === 'prev' ? 'magPrev' : 'magCur';
  const orig = side === 'prev' ? 'origPrev' : 'origCur';
  return packedPair(
    s,
    f,
    'read',
    `
fn tokenScale(b: u32, kvh: u32, j: u32, e2k: f32, e2v: f32) -> vec2f {
  let mi = (b * ${KV}u + kvh) * ${capM}u + j;
  let mk = unpack2x16float(${mag}K[mi >> 1u])[mi & 1u];
  let mv = unpack2x16float(${mag}V[mi >> 1u])[mi & 1u];
  return vec2f(select(0.0, mk / sqrt(e2k), e2k > 0.0), select(0.0, mv / sqrt(e2v), e2v > 0.0));
}
fn retCountK(b: u32, kvh: u32) -> u32 { let row = b * ${KV}u + kvh; return min(countK[row], capK(row)); }
fn retCountV(b: u32, kvh: u32) -> u32 { let row = b * ${KV}u + kvh; return min(countV[row], capV(row)); }
fn retIdxK(b: u32, kvh: u32, e: u32) -> u32 { return idxK[offK(b * ${KV}u + kvh) + e]; }
fn retIdxV(b: u32, kvh: u32, e: u32) -> u32 { return idxV[offV(b * ${KV}u + kvh) + e]; }
fn retK8(b: u32, kvh: u32, e: u32, i: u32) -> Half8 {
  let o = (offK(b * ${KV}u + kvh) + e) * ${D / 2}u + 4u * i;
  return Half8(vec4f(unpack2x16float(${orig}K[o]), unpack2x16float(${orig}K[o + 1u])), vec4f(unpack2x16float(${orig}K[o + 2u]), unpack2x16float(${orig}K[o + 3u])));
}
fn retV2(b: u32, kvh: u32, e: u32, w: u32) -> vec2f { return unpack2x16float(${orig}V[(offV(b * ${KV}u + kvh) + e) * ${D / 2}u + w]); }
fn retV8(b: u32, kvh: u32, e: u32, i: u32) -> Half8 {
  let o = (offV(b * ${KV}u + kvh) + e) * ${D / 2}u + 4u * i;
  return Half8(vec4f(unpack2x16float(${orig}V[o]), unpack2x16float(${orig}V[o + 1u])), vec4f(unpack2x16float(${orig}V[o + 2u]), unpack2x16float(${orig}V[o + 3u])));
}
`,
  );
}
