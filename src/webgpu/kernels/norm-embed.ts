/**
 * Token embedding and RMSNorm. Reference: norm-embed.ref.ts.
 *  - embed: X[m, :] = f32(E[ids[m], :]) (E fp16 [V, dim]).
 *  - rmsnorm: Y[r, :] = X[r·inStride + inOffset, :] / sqrt(mean(x²) + eps) · w (w f32). The row
 *    mapping lets the final norm read only each sequence's last prompt position at prefill, and
 *    write it at the sub-batch's rows (outOffset).
 */
import { dispatchGroups, LINEAR_GROUP } from '../gpu-context.js';
import { f16Enable, f32Lit, HALF8_STRUCT, halfBuffer } from './wgsl-common.js';

export function embedWgsl(o: { rows: number; dim: number; f16: boolean }): string {
  const { rows, dim, f16 } = o;
  if (dim % 8 !== 0) throw new Error(`embed: dim ${dim} must be a multiple of 8`);
  return `${f16Enable(f16)}${HALF8_STRUCT}
@group(0) @binding(0) var<storage, read> ids: array<u32>;
${halfBuffer('E', 1, f16)}
@group(0) @binding(2) var<storage, read_write> X: array<vec4f>;
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) gid3: vec3u, @builtin(local_invocation_index) tid: u32) {
  ${LINEAR_GROUP}
  if (wg >= ${rows}u) { return; }
  let id = ids[wg];
  for (var i = tid; i < ${dim / 8}u; i += 64u) {
    let h = E8(id * ${dim / 8}u + i);
    X[wg * ${dim / 4}u + 2u * i] = h.lo;
    X[wg * ${dim / 4}u + 2u * i + 1u] = h.hi;
  }
}
`;
}

export function rmsnormWgsl(o: { rows: number; dim: number; eps: number; inStride?: number; inOffset?: number; outOffset?: number }): string {
  const { rows, dim, eps } = o;
  const outOffset = o.outOffset ?? 0;
  const inStride = o.inStride ?? 1;
  const inOffset = o.inOffset ?? 0;
  if (dim % 4 !== 0) throw new Error(`rmsnorm: dim ${dim} must be a multiple of 4`);
  const T = 128;
  return `@group(0) @binding(0) var<storage, read> X: array<vec4f>;
@group(0) @binding(1) var<storage, read> w: array<vec4f>;
@group(0) @binding(2) var<storage, read_write> Y: array<vec4f>;
var<workgroup> red: array<f32, ${T}>;
@compute @workgroup_size(${T})
fn main(@builtin(workgroup_id) gid3: vec3u, @builtin(local_invocation_index) tid: u32) {
  ${LINEAR_GROUP}
  if (wg >= ${rows}u) { return; }
  let src = (wg * ${inStride}u + ${inOffset}u) * ${dim / 4}u;
  var s = 0.0;
  for (var i = tid; i < ${dim / 4}u; i += ${T}u) { let v = X[src + i]; s += dot(v, v); }
  red[tid] = s;
  workgroupBarrier();
  for (var k = ${T / 2}u; k > 0u; k = k >> 1u) {
    if (tid < k) { red[tid] += red[tid + k]; }
    workgroupBarrier();
  }
  // x / rms · w, in the order the ONNX graph computes it.
  let rms = sqrt(red[0] / ${f32Lit(dim)} + ${f32Lit(eps)});
  for (var i = tid; i < ${dim / 4}u; i += ${T}u) { Y[(wg + ${outOffset}u) * ${dim / 4}u + i] = X[src + i] / rms * w[i]; }
}
`;
}

export function encodeRows(pass: GPUComputePassEncoder, pipeline: GPUComputePipeline, group: GPUBindGroup, rows: number): void {
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, group);
  dispatchGroups(pass, rows);
}
