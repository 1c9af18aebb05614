/**
 * RoPE on the fused QKV rows, in place, and the new tokens' K/V handed to the cache.
 * Reference: rope.ref.ts.
 *
 * QKV row m = b·T + t holds [q (H·D) | k (KV·D) | v (KV·D)] (f32) of sequence b0 + b at slot
 * prm.slot + t. Its position is max(0, slot − start[b0 + b]) (left padding: pad slots sit at 0).
 * Angles come from a host-made table cosSin[pos][D/2] (f64 cos/sin of the f32 angle, as the ONNX
 * graph computes them), because GPU cos/sin are inexact far from zero.
 *
 * Layouts: 'interleaved' (llama2.c: channels 2i, 2i+1 rotate together) and 'half' (Hugging Face:
 * channels i and i + D/2). Each thread rotates four channels and so owns two whole u32 words of
 * the fp16 cache row in either layout.
 *
 * `write`: 'fp16' stores the rotated K and V of each row into the fp16 cache [B, KV, cap, D];
 * 'f32' copies them into a [rows, 2·KV·D] buffer (the host-method path reads them back);
 * 'none' leaves them in QKV for a store's own append kernel.
 */
import { dispatchGroups, LINEAR_GROUP } from '../gpu-context.js';

export type RopeLayout = 'interleaved' | 'half';
export type RopeWrite = 'fp16' | 'f32' | 'none';

export interface RopeShape {
  rows: number;
  /** Tokens per sequence in this pass. */
  T: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  layout: RopeLayout;
  write: RopeWrite;
  /** Cache capacity in slots per sequence (fp16 write). */
  cap: number;
}

export function ropeWgsl(s: RopeShape): string {
  const { rows, T, heads: H, kvHeads: KV, headDim: D, layout, write, cap } = s;
  if (D % 4 !== 0) throw new Error(`rope: head dim ${D} must be a multiple of 4`);
  const q4 = D / 4; // threads per head
  const rotHeads = H + KV;
  const rowLen = (H + 2 * KV) * D;
  const kOff = H * D;
  const vOff = (H + KV) * D;
  const half = D / 2;
  // channel pairs and cache words of quad j (0 ≤ j < D/4) of a head
  const chan =
    layout === 'interleaved'
      ? `let c0 = 4u * j; let c1 = 4u * j + 1u; let c2 = 4u * j + 2u; let c3 = 4u * j + 3u; let f0 = 2u * j; let f1 = 2u * j + 1u;`
      : `let c0 = 2u * j; let c1 = 2u * j + ${half}u; let c2 = 2u * j + 1u; let c3 = 2u * j + 1u + ${half}u; let f0 = 2u * j; let f1 = 2u * j + 1u;`;
  // words (in units of u32 = 2 halves) the quad's channels land in, and the values' order
  const words =
    layout === 'interleaved'
      ? { w0: '2u * j', w1: '2u * j + 1u', p0: 'vec2f(r0.x, r0.y)', p1: 'vec2f(r1.x, r1.y)' }
      : { w0: 'j', w1: `j + ${half / 2}u`, p0: 'vec2f(r0.x, r1.x)', p1: 'vec2f(r0.y, r1.y)' };
  const out =
    write === 'fp16'
      ? `@group(0) @binding(4) var<storage, read_write> Kc: array<u32>;
@group(0) @binding(5) var<storage, read_write> Vc: array<u32>;`
      : write === 'f32'
        ? `@group(0) @binding(4) var<storage, read_write> KVo: array<f32>;`
        : '';
  const store =
    write === 'fp16'
      ? `if (h >= ${H}u) {
      let kh = h - ${H}u;
      let base = ((bg * ${KV}u + kh) * ${cap}u + slot) * ${D / 2}u;
      Kc[base + ${words.w0}] = pack2x16float(${words.p0});
      Kc[base + ${words.w1}] = pack2x16float(${words.p1});
      let vrow = row + ${vOff}u + kh * ${D}u;
      let vv0 = vec2f(QKV[vrow + ${layout === 'interleaved' ? '4u * j' : '2u * j'}], QKV[vrow + ${layout === 'interleaved' ? '4u * j + 1u' : '2u * j + 1u'}]);
      let vv1 = vec2f(QKV[vrow + ${layout === 'interleaved' ? '4u * j + 2u' : `2u * j + ${half}u`}], QKV[vrow + ${layout === 'interleaved' ? '4u * j + 3u' : `2u * j + 1u + ${half}u`}]);
      Vc[base + ${words.w0}] = pack2x16float(vv0);
      Vc[base + ${words.w1}] = pack2x16float(vv1);
    }`
      : write === 'f32'
        ? `if (h >= ${H}u) {
      let kh = h - ${H}u;
      let o = wg * ${2 * KV * D}u + kh * ${D}u;
      KVo[o + c0] = r0.x; KVo[o + c1] = r0.y; KVo[o + c2] = r1.x; KVo[o + c3] = r1.y;
      let vrow = row + ${vOff}u + kh * ${D}u;
      let vo = o + ${KV * D}u;
      KVo[vo + c0] = QKV[vrow + c0]; KVo[vo + c1] = QKV[vrow + c1]; KVo[vo + c2] = QKV[vrow + c2]; KVo[vo + c3] = QKV[vrow + c3];
    }`
        : '';
  return `struct Prm { slot: u32, b0: u32 }
@group(0) @binding(0) var<storage, read_write> QKV: array<f32>;
@group(0) @binding(1) var<storage, read> cosSin: array<vec2f>;
@group(0) @binding(2) var<storage, read> starts: array<u32>;
@group(0) @binding(3) var<storage, read> prm: Prm;
${out}
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) gid3: vec3u, @builtin(local_invocation_index) tid: u32) {
  ${LINEAR_GROUP}
  if (wg >= ${rows}u) { return; }
  let b = wg / ${T}u;
  let t = wg % ${T}u;
  let bg = prm.b0 + b;
  let slot = prm.slot + t;
  let pos = u32(max(0i, i32(slot) - i32(starts[bg])));
  let row = wg * ${rowLen}u;
  for (var i = tid; i < ${rotHeads * q4}u; i += 64u) {
    let h = i / ${q4}u;
    let j = i % ${q4}u;
    ${chan}
    let base = row + select(${kOff}u + (h - ${H}u) * ${D}u, h * ${D}u, h < ${H}u);
    let cs0 = cosSin[pos * ${half}u + f0];
    let cs1 = cosSin[pos * ${half}u + f1];
    let x0 = QKV[base + c0]; let x1 = QKV[base + c1];
    let x2 = QKV[base + c2]; let x3 = QKV[base + c3];
    let r0 = vec2f(x0 * cs0.x - x1 * cs0.y, x0 * cs0.y + x1 * cs0.x);
    let r1 = vec2f(x2 * cs1.x - x3 * cs1.y, x2 * cs1.y + x3 * cs1.x);
    QKV[base + c0] = r0.x; QKV[base + c1] = r0.y;
    QKV[base + c2] = r1.x; QKV[base + c3] = r1.y;
    ${store}
  }
}
`;
}

/** cos/sin of every position and frequency, [maxPos][D/2] as (cos, sin) pairs. */
export function ropeTable(maxPos: number, headDim: number, invFreq: readonly number[]): Float32Array {
  const half = headDim / 2;
  if (invFreq.length !== half) throw new Error(`rope table: ${invFreq.length} frequencies for head dim ${headDim}`);
  const out = new Float32Array(maxPos * half * 2);
  const f32 = invFreq.map((f) => Math.fround(f));
  for (let p = 0; p < maxPos; p++) {
    for (let i = 0; i < half; i++) {
      const a = Math.fround(Math.fround(p) * f32[i]!);
      out[(p * half + i) * 2] = Math.cos(a);
      out[(p * half + i) * 2 + 1] = Math.sin(a);
    }
  }
  return out;
}

/** LLaMA's frequencies 1/θ^(2i/D). */
export function llamaInvFreq(headDim: number, theta: number): number[] {
  return Array.from({ length: headDim / 2 }, (_, i) => 1 / Math.pow(theta, (2 * i) / headDim));
}

export function encodeRope(pass: GPUComputePassEncoder, pipeline: GPUComputePipeline, group: GPUBindGroup, rows: number): void {
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, group);
  dispatchGroups(pass, rows);
}
