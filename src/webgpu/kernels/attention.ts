/**
 * Attention kernels. Reference: attention.ref.ts.
 *
 * Masking follows the ONNX graph the harness builds (build-llama-onnx.ts), so that the engine's
 * tokens match onnxruntime's: sequence b's slots before starts[b] are left padding and masked
 * out; a query that is itself padding (prefill only) sees every key of the pass with equal weight
 * (the graph's finite −1e9 bias makes such a row a uniform average; its K/V stay masked for
 * every real query, but cache methods see them, so they must match too).
 *
 * prefill: causal attention over the pass's own rotated K/V in the QKV rows (exact f32, as the
 *   graph's prefill). One workgroup per (sequence, KV head, tile of queries); 64 threads each own
 *   one (query, head) row; K/V tiles go through workgroup memory; online softmax.
 * decode: one query token per sequence over the past held by a store (read through a PastReader,
 *   without materialising it) plus the current token's exact K/V from the QKV row. Split over the
 *   past (flash-decoding): a workgroup per (sequence, KV head, 64 slots) scores its slots for the
 *   G query heads sharing the KV head (a thread a slot), then threads own output lanes (head, two
 *   channels) and accumulate p·V; a second dispatch merges the splits. A workgroup per (sequence,
 *   KV head) over the whole past read the cache at 8% of the H100's bandwidth (256 workgroups for
 *   132 SMs at batch 128): splitting gives the GPU enough of them.
 */
import { dispatchGroups, LINEAR_GROUP } from '../gpu-context.js';
import { f32Lit, HALF8_STRUCT } from './wgsl-common.js';

export interface AttentionShape {
  heads: number;
  kvHeads: number;
  headDim: number;
}

function rowLen(s: AttentionShape): number {
  return (s.heads + 2 * s.kvHeads) * s.headDim;
}

/** Query tokens per prefill workgroup: 64 threads, one per (query, head of the group). */
export function prefillQueryTile(s: AttentionShape): number {
  const g = s.heads / s.kvHeads;
  if (!Number.isInteger(g) || g > 64 || 64 % g !== 0) throw new Error(`attention: ${s.heads} heads over ${s.kvHeads} KV heads is not supported (the group must divide 64)`);
  return 64 / g;
}

export function prefillAttentionWgsl(s: AttentionShape & { batch: number; T: number }): string {
  const { heads: H, kvHeads: KV, headDim: D, batch: B, T } = s;
  const G = H / KV;
  const QT = prefillQueryTile(s);
  const KT = Math.max(1, Math.floor(2048 / D));
  const tilesQ = Math.ceil(T / QT);
  const R = rowLen(s);
  const D4 = D / 4;
  const scale = f32Lit(1 / Math.sqrt(D));
  return `struct Prm { slot: u32, b0: u32 }
@group(0) @binding(0) var<storage, read> QKV: array<vec4f>;
@group(0) @binding(1) var<storage, read> starts: array<u32>;
@group(0) @binding(2) var<storage, read> prm: Prm;
@group(0) @binding(3) var<storage, read_write> O: array<vec4f>;
var<workgroup> Ks: array<vec4f, ${KT * D4}>;
var<workgroup> Vs: array<vec4f, ${KT * D4}>;
var<workgroup> need: atomic<u32>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) gid3: vec3u, @builtin(local_invocation_index) tid: u32) {
  ${LINEAR_GROUP}
  if (wg >= ${B * KV * tilesQ}u) { return; }
  let b = wg / ${KV * tilesQ}u;
  let kvh = (wg / ${tilesQ}u) % ${KV}u;
  let qt0 = (wg % ${tilesQ}u) * ${QT}u;
  let start = starts[prm.b0 + b];
  let qi = tid / ${G}u;
  let h = kvh * ${G}u + tid % ${G}u;
  let s = qt0 + qi;
  let live = s < ${T}u;
  let padRow = s < start;
  var q: array<vec4f, ${D4}>;
  var acc: array<vec4f, ${D4}>;
  if (live) {
    for (var i = 0u; i < ${D4}u; i++) { q[i] = QKV[((b * ${T}u + s) * ${R}u + h * ${D}u) / 4u + i]; }
  }
  // keys this tile needs: up to its last query, or all of them when it holds a padding query
  if (tid == 0u) { atomicStore(&need, min(${T}u, qt0 + ${QT}u)); }
  workgroupBarrier();
  if (live && padRow) { atomicMax(&need, ${T}u); }
  let limit = workgroupUniformLoad(&need);
  var m = -3.0e38;
  var l = 0.0;
  for (var k0 = 0u; k0 < limit; k0 += ${KT}u) {
    for (var i = tid; i < ${KT * D4}u; i += 64u) {
      let jj = i / ${D4}u;
      let c = i % ${D4}u;
      let j = k0 + jj;
      if (j < ${T}u) {
        let r = ((b * ${T}u + j) * ${R}u) / 4u;
        Ks[i] = QKV[r + ${(H * D) / 4}u + kvh * ${D4}u + c];
        Vs[i] = QKV[r + ${((H + KV) * D) / 4}u + kvh * ${D4}u + c];
      }
    }
    workgroupBarrier();
    if (live) {
      for (var jj = 0u; jj < ${KT}u; jj++) {
        let j = k0 + jj;
        if (j >= limit) { break; }
        if (!padRow && (j < start || j > s)) { continue; }
        var sc = 0.0;
        if (!padRow) {
          var d = 0.0;
          for (var i = 0u; i < ${D4}u; i++) { d += dot(q[i], Ks[jj * ${D4}u + i]); }
          sc = d * ${scale};
        }
        if (sc > m) {
          let corr = exp(m - sc);
          l = l * corr;
          for (var i = 0u; i < ${D4}u; i++) { acc[i] = acc[i] * corr; }
          m = sc;
        }
        let p = exp(sc - m);
        l += p;
        for (var i = 0u; i < ${D4}u; i++) { acc[i] += p * Vs[jj * ${D4}u + i]; }
      }
    }
    workgroupBarrier();
  }
  if (live) {
    let o = ((b * ${T}u + s) * ${H * D}u + h * ${D}u) / 4u;
    for (var i = 0u; i < ${D4}u; i++) { O[o + i] = acc[i] / l; }
  }
}
`;
}

export function prefillAttentionGroups(s: AttentionShape & { batch: number; T: number }): number {
  return s.batch * s.kvHeads * Math.ceil(s.T / prefillQueryTile(s));
}

/**
 * How the decode kernel reads the past of (sequence b, KV head kvh) at slot j: `k8(b, kvh, j, i)`
 * gives channels 8i..8i+7 of the key, `v2(b, kvh, j, w)` channels 2w, 2w+1 of the value. A store
 * supplies its bindings (from `firstBinding` on) and these two functions, so attention reads its
 * layout directly.
 */
export interface PastReader {
  key: string;
  wgsl(firstBinding: number): string;
  /** Number of bindings it declares. */
  bindings: number;
  /**
   * k8/v2 give a direction to rescale per token: the reader defines tokenScale(b, kvh, j, ‖k‖²)
   * → (key factor, value factor) (MiniCache's magnitudes).
   */
  scales?: boolean;
  /**
   * Some tokens are held as originals: the reader defines retCountK/V(b, kvh), retIdxK/V(b, kvh,
   * e), retK8(b, kvh, e, i) and retV2(b, kvh, e, w) (MiniCache's retained tokens).
   */
  retained?: boolean;
}

/** The fp16 cache [B, KV, cap, D] (u32 words of two halves). */
export function fp16PastReader(o: { kvHeads: number; headDim: number; cap: number }): PastReader {
  const { kvHeads: KV, headDim: D, cap } = o;
  return {
    key: `fp16:${KV}:${D}:${cap}`,
    bindings: 2,
    wgsl: (f) => `@group(0) @binding(${f}) var<storage, read> Kc: array<vec4<u32>>;
@group(0) @binding(${f + 1}) var<storage, read> Vc: array<u32>;
fn k8(b: u32, kvh: u32, j: u32, i: u32) -> Half8 {
  let p = Kc[((b * ${KV}u + kvh) * ${cap}u + j) * ${D / 8}u + i];
  return Half8(vec4f(unpack2x16float(p.x), unpack2x16float(p.y)), vec4f(unpack2x16float(p.z), unpack2x16float(p.w)));
}
fn v2(b: u32, kvh: u32, j: u32, w: u32) -> vec2f { return unpack2x16float(Vc[((b * ${KV}u + kvh) * ${cap}u + j) * ${D / 2}u + w]); }
`,
  };
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

/**
 * Decode attention, split over the past (flash-decoding): workgroup (b, kvh, split) scores its
 * DEC_TB slots for the G query heads of the KV head, softmaxes them locally and writes the
 * unnormalised p·V with its max and sum; decodeCombineWgsl merges the splits. Splits past the
 * current slot return at once, so one dispatch size (the capacity's) serves every step.
 */
export function decodeAttentionWgsl(s: AttentionShape & { batch: number; cap: number; reader: PastReader }): string {
  const { heads: H, kvHeads: KV, headDim: D, batch: B, reader, cap } = s;
  const G = H / KV;
  if (!Number.isInteger(G)) throw new Error(`attention: ${H} heads over ${KV} KV heads`);
  if (D % 8 !== 0) throw new Error(`attention: head dim ${D} must be a multiple of 8`);
  const WG = DEC_TB;
  const TB = DEC_TB;
  const S = decodeSplits(cap);
  const R = rowLen(s);
  const PS = partialStride(s);
  const lanes = (G * D) / 2;
  const slices = lanes >= WG ? 1 : WG / lanes;
  const perThread = lanes >= WG ? lanes / WG : 1;
  if (lanes >= WG ? lanes % WG !== 0 : WG % lanes !== 0) throw new Error(`attention: ${G}×${D} output lanes do not tile ${WG} threads`);
  if (G > WG || WG % G !== 0) throw new Error(`attention: a group of ${G} query heads per KV head is not supported`);
  const seg = WG / G; // threads per head in the reductions over a split's scores
  const perSeg = G; // scores each thread folds before the tree
  const scale = f32Lit(1 / Math.sqrt(D));
  const laneMod = slices > 1 ? lanes : WG;
  return `${HALF8_STRUCT}struct Prm { slot: u32, b0: u32 }
@group(0) @binding(0) var<storage, read> QKV: array<f32>;
@group(0) @binding(1) var<storage, read> starts: array<u32>;
@group(0) @binding(2) var<storage, read> prm: Prm;
@group(0) @binding(3) var<storage, read_write> Part: array<f32>;
${reader.wgsl(4)}
var<workgroup> qs: array<vec4f, ${(G * D) / 4}>;
var<workgroup> sc: array<f32, ${G * TB}>;
var<workgroup> red: array<f32, ${WG}>;
var<workgroup> mS: array<f32, ${G}>;
var<workgroup> lS: array<f32, ${G}>;
var<workgroup> part: array<vec2f, ${slices > 1 ? WG : 1}>;
var<workgroup> vsc: array<f32, ${reader.scales ? TB : 1}>;
var<workgroup> retVE: array<i32, ${reader.retained ? TB : 1}>;

fn curK(row: u32, kvh: u32, c: u32) -> vec4f {
  let o = row + ${H * D}u + kvh * ${D}u + 4u * c;
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
  // 1. scores: thread tid scores slot t0 + tid for every head of the group
  let j = t0 + tid;
  ${reader.retained ? 'retVE[tid] = -1;' : ''}
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
    if (j < n) { f = tokenScale(b, kvh, j, e2); }
    vsc[tid] = f.y;
    for (var hh = 0u; hh < ${G}u; hh++) { d[hh] *= f.x; }`
        : ''
    }
    for (var hh = 0u; hh < ${G}u; hh++) { sc[hh * ${TB}u + tid] = d[hh] * ${scale}; }
  } else {
    for (var hh = 0u; hh < ${G}u; hh++) { sc[hh * ${TB}u + tid] = -3.0e38; }
  }
  workgroupBarrier();
  ${
    reader.retained
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
      : ''
  }
  // 2. max and sum per head over the split (segments of ${seg} threads per head)
  let hq = tid / ${seg}u;
  var mx = -3.0e38;
  for (var e = 0u; e < ${perSeg}u; e++) { mx = max(mx, sc[tid * ${perSeg}u + e]); }
  red[tid] = mx;
  workgroupBarrier();
  for (var st = ${seg / 2}u; st > 0u; st = st >> 1u) {
    if (tid % ${seg}u < st) { red[tid] = max(red[tid], red[tid + st]); }
    workgroupBarrier();
  }
  if (tid % ${seg}u == 0u) { mS[hq] = red[tid]; }
  workgroupBarrier();
  var sum = 0.0;
  for (var e = 0u; e < ${perSeg}u; e++) {
    let idx = tid * ${perSeg}u + e;
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
  workgroupBarrier();
  // 3. p·V: lane = (head, channel pair); slices split the split's slots
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
        } else { let o = row + ${(H + KV) * D}u + kvh * ${D}u + 2u * w; v = vec2f(QKV[o], QKV[o + 1u]); }
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
  if (tid < ${G}u) {
    Part[out + ${G * D}u + tid] = mS[tid];
    Part[out + ${G * D + G}u + tid] = lS[tid];
  }
}
`;
}

export function decodeAttentionGroups(s: AttentionShape & { batch: number; cap: number }): number {
  return s.batch * s.kvHeads * decodeSplits(s.cap);
}

/** Merges a step's splits into O [B, H, D]: max of maxima, rescaled sums and accumulators. */
export function decodeCombineWgsl(s: AttentionShape & { batch: number; cap: number }): string {
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
  for (var sp = 0u; sp < ns; sp++) { m = max(m, Part[(bk * ${S}u + sp) * ${PS}u + ${G * D}u + hh]); }
  var l = 0.0;
  var acc = vec2f(0.0);
  for (var sp = 0u; sp < ns; sp++) {
    let base = (bk * ${S}u + sp) * ${PS}u;
    let ls = Part[base + ${G * D + G}u + hh];
    if (ls > 0.0) {
      let f = exp(Part[base + ${G * D}u + hh] - m);
      l += ls * f;
      acc += f * vec2f(Part[base + hh * ${D}u + 2u * w], Part[base + hh * ${D}u + 2u * w + 1u]);
    }
  }
  let b = bk / ${KV}u;
  let kvh = bk % ${KV}u;
  O[(b * ${H}u + kvh * ${G}u + hh) * ${D / 2}u + w] = acc / l;
}
`;
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
  ) {
    this.split = ctx.pipeline(decodeAttentionWgsl(shape), `attention decode ${shape.reader.key}`);
    this.combine = ctx.pipeline(decodeCombineWgsl(shape), 'attention combine');
    this.g1 = ctx.bindGroup(this.split, [io.qkv, io.starts, io.prm, io.partial, ...io.past]);
    this.g2 = ctx.bindGroup(this.combine, [io.partial, io.prm, io.out]);
    this.n1 = decodeAttentionGroups(shape);
    this.n2 = decodeCombineGroups(shape);
  }

  encode(pass: GPUComputePassEncoder): void {
    encodeGroups(pass, this.split, this.g1, this.n1);
    encodeGroups(pass, this.combine, this.g2, this.n2);
  }
}

export function encodeGroups(pass: GPUComputePassEncoder, pipeline: GPUComputePipeline, group: GPUBindGroup, groups: number): void {
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, group);
  dispatchGroups(pass, groups);
}
