/**
 * Dummy weights made on the device: a counter-based hash of (seed, stream, element index) gives two
 * uniforms, Box–Muller turns them into a normal value, scaled by std and written as fp16 pairs in
 * u32 words (the engine's weight layout); or a constant f32 (norm weights). Elements past `valid`
 * in each row of `rowLen` are written 0 (the engine's padded FFN columns must stay zero). Every
 * value depends only on (seed, stream, index), never on the dispatch, so the same card gives the
 * same weights on every adapter (up to the device's log/cos/fp16 rounding). Reference: fillReference.
 */
import { dispatchGroups, LINEAR_GROUP, type EngineBuffer, type GpuContext } from '../gpu-context.js';

/** Params: [words, rowLen, valid, seed, stream, mode (0 normal fp16, 1 constant f32), std bits, value bits]. */
export const FILL_WGSL = `
@group(0) @binding(0) var<storage, read_write> out: array<u32>;
@group(0) @binding(1) var<storage, read> prm: array<u32, 8>;
fn pcg(v: u32) -> u32 {
  let s = v * 747796405u + 2891336453u;
  let w = ((s >> ((s >> 28u) + 4u)) ^ s) * 277803737u;
  return (w >> 22u) ^ w;
}
fn unit(h: u32) -> f32 { return (f32(h >> 8u) + 0.5) / 16777216.0; }
fn normal(key: u32, e: u32) -> f32 {
  let u1 = unit(pcg(key ^ e));
  let u2 = unit(pcg(pcg(key + 1u) ^ e));
  return sqrt(-2.0 * log(u1)) * cos(6.2831853 * u2);
}
fn value(key: u32, e: u32) -> f32 {
  if (e % prm[1] >= prm[2]) { return 0.0; }
  return normal(key, e) * bitcast<f32>(prm[6]);
}
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) gid3: vec3u, @builtin(local_invocation_index) tid: u32) {
  ${LINEAR_GROUP}
  let w = wg * 256u + tid;
  if (w >= prm[0]) { return; }
  if (prm[5] == 1u) { out[w] = prm[7]; return; }
  let key = pcg(prm[3] ^ pcg(prm[4]));
  out[w] = pack2x16float(vec2f(value(key, 2u * w), value(key, 2u * w + 1u)));
}
`;

export type FillSpec = { kind: 'normal'; std: number; seed: number; stream: number; rowLen?: number; valid?: number } | { kind: 'constant'; value: number };

const u32 = (x: number) => x >>> 0;
export function pcgHash(v: number): number {
  const s = u32(Math.imul(v, 747796405) + 2891336453);
  const w = u32(Math.imul(u32((s >>> ((s >>> 28) + 4)) ^ s), 277803737));
  return u32((w >>> 22) ^ w);
}

/** The kernel's values in float64 (before fp16 rounding), for tests: `count` elements from index 0. */
export function fillReference(spec: FillSpec, count: number): Float64Array {
  const out = new Float64Array(count);
  if (spec.kind === 'constant') return out.fill(Math.fround(spec.value));
  const key = pcgHash(u32(spec.seed ^ pcgHash(spec.stream)));
  const rowLen = spec.rowLen ?? count;
  const valid = spec.valid ?? rowLen;
  const unit = (h: number) => ((h >>> 8) + 0.5) / 16777216;
  for (let e = 0; e < count; e++) {
    if (e % rowLen >= valid) continue;
    const u1 = unit(pcgHash(u32(key ^ e)));
    const u2 = unit(pcgHash(u32(pcgHash(u32(key + 1)) ^ e)));
    out[e] = Math.sqrt(-2 * Math.log(u1)) * Math.cos(6.2831853 * u2) * Math.fround(spec.std);
  }
  return out;
}

/**
 * Fills the first `count` elements of `target` (fp16 for 'normal', f32 for 'constant') in one
 * dispatch of its own submit. Returns the params buffer: destroy it once the queue is done.
 */
export function encodeFill(ctx: GpuContext, target: EngineBuffer, count: number, spec: FillSpec): EngineBuffer {
  const words = spec.kind === 'normal' ? count / 2 : count;
  if (!Number.isInteger(words)) throw new Error(`fill: ${count} fp16 values do not make whole u32 words`);
  if (words * 4 > target.size) throw new Error(`fill: ${count} values do not fit buffer ${target.label} (${target.size} bytes)`);
  const prm = ctx.alloc('scratch', 32, 'fill params');
  const f = new Float32Array(2);
  const b = new Uint32Array(f.buffer);
  f[0] = spec.kind === 'normal' ? spec.std : 0;
  f[1] = spec.kind === 'constant' ? spec.value : 0;
  const rowLen = spec.kind === 'normal' ? (spec.rowLen ?? count) : 1;
  const valid = spec.kind === 'normal' ? (spec.valid ?? rowLen) : 1;
  ctx.write(prm, Uint32Array.of(words, rowLen, valid, spec.kind === 'normal' ? spec.seed >>> 0 : 0, spec.kind === 'normal' ? spec.stream >>> 0 : 0, spec.kind === 'normal' ? 0 : 1, b[0]!, b[1]!));
  const pipeline = ctx.pipeline(FILL_WGSL, 'fill');
  const group = ctx.bindGroup(pipeline, [target, prm]);
  const enc = ctx.device.createCommandEncoder();
  const pass = enc.beginComputePass();
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, group);
  dispatchGroups(pass, Math.ceil(words / 256));
  pass.end();
  ctx.device.queue.submit([enc.finish()]);
  return prm;
}
