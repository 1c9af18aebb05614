/**
 * Decode attention: one query token per sequence over the past held by a store (read through a
 * PastReader, without materialising it) plus the current token's exact K/V from the QKV row.
 * Reference: reference.ts (attentionRef). Masking as prefill (attention.ts): slots before
 * starts[b] are left padding.
 *
 * Split over the past (flash-decoding): a workgroup per (sequence, KV head, 64 slots) scores its
 * slots for the G query heads sharing the KV head, softmaxes them locally and writes the
 * unnormalised p·V with its max and sum; a second dispatch merges the splits. A workgroup per
 * (sequence, KV head) over the whole past read the cache at 8% of the H100's bandwidth (256
 * workgroups for 132 SMs at batch 128): splitting gives the GPU enough of them.
 *
 * Two kernels for the split (llm.c style: both kept, both tested, the bench times them side by
 * side):
 * - 'slots': a thread per slot scores it (its key row in D/8 loads of 16 bytes, uncoalesced
 *   across the warp), then a thread per output lane (head, two channels) walks all 64 slots'
 *   values, 4 bytes a load. 17% of the H100's read bandwidth (results/h100-engine).
 * - 'rows': a key or value row is read by several threads, 16 contiguous bytes each (a warp reads
 *   whole rows), partial dot products are summed through workgroup memory, and p·V walks a
 *   slice of the slots per thread with every head of the group at once (a value row is read
 *   once per group, not once per head). Chosen where its workgroup memory fits 16 KiB and D/8
 *   divides 64. 21% of the H200's read bandwidth (results/h200-engine).
 * - 'rowsp': 'rows' with each thread's first key and value chunks loaded up front (prefetchWgsl),
 *   a variant to time against 'rows': a split reads 16 KiB, so its time is a chain of memory
 *   latencies more than bandwidth.
 */
import { dispatchGroups, LINEAR_GROUP } from '../gpu-context.js';
import { f32Lit, HALF8_STRUCT } from './wgsl-common.js';

export interface AttentionShape {
  heads: number;
  kvHeads: number;
  headDim: number;
}

export function rowLen(s: AttentionShape): number {
  return (s.heads + 2 * s.kvHeads) * s.headDim;
}

/**
 * How the decode kernel reads the past of (sequence b, KV head kvh) at slot j: `k8(b, kvh, j, i)`
 * gives channels 8i..8i+7 of the key, `v2(b, kvh, j, w)` channels 2w, 2w+1 of the value, and
 * `v8(b, kvh, j, i)` channels 8i..8i+7 of the value where the reader has a faster way than four
 * v2 (flag `v8`; the kernel builds it from v2 otherwise). A store supplies its bindings (from
 * `firstBinding` on) and these functions, so attention reads its layout directly.
 */
export interface PastReader {
  key: string;
  wgsl(firstBinding: number): string;
  /** Number of bindings it declares. */
  bindings: number;
  /** The reader defines v8 itself. */
  v8?: boolean;
  /**
   * k8/v2 give a direction to rescale per token: the reader defines tokenScale(b, kvh, j, ‖k‖²,
   * ‖v‖²) → (key factor, value factor) (MiniCache's magnitudes); the kernel passes the squared
   * norms of the direction it read.
   */
  scales?: boolean;
  /**
   * Some tokens are held as originals: the reader defines retCountK/V(b, kvh), retIdxK/V(b, kvh,
   * e), retK8(b, kvh, e, i), retV2(b, kvh, e, w) and retV8(b, kvh, e, i) (MiniCache's retained
   * tokens).
   */
  retained?: boolean;
  /**
   * Keys come in tiles of this many consecutive slots that share their loads (KIVI: a code word
   * holds one channel of 32/bits tokens, under one scale and min per channel). The reader defines
   * struct KTile, kTileWhole(j0) (slots j0 … j0 + kTile − 1 are all held tiled; j0 a multiple of
   * kTile), kTileLoad(b, kvh, j0, i) (channels 8i..8i+7 of the tile) and kTileGet(t, e) (slot
   * j0 + e of it). The 'rows' kernel then loads a tile's chunk once for all its slots instead of
   * once per slot.
   */
  kTile?: number;
  /**
   * The split kernel this layout is fastest with, where the shape fits it (defaultDecodeKernel).
   * Timed side by side on the H100 (session 26, embedded model, batch 128, 497 tokens: results/
   * h100-engine-s26): 'rowsu' for fp16 rows (0.345 against 'rows'' 0.422 ms, 12 layers) and
   * MiniCache over them (0.410 against 0.438); minicache+kivi4 'rows' (0.465 against 0.488). KIVI's
   * branch-free reader 'rowsu' (session 27: kivi4 0.372 ms, kivi2 0.382). Unset: 'rows'.
   */
  preferred?: DecodeKernel;
  /**
   * Other forms of the same reader over the same buffers (bindings and results equal), which the
   * benches time beside it: KIVI's branching reader.
   */
  variants?: readonly { name: string; reader: PastReader }[];
  /**
   * The form (with its own variants) that MiniCache's merged reader wraps, where it is not this
   * one: what was fastest under the merged hooks (KIVI: the branching reader, under 'rows').
   */
  mergedForm?: PastReader;
}

/** The fp16 cache [B, KV, cap, D] (u32 words of two halves). */
export function fp16PastReader(o: { kvHeads: number; headDim: number; cap: number }): PastReader {
  const { kvHeads: KV, headDim: D, cap } = o;
  return {
    key: `fp16:${KV}:${D}:${cap}`,
    bindings: 2,
    v8: true,
    preferred: 'rowsu',
    wgsl: (f) => `@group(0) @binding(${f}) var<storage, read> Kc: array<vec4<u32>>;
@group(0) @binding(${f + 1}) var<storage, read> Vc: array<vec4<u32>>;
fn halves8(p: vec4<u32>) -> Half8 { return Half8(vec4f(unpack2x16float(p.x), unpack2x16float(p.y)), vec4f(unpack2x16float(p.z), unpack2x16float(p.w))); }
fn k8(b: u32, kvh: u32, j: u32, i: u32) -> Half8 { return halves8(Kc[((b * ${KV}u + kvh) * ${cap}u + j) * ${D / 8}u + i]); }
fn v8(b: u32, kvh: u32, j: u32, i: u32) -> Half8 { return halves8(Vc[((b * ${KV}u + kvh) * ${cap}u + j) * ${D / 8}u + i]); }
fn v2(b: u32, kvh: u32, j: u32, w: u32) -> vec2f { return unpack2x16float(Vc[((b * ${KV}u + kvh) * ${cap}u + j) * ${D / 8}u + (w >> 2u)][w & 3u]); }
`,
  };
}

/** v8 from four v2 where the reader has no faster way. */
function v8Fallbacks(r: PastReader): string {
  if (r.v8) return '';
  return 'fn v8(b: u32, kvh: u32, j: u32, i: u32) -> Half8 { return Half8(vec4f(v2(b, kvh, j, 4u * i), v2(b, kvh, j, 4u * i + 1u)), vec4f(v2(b, kvh, j, 4u * i + 2u), v2(b, kvh, j, 4u * i + 3u))); }\n';
}

/**
 * A float32 past [B, KV, P, D] uploaded by the host (the path for methods kept on the host). P is
 * the step's slot (prm.slot), so one pipeline serves every step.
 */
export function f32PastReader(o: { kvHeads: number; headDim: number }): PastReader {
  const { kvHeads: KV, headDim: D } = o;
  return {
    key: `f32:${KV}:${D}`,
    bindings: 2,
    wgsl: (f) => `@group(0) @binding(${f}) var<storage, read> Kp: array<vec4f>;
@group(0) @binding(${f + 1}) var<storage, read> Vp: array<vec2f>;
fn k8(b: u32, kvh: u32, j: u32, i: u32) -> Half8 {
  let r = ((b * ${KV}u + kvh) * prm.slot + j) * ${D / 4}u + 2u * i;
  return Half8(Kp[r], Kp[r + 1u]);
}
fn v2(b: u32, kvh: u32, j: u32, w: u32) -> vec2f { return Vp[((b * ${KV}u + kvh) * prm.slot + j) * ${D / 2}u + w]; }
`,
  };
}

/** Tokens per decode-attention workgroup: a step's past is split over ceil(slots / DEC_TB) workgroups per (sequence, KV head). */
export const DEC_TB = 64;

/** Floats of one split's partial result: G·D accumulators, then G maxima, then G sums. */
export function partialStride(s: AttentionShape): number {
  const G = s.heads / s.kvHeads;
  return G * s.headDim + 2 * G;
}

/** Splits per (sequence, KV head) at a capacity of `cap` slots (the current token included). */
export function decodeSplits(cap: number): number {
  return Math.max(1, Math.ceil(cap / DEC_TB));
}

export const DECODE_KERNELS = ['slots', 'rows', 'rowsp', 'rowsu'] as const;
export type DecodeKernel = (typeof DECODE_KERNELS)[number];

type SplitShape = AttentionShape & { batch: number; cap: number; reader: PastReader };

/** What both split kernels share: sizes, and the WGSL pieces before and after their own phases. */
interface SplitParts {
  G: number;
  S: number;
  R: number;
  PS: number;
  scale: string;
}

const WG = DEC_TB; // threads per split workgroup
const TB = DEC_TB; // slots per split: thread tid owns slot t0 + tid in the softmax

function splitParts(s: SplitShape): SplitParts {
  const { heads: H, kvHeads: KV, headDim: D } = s;
  const G = H / KV;
  if (!Number.isInteger(G)) throw new Error(`attention: ${H} heads over ${KV} KV heads`);
  if (D % 8 !== 0) throw new Error(`attention: head dim ${D} must be a multiple of 8`);
  if (G > WG || WG % G !== 0) throw new Error(`attention: a group of ${G} query heads per KV head is not supported`);
  return { G, S: decodeSplits(s.cap), R: rowLen(s), PS: partialStride(s), scale: f32Lit(1 / Math.sqrt(D)) };
}

/** Bindings, the reader, the shared workgroup arrays, and main() up to the loaded queries. */
function splitHeadWgsl(s: SplitShape, p: SplitParts, own: string): string {
  const { heads: H, kvHeads: KV, headDim: D, batch: B, reader } = s;
  const { G, S, R, PS } = p;
  return `${HALF8_STRUCT}struct Prm { slot: u32, b0: u32 }
@group(0) @binding(0) var<storage, read> QKV: array<f32>;
@group(0) @binding(1) var<storage, read> starts: array<u32>;
@group(0) @binding(2) var<storage, read> prm: Prm;
@group(0) @binding(3) var<storage, read_write> Part: array<f32>;
${reader.wgsl(4)}${v8Fallbacks(reader)}
var<workgroup> qs: array<vec4f, ${(G * D) / 4}>;
var<workgroup> sc: array<f32, ${G * TB}>;
var<workgroup> red: array<f32, ${WG}>;
var<workgroup> mS: array<f32, ${G}>;
var<workgroup> lS: array<f32, ${G}>;
var<workgroup> vsc: array<f32, ${reader.scales ? TB : 1}>;
var<workgroup> retVE: array<i32, ${reader.retained ? TB : 1}>;
${own}
fn curK(row: u32, kvh: u32, c: u32) -> vec4f {
  let o = row + ${H * D}u + kvh * ${D}u + 4u * c;
  return vec4f(QKV[o], QKV[o + 1u], QKV[o + 2u], QKV[o + 3u]);
}
fn curV(row: u32, kvh: u32, c: u32) -> vec4f {
  let o = row + ${(H + KV) * D}u + kvh * ${D}u + 4u * c;
  return vec4f(QKV[o], QKV[o + 1u], QKV[o + 2u], QKV[o + 3u]);
}

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) gid3: vec3u, @builtin(local_invocation_index) tid: u32) {
  ${LINEAR_GROUP}
  if (wg >= ${B * KV * S}u) { return; }
  let b = wg / ${KV * S}u;
  let kvh = (wg / ${S}u) % ${KV}u;
  let t0 = (wg % ${S}u) * ${TB}u;
  let n = prm.slot;
  if (t0 > n) { return; }
  let row = b * ${R}u;
  let start = starts[b];
  let out = wg * ${PS}u;
  for (var i = tid; i < ${(G * D) / 4}u; i += ${WG}u) {
    let o = row + kvh * ${G * D}u + 4u * i;
    qs[i] = vec4f(QKV[o], QKV[o + 1u], QKV[o + 2u], QKV[o + 3u]);
  }
  workgroupBarrier();
  ${reader.retained ? 'retVE[tid] = -1;' : ''}`;
}

/**
 * After sc holds the slots' scores: the retained originals' scores replace theirs, then max and
 * sum per head (segments of WG/G threads per head, G scores folded per thread, then a tree); sc
 * ends as the unnormalised probabilities, mS and lS as the split's max and sum.
 */
function splitSoftmaxWgsl(s: SplitShape, p: SplitParts): string {
  const { headDim: D, reader } = s;
  const { G, scale } = p;
  const seg = WG / G;
  const retained = reader.retained
    ? `// retained tokens: their original keys' scores, and where their original values are
  let top = min(t0 + ${TB}u, n);
  for (var e = tid; e < retCountK(b, kvh); e += ${WG}u) {
    let ix = retIdxK(b, kvh, e);
    if (ix >= t0 && ix < top && ix >= start) {
      var d: array<f32, ${G}>;
      for (var hh = 0u; hh < ${G}u; hh++) { d[hh] = 0.0; }
      for (var i = 0u; i < ${D / 8}u; i++) {
        let k = retK8(b, kvh, e, i);
        for (var hh = 0u; hh < ${G}u; hh++) { d[hh] += dot(qs[hh * ${D / 4}u + 2u * i], k.lo) + dot(qs[hh * ${D / 4}u + 2u * i + 1u], k.hi); }
      }
      for (var hh = 0u; hh < ${G}u; hh++) { sc[hh * ${TB}u + ix - t0] = d[hh] * ${scale}; }
    }
  }
  for (var e = tid; e < retCountV(b, kvh); e += ${WG}u) {
    let ix = retIdxV(b, kvh, e);
    if (ix >= t0 && ix < top && ix >= start) { retVE[ix - t0] = i32(e); }
  }
  workgroupBarrier();`
    : '';
  return `${retained}
  // max and sum per head over the split (segments of ${seg} threads per head)
  let hq = tid / ${seg}u;
  var mx = -3.0e38;
  for (var e = 0u; e < ${G}u; e++) { mx = max(mx, sc[tid * ${G}u + e]); }
  red[tid] = mx;
  workgroupBarrier();
  for (var st = ${seg / 2}u; st > 0u; st = st >> 1u) {
    if (tid % ${seg}u < st) { red[tid] = max(red[tid], red[tid + st]); }
    workgroupBarrier();
  }
  if (tid % ${seg}u == 0u) { mS[hq] = red[tid]; }
  workgroupBarrier();
  var sum = 0.0;
  for (var e = 0u; e < ${G}u; e++) {
    let idx = tid * ${G}u + e;
    let p = select(0.0, exp(sc[idx] - mS[idx / ${TB}u]), sc[idx] > -1.0e38);
    sc[idx] = p;
    sum += p;
  }
  red[tid] = sum;
  workgroupBarrier();
  for (var st = ${seg / 2}u; st > 0u; st = st >> 1u) {
    if (tid % ${seg}u < st) { red[tid] += red[tid + st]; }
    workgroupBarrier();
  }
  if (tid % ${seg}u == 0u) { lS[hq] = red[tid]; }
  workgroupBarrier();`;
}

function splitTailWgsl(p: SplitParts, D: number): string {
  const { G } = p;
  return `  if (tid < ${G}u) {
    Part[out + ${G * D}u + tid] = mS[tid];
    Part[out + ${G * D + G}u + tid] = lS[tid];
  }
}
`;
}

/**
 * The 'slots' split kernel: thread tid scores slot t0 + tid for every head of the group, then
 * threads own output lanes (head, two channels) and accumulate p·V over the split's slots.
 * Splits past the current slot return at once, so one dispatch size (the capacity's) serves
 * every step.
 */
export function decodeAttentionWgsl(s: SplitShape): string {
  const { headDim: D, reader } = s;
  const p = splitParts(s);
  const { G, scale } = p;
  const lanes = (G * D) / 2;
  const slices = lanes >= WG ? 1 : WG / lanes;
  const perThread = lanes >= WG ? lanes / WG : 1;
  if (lanes >= WG ? lanes % WG !== 0 : WG % lanes !== 0) throw new Error(`attention: ${G}×${D} output lanes do not tile ${WG} threads`);
  const laneMod = slices > 1 ? lanes : WG;
  return `${splitHeadWgsl(s, p, `var<workgroup> part: array<vec2f, ${slices > 1 ? WG : 1}>;`)}
  // 1. scores: thread tid scores slot t0 + tid for every head of the group
  let j = t0 + tid;
  if (j <= n && j >= start) {
    var e2 = 0.0;
    // zeroed by hand: SwiftShader kept an earlier iteration's values in an uninitialised var
    var d: array<f32, ${G}>;
    for (var hh = 0u; hh < ${G}u; hh++) { d[hh] = 0.0; }
    for (var i = 0u; i < ${D / 8}u; i++) {
      var k: Half8;
      if (j < n) { k = k8(b, kvh, j, i); e2 += dot(k.lo, k.lo) + dot(k.hi, k.hi); } else { k = Half8(curK(row, kvh, 2u * i), curK(row, kvh, 2u * i + 1u)); }
      for (var hh = 0u; hh < ${G}u; hh++) {
        d[hh] += dot(qs[hh * ${D / 4}u + 2u * i], k.lo) + dot(qs[hh * ${D / 4}u + 2u * i + 1u], k.hi);
      }
    }
    ${
      reader.scales
        ? `var f = vec2f(1.0);
    if (j < n) {
      var e2v = 0.0;
      for (var w = 0u; w < ${D / 2}u; w++) { let x = v2(b, kvh, j, w); e2v += dot(x, x); }
      f = tokenScale(b, kvh, j, e2, e2v);
    }
    vsc[tid] = f.y;
    for (var hh = 0u; hh < ${G}u; hh++) { d[hh] *= f.x; }`
        : ''
    }
    for (var hh = 0u; hh < ${G}u; hh++) { sc[hh * ${TB}u + tid] = d[hh] * ${scale}; }
  } else {
    for (var hh = 0u; hh < ${G}u; hh++) { sc[hh * ${TB}u + tid] = -3.0e38; }
  }
  workgroupBarrier();
${splitSoftmaxWgsl(s, p)}
  // p·V: lane = (head, channel pair); slices split the split's slots
  let slice = tid / ${laneMod}u;
  let cnt = min(${TB}u, n + 1u - t0);
  for (var t = 0u; t < ${perThread}u; t++) {
    let lane = tid % ${laneMod}u + t * ${WG}u;
    let hh = lane / ${D / 2}u;
    let w = lane % ${D / 2}u;
    var a = vec2f(0.0);
    for (var jj = slice; jj < cnt; jj += ${slices}u) {
      let p = sc[hh * ${TB}u + jj];
      if (p > 0.0) {
        let jt = t0 + jj;
        var v: vec2f;
        if (jt < n) {
          ${reader.retained ? `if (retVE[jj] >= 0) { v = retV2(b, kvh, u32(retVE[jj]), w); } else { v = v2(b, kvh, jt, w)${reader.scales ? ' * vsc[jj]' : ''}; }` : `v = v2(b, kvh, jt, w)${reader.scales ? ' * vsc[jj]' : ''};`}
        } else { let o = row + ${(s.heads + s.kvHeads) * D}u + kvh * ${D}u + 2u * w; v = vec2f(QKV[o], QKV[o + 1u]); }
        a += p * v;
      }
    }
    ${
      slices > 1
        ? `part[tid] = a;
    workgroupBarrier();
    if (slice == 0u) {
      var s = part[tid];
      for (var k = 1u; k < ${slices}u; k++) { s += part[tid + k * ${lanes}u]; }
      Part[out + hh * ${D}u + 2u * w] = s.x;
      Part[out + hh * ${D}u + 2u * w + 1u] = s.y;
    }`
        : `Part[out + hh * ${D}u + 2u * w] = a.x;
    Part[out + hh * ${D}u + 2u * w + 1u] = a.y;`
    }
  }
${splitTailWgsl(p, D)}`;
}

/**
 * n copies of f(i) joined: per-head (and per-slot) values are scalars and vectors unrolled at
 * generation, not private arrays indexed in a loop, which a GPU compiler may put in local memory.
 */
function each(n: number, f: (i: number) => string, sep = ' '): string {
  return Array.from({ length: n }, (_, i) => f(i)).join(sep);
}

/**
 * How the 'rows' kernel lays a split out, or why it cannot: TPR threads per key row in the
 * scores (each D/8/TPR chunks of 16 bytes, NP partial sums per slot each), VPR = D/8 threads per
 * value row in p·V (WG/VPR slot slices), and one workgroup scratch array for both phases.
 */
export function rowsPlan(s: AttentionShape & { reader: PastReader }): { tpr: number; np: number; vpr: number; slices: number; scratch: number } | { reason: string } {
  const G = s.heads / s.kvHeads;
  const D = s.headDim;
  const chunks = D / 8;
  if (!Number.isInteger(G) || G > WG || WG % G !== 0) return { reason: `a group of ${G} query heads` };
  if (!Number.isInteger(chunks) || chunks > WG || WG % chunks !== 0) return { reason: `head dim ${D}: D/8 must divide ${WG}` };
  const np = G + (s.reader.scales ? 2 : 0);
  // the score partials stay within 4 KiB: fewer threads per row, more chunks each
  let tpr = chunks;
  while (tpr > 1 && TB * tpr * np > 1024) tpr /= 2;
  const vpr = chunks;
  const slices = WG / vpr;
  const scratch = Math.max(TB * tpr * np, slices * G * D);
  const bytes = 4 * (scratch + (G * D) + G * TB + WG + 2 * G + (s.reader.scales ? TB : 1) + (s.reader.retained ? TB : 1));
  if (bytes > 16384) return { reason: `${bytes} bytes of workgroup memory (over 16 KiB)` };
  return { tpr, np, vpr, slices, scratch };
}

/**
 * The 'rows' split kernel. Scores: TPR threads read a key row together (row r = tid % RPI of each
 * pass, RPI = WG/TPR rows a pass, so a warp's loads cover whole rows), each summing its chunks'
 * dot products with every head (and, for a store with scales, the chunks' squared norms of the
 * key and value directions); thread tid then adds slot tid's TPR partials. p·V: thread (slice,
 * q) reads value chunk q (eight channels, one 16-byte load for fp16) of every slices-th slot and
 * accumulates it for every head of the group; the slices are summed through workgroup memory.
 */
export function decodeAttentionRowsWgsl(s: SplitShape, kernel: Exclude<DecodeKernel, 'slots'> = 'rows', keyTiles = false): string {
  const prefetch = kernel === 'rowsp';
  const unrolled = kernel === 'rowsu';
  const { headDim: D, reader } = s;
  const p = splitParts(s);
  const { G, scale } = p;
  const plan = rowsPlan(s);
  if ('reason' in plan) throw new Error(`attention: the 'rows' kernel does not serve ${plan.reason}`);
  const { tpr: TPR, np: NP, vpr: VPR, slices, scratch } = plan;
  const RPI = WG / TPR;
  const CPT = D / 8 / TPR;
  const scales = !!reader.scales;
  const vV = (x: string) => (scales ? `${x}; v.lo *= vsc[jj]; v.hi *= vsc[jj];` : `${x};`);
  const { KP, VP } = prefetchDepth(RPI, CPT, slices);
  // keys in tiles (reader.kTile): a thread per (tile, chunk set), all of a split's tiles at once
  const tiled = keyTiles && !!reader.kTile && TB % reader.kTile === 0 && (TB / reader.kTile) * TPR <= WG;
  // prefetching: a constant trip count, so the loop unrolls and vp stays in registers
  const pvLoop = prefetch
    ? `for (var u = 0u; u < ${Math.ceil(TB / slices)}u; u++) {
    let jj = slice + u * ${slices}u;
    if (jj >= cnt) { break; }`
    : `for (var jj = slice; jj < cnt; jj += ${slices}u) {`;
  const vFetch = (x: string) => (prefetch ? `if (u < ${VP}u) { v = vp[u]; } else { ${x}; }` : x);
  const perSlot = `  // 1. scores: ${TPR} threads per key row, ${RPI} rows a pass; partials in scr[(q·NP + x)·TB + slot]
  let r = tid % ${RPI}u;
  let q = tid / ${RPI}u;
  ${prefetch ? prefetchWgsl({ RPI, TPR, CPT, slices, VPR, keys: true }) : ''}
  for (var it = 0u; it < ${TB / RPI}u; it++) {
    let jj = it * ${RPI}u + r;
    let j = t0 + jj;
    ${each(NP, (x) => `var d${x} = 0.0;`)}
    if (j <= n && j >= start) {
      for (var c = 0u; c < ${CPT}u; c++) {
        let i = q + c * ${TPR}u;
        ${scoreChunkWgsl({ G, D, scales, load: prefetch ? `let u = it * ${CPT}u + c;\n          if (u < ${KP}u) { k = kp[u]; } else { k = k8(b, kvh, j, i); }` : 'k = k8(b, kvh, j, i);', norm: 'v8(b, kvh, j, i)' })}
      }
    }
    ${each(NP, (x) => `scr[(q * ${NP}u + ${x}u) * ${TB}u + jj] = d${x};`, '\n    ')}
  }`;
  const keyPhase = tiled
    ? tiledKeysWgsl({ G, D, NP, TPR, CPT, P: reader.kTile!, scales, prefetch: prefetch ? prefetchWgsl({ RPI, TPR, CPT, slices, VPR, keys: false }) : '' })
    : unrolled
      ? unrolledKeysWgsl({ G, D, NP, TPR, CPT, RPI, scales })
      : perSlot;
  return `${splitHeadWgsl(s, p, `var<workgroup> scr: array<f32, ${scratch}>;`)}
${keyPhase}
  workgroupBarrier();
  {
    let j = t0 + tid;
    if (j <= n && j >= start) {
      ${each(NP, (x) => `var d${x} = 0.0;`)}
      for (var qq = 0u; qq < ${TPR}u; qq++) {
        ${each(NP, (x) => `d${x} += scr[(qq * ${NP}u + ${x}u) * ${TB}u + tid];`, '\n        ')}
      }
      ${
        scales
          ? `var f = vec2f(1.0);
      if (j < n) { f = tokenScale(b, kvh, j, d${G}, d${G + 1}); }
      vsc[tid] = f.y;
      ${each(G, (h) => `d${h} *= f.x;`)}`
          : ''
      }
      ${each(G, (h) => `sc[${h * TB}u + tid] = d${h} * ${scale};`, '\n      ')}
    } else {
      ${each(G, (h) => `sc[${h * TB}u + tid] = -3.0e38;`, '\n      ')}
    }
  }
  workgroupBarrier();
${splitSoftmaxWgsl(s, p)}
  // 2. p·V: ${VPR} threads per value row, ${slices} slices of slots; every head at once
  let vq = tid % ${VPR}u;
  let slice = tid / ${VPR}u;
  let cnt = min(${TB}u, n + 1u - t0);
  ${each(G, (h) => `var a${h}l = vec4f(0.0); var a${h}h = vec4f(0.0);`, '\n  ')}
  ${
    unrolled
      ? unrolledValuesWgsl({ G, slices, retained: !!reader.retained, scale: vV })
      : `${pvLoop}
    let jt = t0 + jj;
    if (jt < start) { continue; }
    var v: Half8;
    if (jt < n) {
      ${reader.retained ? `if (retVE[jj] >= 0) { v = retV8(b, kvh, u32(retVE[jj]), vq); } else { ${vV(vFetch('v = v8(b, kvh, jt, vq)'))} }` : vV(vFetch('v = v8(b, kvh, jt, vq)'))}
    } else { v = Half8(curV(row, kvh, 2u * vq), curV(row, kvh, 2u * vq + 1u)); }
    ${each(G, (h) => `{ let pr = sc[${h * TB}u + jj]; a${h}l += pr * v.lo; a${h}h += pr * v.hi; }`, '\n    ')}
  }`
  }
  ${each(G, (h) => `{ let o = (slice * ${G}u + ${h}u) * ${D}u + 8u * vq; for (var c = 0u; c < 4u; c++) { scr[o + c] = a${h}l[c]; scr[o + 4u + c] = a${h}h[c]; } }`, '\n  ')}
  workgroupBarrier();
  for (var o = tid; o < ${G * D}u; o += ${WG}u) {
    var sm = 0.0;
    for (var sl = 0u; sl < ${slices}u; sl++) { sm += scr[sl * ${G * D}u + o]; }
    Part[out + o] = sm;
  }
${splitTailWgsl(p, D)}`;
}

/**
 * The 'rows' kernel's scores where the reader keeps keys in tiles of P slots (PastReader.kTile):
 * thread (tile wi, chunk set q) loads chunk i of its tile once (kTileLoad) and scores all P slots
 * from it, instead of P loads of one slot each; q's query chunks are read from workgroup memory
 * once per chunk. A tile not wholly held tiled (the tail, the current slot, past n) is scored slot
 * by slot through k8. Partials land where the per-slot phase puts them: scr[(q·NP + x)·TB + slot].
 */
function tiledKeysWgsl(g: { G: number; D: number; NP: number; TPR: number; CPT: number; P: number; scales: boolean; prefetch: string }): string {
  const { G, D, NP, TPR, CPT, P, scales } = g;
  const NW = TB / P;
  const norms = (e: number, j: string) =>
    scales
      ? `d${e}_${G} += dot(k.lo, k.lo) + dot(k.hi, k.hi); let vd = v8(b, kvh, ${j}, i); d${e}_${G + 1} += dot(vd.lo, vd.lo) + dot(vd.hi, vd.hi);`
      : '';
  const dots = (e: number) => each(G, (h) => `d${e}_${h} += dot(q${h}l, k.lo) + dot(q${h}h, k.hi);`);
  return `  // 1. scores, keys in tiles of ${P} slots: thread (tile, chunk set) loads a chunk once for the tile's slots
  ${g.prefetch}
  {
    let wi = tid % ${NW}u;
    let q = tid / ${NW}u;
    if (q < ${TPR}u) {
      let j0 = t0 + wi * ${P}u;
      let whole = kTileWhole(j0);
      ${each(P, (e) => each(NP, (x) => `var d${e}_${x} = 0.0;`))}
      for (var c = 0u; c < ${CPT}u; c++) {
        let i = q + c * ${TPR}u;
        ${each(G, (h) => `let q${h}l = qs[${(h * D) / 4}u + 2u * i]; let q${h}h = qs[${(h * D) / 4}u + 2u * i + 1u];`, '\n        ')}
        if (whole) {
          let kt = kTileLoad(b, kvh, j0, i);
          ${each(P, (e) => `{ let k = kTileGet(kt, ${e}u); ${norms(e, `j0 + ${e}u`)} ${dots(e)} }`, '\n          ')}
        } else {
          ${each(
            P,
            (e) => `{ let j = j0 + ${e}u;
            if (j <= n && j >= start) {
              var k: Half8;
              if (j < n) { k = k8(b, kvh, j, i); ${norms(e, 'j')} } else { k = Half8(curK(row, kvh, 2u * i), curK(row, kvh, 2u * i + 1u)); }
              ${dots(e)}
            } }`,
            '\n          ',
          )}
        }
      }
      ${each(P, (e) => each(NP, (x) => `scr[(q * ${NP}u + ${x}u) * ${TB}u + wi * ${P}u + ${e}u] = d${e}_${x};`), '\n      ')}
    }
  }
`;
}

/**
 * Scoring one key chunk i of slot j into the accumulators d0..d{G-1} (and, for a reader with
 * token scales, the key and value chunk norms into d{G}, d{G+1}): `load` sets k from the past,
 * the current slot (j == n) reads the step's own key instead. `norm` is the value chunk's Half8.
 */
function scoreChunkWgsl(g: { G: number; D: number; scales: boolean; load: string; norm: string }): string {
  const { G, D, scales } = g;
  return `var k: Half8;
          if (j < n) {
            ${g.load}${scales ? `\n            d${G} += dot(k.lo, k.lo) + dot(k.hi, k.hi);\n            let vd = ${g.norm};\n            d${G + 1} += dot(vd.lo, vd.lo) + dot(vd.hi, vd.hi);` : ''}
          } else { k = Half8(curK(row, kvh, 2u * i), curK(row, kvh, 2u * i + 1u)); }
          ${each(G, (h) => `d${h} += dot(qs[${(h * D) / 4}u + 2u * i], k.lo) + dot(qs[${(h * D) / 4}u + 2u * i + 1u], k.hi);`, '\n          ')}`;
}

/** Loads a 'rowsu' thread issues together before using any (registers: eight Half8 at most). */
export const UNROLL_LOADS = 8;

/**
 * 'rowsu' scores: the per-slot phase of 'rows' with the loop over a thread's rows unrolled in
 * groups whose loads are all issued before the first is used, so a thread has up to UNROLL_LOADS
 * requests in flight instead of one. A split is a single wave of small workgroups: its time is
 * the chain of each thread's memory latencies. Slots past the last held one load the last held
 * one (in bounds for every reader) and are then masked.
 */
function unrolledKeysWgsl(g: { G: number; D: number; NP: number; TPR: number; CPT: number; RPI: number; scales: boolean }): string {
  const { G, D, NP, TPR, CPT, RPI, scales } = g;
  const IT = TB / RPI;
  const KU = Math.max(1, Math.min(IT, Math.floor(UNROLL_LOADS / (CPT * (scales ? 2 : 1)))));
  const load = (u: number) =>
    `let uj${u} = t0 + (ug * ${KU}u + ${u}u) * ${RPI}u + r; let ul${u} = min(uj${u}, nl);` +
    each(CPT, (c) => ` let uk${u}_${c} = k8(b, kvh, ul${u}, q + ${c * TPR}u);${scales ? ` let uw${u}_${c} = v8(b, kvh, ul${u}, q + ${c * TPR}u);` : ''}`, '');
  const use = (u: number) => `{
      let jj = (ug * ${KU}u + ${u}u) * ${RPI}u + r;
      let j = uj${u};
      ${each(NP, (x) => `var d${x} = 0.0;`)}
      if (j <= n && j >= start) {
        ${each(CPT, (c) => `{\n          let i = q + ${c * TPR}u;\n          ${scoreChunkWgsl({ G, D, scales, load: `k = uk${u}_${c};`, norm: `uw${u}_${c}` })}\n        }`, '\n        ')}
      }
      ${each(NP, (x) => `scr[(q * ${NP}u + ${x}u) * ${TB}u + jj] = d${x};`, '\n      ')}
    }`;
  return `  // 1. scores: ${TPR} threads per key row, ${RPI} rows a pass, ${KU} passes' loads issued together
  let r = tid % ${RPI}u;
  let q = tid / ${RPI}u;
  let nl = max(n, 1u) - 1u;
  for (var ug = 0u; ug < ${IT / KU}u; ug++) {
    ${each(KU, load, '\n    ')}
    ${each(KU, use, '\n    ')}
  }`;
}

/**
 * 'rowsu' p·V: thread (slice, vq)'s value chunks of every slices-th slot, in groups of
 * UNROLL_LOADS loaded before any is used (see unrolledKeysWgsl). Expects vq, slice, cnt and the
 * accumulators a{h}l/a{h}h declared.
 */
function unrolledValuesWgsl(g: { G: number; slices: number; retained: boolean; scale: (x: string) => string }): string {
  const { G, slices, retained } = g;
  const VIT = TB / slices;
  const VU = Math.min(VIT, UNROLL_LOADS);
  const load = (u: number) => `let vj${u} = slice + (vg * ${VU}u + ${u}u) * ${slices}u; let vt${u} = t0 + vj${u}; let vv${u} = v8(b, kvh, min(vt${u}, vnl), vq);`;
  const use = (u: number) => `if (vj${u} < cnt && vt${u} >= start) {
      let jj = vj${u};
      var v: Half8;
      if (vt${u} < n) {
        ${retained ? `if (retVE[jj] >= 0) { v = retV8(b, kvh, u32(retVE[jj]), vq); } else { ${g.scale(`v = vv${u}`)} }` : g.scale(`v = vv${u}`)}
      } else { v = Half8(curV(row, kvh, 2u * vq), curV(row, kvh, 2u * vq + 1u)); }
      ${each(G, (h) => `{ let pr = sc[${h * TB}u + jj]; a${h}l += pr * v.lo; a${h}h += pr * v.hi; }`, '\n      ')}
    }`;
  return `let vnl = max(n, 1u) - 1u;
  for (var vg = 0u; vg < ${VIT / VU}u; vg++) {
    ${each(VU, load, '\n    ')}
    ${each(VU, use, '\n    ')}
  }`;
}

/** Past rows a 'rowsp' thread loads ahead, keys and values each (at most; fewer where a split has fewer). */
export const PREFETCH_ROWS = 8;

/**
 * 'rowsp': the 'rows' kernel with each thread's first PREFETCH_ROWS key chunks and value chunks
 * loaded before any of them is used, so the two phases' memory latencies overlap instead of
 * following one another load by load (a split is small: its time is latency, not bandwidth).
 * Declares kp/vp (private arrays indexed by unrolled loop counters); the kernel reads a chunk from
 * them where it was prefetched and loads it otherwise.
 */
function prefetchDepth(RPI: number, CPT: number, slices: number): { KP: number; VP: number } {
  return { KP: Math.min(PREFETCH_ROWS, (TB / RPI) * CPT), VP: Math.min(PREFETCH_ROWS, Math.ceil(TB / slices)) };
}

function prefetchWgsl(g: { RPI: number; TPR: number; CPT: number; slices: number; VPR: number; keys: boolean }): string {
  const { KP, VP } = prefetchDepth(g.RPI, g.CPT, g.slices);
  const keys = g.keys
    ? `var kp: array<Half8, ${KP}>;
  for (var u = 0u; u < ${KP}u; u++) {
    let j = t0 + (u / ${g.CPT}u) * ${g.RPI}u + r;
    if (j < n && j >= start) { kp[u] = k8(b, kvh, j, q + (u % ${g.CPT}u) * ${g.TPR}u); }
  }`
    : '';
  return `// prefetch: ${g.keys ? `key chunks (it, c) for it·CPT + c < ${KP}, ` : ''}value chunks of this thread's first ${VP} slots
  ${keys}
  var vp: array<Half8, ${VP}>;
  let vq0 = tid % ${g.VPR}u;
  let sl0 = tid / ${g.VPR}u;
  for (var u = 0u; u < ${VP}u; u++) {
    let jt = t0 + sl0 + u * ${g.slices}u;
    if (jt < n && jt >= start) { vp[u] = v8(b, kvh, jt, vq0); }
  }`;
}

/**
 * The split kernel DecodeAttention uses by default: where the 'rows' family fits, the reader's
 * preferred one ('rows' unless it names another), else 'slots'. A host's preference
 * (GpuContext.decodeKernel) is taken where it can serve the shape.
 */
export function defaultDecodeKernel(s: AttentionShape & { reader: PastReader }, prefer?: DecodeKernel): DecodeKernel {
  const rowsFit = !('reason' in rowsPlan(s));
  if (prefer === 'slots' || (prefer && rowsFit)) return prefer;
  return rowsFit ? (s.reader.preferred ?? 'rows') : 'slots';
}

export function decodeAttentionGroups(s: AttentionShape & { batch: number; cap: number }): number {
  return s.batch * s.kvHeads * decodeSplits(s.cap);
}

export const COMBINE_KERNELS = ['loop', 'groups'] as const;
export type CombineKernel = (typeof COMBINE_KERNELS)[number];

/**
 * Merges a step's splits into O [B, H, D]. 'loop': max of maxima, then rescaled sums and
 * accumulators, one split's loads at a time (two chains of S dependent latencies). 'groups' (the
 * default): the splits in groups of UNROLL_LOADS whose loads (max, sum, two accumulator lanes)
 * are issued together, merged online (the running max rescales what came before), so a thread
 * waits once a group. Splits past the step's last are loaded (stale but in bounds) and masked.
 */
export function decodeCombineWgsl(s: AttentionShape & { batch: number; cap: number }, kernel: CombineKernel = 'groups'): string {
  return kernel === 'loop' ? combineLoopWgsl(s) : combineGroupsWgsl(s);
}

/**
 * A combine kernel around `merge`, which sees S, PS, G, D (as WGSL constants), the thread's bk
 * (sequence × KV head), head hh, lane pair w and ns (splits this step), and leaves m, l and acc
 * (the max, the rescaled sum and the pair's rescaled accumulator) for O = acc / l.
 */
function combineWgsl(s: AttentionShape & { batch: number; cap: number }, merge: (c: { S: number; PS: number; G: number; D: number }) => string): string {
  const { heads: H, kvHeads: KV, headDim: D, batch: B, cap } = s;
  const G = H / KV;
  const S = decodeSplits(cap);
  const PS = partialStride(s);
  const lanes = (G * D) / 2;
  return `struct Prm { slot: u32, b0: u32 }
@group(0) @binding(0) var<storage, read> Part: array<f32>;
@group(0) @binding(1) var<storage, read> prm: Prm;
@group(0) @binding(2) var<storage, read_write> O: array<vec2f>;
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) gid3: vec3u, @builtin(local_invocation_index) tid: u32) {
  ${LINEAR_GROUP}
  let i = wg * 64u + tid;
  if (i >= ${B * KV * lanes}u) { return; }
  let bk = i / ${lanes}u;
  let lane = i % ${lanes}u;
  let hh = lane / ${D / 2}u;
  let w = lane % ${D / 2}u;
  let ns = min(${S}u, prm.slot / ${DEC_TB}u + 1u);
  var m = -3.0e38;
  var l = 0.0;
  var acc = vec2f(0.0);
  ${merge({ S, PS, G, D })}
  let b = bk / ${KV}u;
  let kvh = bk % ${KV}u;
  O[(b * ${H}u + kvh * ${G}u + hh) * ${D / 2}u + w] = acc / l;
}
`;
}

function combineGroupsWgsl(s: AttentionShape & { batch: number; cap: number }): string {
  return combineWgsl(s, ({ S, PS, G, D }) => {
    const U = Math.min(S, UNROLL_LOADS);
    return `for (var g = 0u; g < ${Math.ceil(S / U)}u; g++) {
    ${each(U, (u) => `let s${u} = min(g * ${U}u + ${u}u, ${S - 1}u); let p${u} = (bk * ${S}u + s${u}) * ${PS}u; let m${u} = Part[p${u} + ${G * D}u + hh]; let l${u} = Part[p${u} + ${G * D + G}u + hh]; let a${u} = vec2f(Part[p${u} + hh * ${D}u + 2u * w], Part[p${u} + hh * ${D}u + 2u * w + 1u]);`, '\n    ')}
    ${each(
      U,
      (u) => `if (g * ${U}u + ${u}u < ns && l${u} > 0.0) {
      let mn = max(m, m${u});
      let fo = exp(m - mn);
      let fs = exp(m${u} - mn);
      l = l * fo + l${u} * fs;
      acc = acc * fo + a${u} * fs;
      m = mn;
    }`,
      '\n    ',
    )}
  }`;
  });
}

function combineLoopWgsl(s: AttentionShape & { batch: number; cap: number }): string {
  return combineWgsl(
    s,
    ({ S, PS, G, D }) => `for (var sp = 0u; sp < ns; sp++) { m = max(m, Part[(bk * ${S}u + sp) * ${PS}u + ${G * D}u + hh]); }
  for (var sp = 0u; sp < ns; sp++) {
    let base = (bk * ${S}u + sp) * ${PS}u;
    let ls = Part[base + ${G * D + G}u + hh];
    if (ls > 0.0) {
      let f = exp(Part[base + ${G * D}u + hh] - m);
      l += ls * f;
      acc += f * vec2f(Part[base + hh * ${D}u + 2u * w], Part[base + hh * ${D}u + 2u * w + 1u]);
    }
  }`,
  );
}

export function decodeCombineGroups(s: AttentionShape & { batch: number }): number {
  return Math.ceil((s.batch * s.kvHeads * ((s.heads / s.kvHeads) * s.headDim) / 2) / 64);
}

/** Bytes of the split partials of one decode-attention dispatch (shared by every layer). */
export function decodePartialBytes(s: AttentionShape & { batch: number; cap: number }): number {
  return s.batch * s.kvHeads * decodeSplits(s.cap) * partialStride(s) * 4;
}

/** The two dispatches of a decode attention, pipelines and bind groups made once. */
export class DecodeAttention {
  private readonly split: GPUComputePipeline;
  private readonly combine: GPUComputePipeline;
  private readonly g1: GPUBindGroup;
  private readonly g2: GPUBindGroup;
  private readonly n1: number;
  private readonly n2: number;

  constructor(
    ctx: { pipeline(code: string, label: string): GPUComputePipeline; bindGroup(p: GPUComputePipeline, b: GPUBuffer[]): GPUBindGroup },
    shape: AttentionShape & { batch: number; cap: number; reader: PastReader },
    io: { qkv: GPUBuffer; starts: GPUBuffer; prm: GPUBuffer; partial: GPUBuffer; out: GPUBuffer; past: GPUBuffer[] },
    readonly kernel: DecodeKernel = defaultDecodeKernel(shape),
    /**
     * 'rows'/'rowsp': read keys in the reader's tiles where it has them. Off by default: on the H100
     * (session 25) tiles were slower for KIVI-2 (0.608 against 0.446 ms, 12 layers at batch 128) and
     * minicache+kivi4 (0.609 against 0.501) and even for KIVI-4; kept for the benches and tests.
     */
    keyTiles = false,
    readonly combineKernel: CombineKernel = 'groups',
  ) {
    const code = kernel === 'slots' ? decodeAttentionWgsl(shape) : decodeAttentionRowsWgsl(shape, kernel, keyTiles);
    this.split = ctx.pipeline(code, `attention decode (${kernel}) ${shape.reader.key}`);
    this.combine = ctx.pipeline(decodeCombineWgsl(shape, combineKernel), `attention combine (${combineKernel})`);
    this.g1 = ctx.bindGroup(this.split, [io.qkv, io.starts, io.prm, io.partial, ...io.past]);
    this.g2 = ctx.bindGroup(this.combine, [io.partial, io.prm, io.out]);
    this.n1 = decodeAttentionGroups(shape);
    this.n2 = decodeCombineGroups(shape);
  }

  encode(pass: GPUComputePassEncoder): void {
    this.encodeSplit(pass);
    this.encodeCombine(pass);
  }

  /** The split pass alone (benchmarks time the two apart). */
  encodeSplit(pass: GPUComputePassEncoder): void {
    encodeGroups(pass, this.split, this.g1, this.n1);
  }

  encodeCombine(pass: GPUComputePassEncoder): void {
    encodeGroups(pass, this.combine, this.g2, this.n2);
  }
}

export function encodeGroups(pass: GPUComputePassEncoder, pipeline: GPUComputePipeline, group: GPUBindGroup, groups: number): void {
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, group);
  dispatchGroups(pass, groups);
}
