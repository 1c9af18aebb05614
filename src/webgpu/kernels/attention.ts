/**
 * Prefill attention. Reference: reference.ts (attentionRef). Decode attention lives in
 * decode-attention.ts and is re-exported here.
 *
 * Masking follows the ONNX graph the harness builds (build-llama-onnx.ts), so that the engine's
 * tokens match onnxruntime's: sequence b's slots before starts[b] are left padding and masked
 * out; a query that is itself padding (prefill only) sees every key of the pass with equal weight
 * (the graph's finite −1e9 bias makes such a row a uniform average; its K/V stay masked for
 * every real query, but cache methods see them, so they must match too).
 *
 * Causal attention over the pass's own rotated K/V in the QKV rows (exact f32, as the graph's
 * prefill). One workgroup per (sequence, KV head, tile of queries); 64 threads each own one
 * (query, head) row; K/V tiles go through workgroup memory; online softmax.
 */
import { LINEAR_GROUP } from '../gpu-context.js';
import { rowLen, type AttentionShape } from './decode-attention.js';
import { f32Lit } from './wgsl-common.js';

export * from './decode-attention.js';

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
