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
 *   without materialising it) plus the current token's exact K/V from the QKV row. One
 *   workgroup per (sequence, KV head); 128 tokens per chunk: each thread scores one token for all
 *   G query heads sharing the KV head, then threads own output lanes (head, 2 channels) and
 *   accumulate p·V over the chunk.
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

const DEC_WG = 128;

export function decodeAttentionWgsl(s: AttentionShape & { batch: number; reader: PastReader }): string {
  const { heads: H, kvHeads: KV, headDim: D, batch: B, reader } = s;
  const G = H / KV;
  if (!Number.isInteger(G)) throw new Error(`attention: ${H} heads over ${KV} KV heads`);
  if (D % 8 !== 0) throw new Error(`attention: head dim ${D} must be a multiple of 8`);
  const CH = DEC_WG;
  const R = rowLen(s);
  const lanes = (G * D) / 2;
  const slices = lanes >= DEC_WG ? 1 : DEC_WG / lanes;
  const perThread = lanes >= DEC_WG ? lanes / DEC_WG : 1;
  if (lanes >= DEC_WG ? lanes % DEC_WG !== 0 : DEC_WG % lanes !== 0) throw new Error(`attention: ${G}×${D} output lanes do not tile ${DEC_WG} threads`);
  // threads per head in the segmented reductions over a chunk's scores
  const seg = G >= DEC_WG ? 1 : DEC_WG / G;
  if (DEC_WG % G !== 0 && G < DEC_WG) throw new Error(`attention: group of ${G} heads does not divide ${DEC_WG}`);
  const perSeg = (G * CH) / DEC_WG; // scores each thread folds before the tree
  const scale = f32Lit(1 / Math.sqrt(D));
  return `${HALF8_STRUCT}struct Prm { slot: u32, b0: u32 }
@group(0) @binding(0) var<storage, read> QKV: array<f32>;
@group(0) @binding(1) var<storage, read> starts: array<u32>;
@group(0) @binding(2) var<storage, read> prm: Prm;
@group(0) @binding(3) var<storage, read_write> O: array<vec2f>;
${reader.wgsl(4)}
var<workgroup> qs: array<vec4f, ${(G * D) / 4}>;
var<workgroup> sc: array<f32, ${G * CH}>;
var<workgroup> red: array<f32, ${DEC_WG}>;
var<workgroup> mS: array<f32, ${G}>;
var<workgroup> lS: array<f32, ${G}>;
var<workgroup> cS: array<f32, ${G}>;
var<workgroup> part: array<vec2f, ${slices > 1 ? DEC_WG : 1}>;

fn curK(row: u32, kvh: u32, c: u32) -> vec4f {
  let o = row + ${H * D}u + kvh * ${D}u + 4u * c;
  return vec4f(QKV[o], QKV[o + 1u], QKV[o + 2u], QKV[o + 3u]);
}

@compute @workgroup_size(${DEC_WG})
fn main(@builtin(workgroup_id) gid3: vec3u, @builtin(local_invocation_index) tid: u32) {
  ${LINEAR_GROUP}
  if (wg >= ${B * KV}u) { return; }
  let b = wg / ${KV}u;
  let kvh = wg % ${KV}u;
  let n = prm.slot;
  let row = b * ${R}u;
  let start = starts[b];
  for (var i = tid; i < ${(G * D) / 4}u; i += ${DEC_WG}u) {
    let o = row + kvh * ${G * D}u + 4u * i;
    qs[i] = vec4f(QKV[o], QKV[o + 1u], QKV[o + 2u], QKV[o + 3u]);
  }
  if (tid < ${G}u) { mS[tid] = -3.0e38; lS[tid] = 0.0; }
  var acc: array<vec2f, ${perThread}>;
  let slice = tid / ${slices > 1 ? lanes : DEC_WG}u;
  workgroupBarrier();
  for (var c0 = start; c0 <= n; c0 += ${CH}u) {
    // 1. scores: thread tid scores token c0 + tid for every head of the group
    let j = c0 + tid;
    if (j <= n) {
      // zeroed by hand: SwiftShader kept the previous chunk's values in an uninitialised var here
      var d: array<f32, ${G}>;
      for (var hh = 0u; hh < ${G}u; hh++) { d[hh] = 0.0; }
      for (var i = 0u; i < ${D / 8}u; i++) {
        var k: Half8;
        if (j < n) { k = k8(b, kvh, j, i); } else { k = Half8(curK(row, kvh, 2u * i), curK(row, kvh, 2u * i + 1u)); }
        for (var hh = 0u; hh < ${G}u; hh++) {
          d[hh] += dot(qs[hh * ${D / 4}u + 2u * i], k.lo) + dot(qs[hh * ${D / 4}u + 2u * i + 1u], k.hi);
        }
      }
      for (var hh = 0u; hh < ${G}u; hh++) { sc[hh * ${CH}u + tid] = d[hh] * ${scale}; }
    } else {
      for (var hh = 0u; hh < ${G}u; hh++) { sc[hh * ${CH}u + tid] = -3.0e38; }
    }
    workgroupBarrier();
    // 2. chunk max per head (segments of ${seg} threads per head)
    {
      let hh = tid / ${seg}u;
      var mx = -3.0e38;
      for (var e = 0u; e < ${perSeg}u; e++) { mx = max(mx, sc[tid * ${perSeg}u + e]); }
      red[tid] = mx;
      workgroupBarrier();
      for (var st = ${seg / 2}u; st > 0u; st = st >> 1u) {
        if (tid % ${seg}u < st) { red[tid] = max(red[tid], red[tid + st]); }
        workgroupBarrier();
      }
      if (tid % ${seg}u == 0u && hh < ${G}u) {
        let mNew = max(mS[hh], red[tid]);
        cS[hh] = exp(mS[hh] - mNew);
        mS[hh] = mNew;
      }
      workgroupBarrier();
      // 3. probabilities and their sum
      var sum = 0.0;
      for (var e = 0u; e < ${perSeg}u; e++) {
        let idx = tid * ${perSeg}u + e;
        let p = exp(sc[idx] - mS[idx / ${CH}u]);
        sc[idx] = p;
        sum += p;
      }
      red[tid] = sum;
      workgroupBarrier();
      for (var st = ${seg / 2}u; st > 0u; st = st >> 1u) {
        if (tid % ${seg}u < st) { red[tid] += red[tid + st]; }
        workgroupBarrier();
      }
      if (tid % ${seg}u == 0u && hh < ${G}u) { lS[hh] = lS[hh] * cS[hh] + red[tid]; }
      workgroupBarrier();
    }
    // 4. p·V: lane = (head, channel pair); slices split the chunk's tokens
    for (var t = 0u; t < ${perThread}u; t++) {
      let lane = (tid % ${slices > 1 ? lanes : DEC_WG}u) + t * ${DEC_WG}u;
      let hh = lane / ${D / 2}u;
      let w = lane % ${D / 2}u;
      var a = acc[t] * cS[hh];
      let cnt = min(${CH}u, n + 1u - c0);
      for (var jj = slice; jj < cnt; jj += ${slices}u) {
        let jt = c0 + jj;
        var v: vec2f;
        if (jt < n) { v = v2(b, kvh, jt, w); } else { let o = row + ${(H + KV) * D}u + kvh * ${D}u + 2u * w; v = vec2f(QKV[o], QKV[o + 1u]); }
        a += sc[hh * ${CH}u + jj] * v;
      }
      acc[t] = a;
    }
    workgroupBarrier();
  }
  // combine slices and normalise
  for (var t = 0u; t < ${perThread}u; t++) {
    let lane = (tid % ${slices > 1 ? lanes : DEC_WG}u) + t * ${DEC_WG}u;
    let hh = lane / ${D / 2}u;
    let w = lane % ${D / 2}u;
    ${
      slices > 1
        ? `part[tid] = acc[t];
    workgroupBarrier();
    if (slice == 0u) {
      var s = part[tid];
      for (var k = 1u; k < ${slices}u; k++) { s += part[tid + k * ${lanes}u]; }
      O[(b * ${H}u + kvh * ${G}u + hh) * ${D / 2}u + w] = s / lS[hh];
    }`
        : `O[(b * ${H}u + kvh * ${G}u + hh) * ${D / 2}u + w] = acc[t] / lS[hh];`
    }
  }
}
`;
}

export function decodeAttentionGroups(s: AttentionShape & { batch: number }): number {
  return s.batch * s.kvHeads;
}

export function encodeGroups(pass: GPUComputePassEncoder, pipeline: GPUComputePipeline, group: GPUBindGroup, groups: number): void {
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, group);
  dispatchGroups(pass, groups);
}
