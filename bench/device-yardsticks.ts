/**
 * What a WebGPU device can do at best, measured with plain WGSL kernels in the benchmark's own
 * process: read bandwidth (a kernel that only reads a large buffer) and the f32 FMA rate (a kernel
 * of independent fused multiply-adds). Benchmarks report their kernels against these.
 */
import type { GpuContext } from '../src/webgpu/gpu-context.js';
import { median } from '../src/runs/serving-metrics.js';

/** Wall time of `reps` encodings of `body` in one pass and one submit, per encoding (ms). */
export async function timePass(ctx: GpuContext, body: (pass: GPUComputePassEncoder) => void, reps: number): Promise<number> {
  const enc = ctx.device.createCommandEncoder();
  const pass = enc.beginComputePass();
  for (let i = 0; i < reps; i++) body(pass);
  pass.end();
  const t0 = performance.now();
  ctx.device.queue.submit([enc.finish()]);
  await ctx.finish();
  return (performance.now() - t0) / reps;
}

/**
 * Per-encoding ms of several bodies taking turns: a warm-up of each (2 encodings), then `rounds`
 * rounds in which each is timed over `reps` encodings. Runs per body, in the bodies' order.
 */
export async function interleavedRuns(ctx: GpuContext, bodies: ((pass: GPUComputePassEncoder) => void)[], rounds = 7, reps = 10): Promise<number[][]> {
  for (const body of bodies) await timePass(ctx, body, 2);
  const runs: number[][] = bodies.map(() => []);
  for (let r = 0; r < rounds; r++) for (let k = 0; k < bodies.length; k++) runs[k]!.push(await timePass(ctx, bodies[k]!, reps));
  return runs;
}

/** The plain read kernel over a buffer of `bytes` (1,024 workgroups of 256 threads, grid-stride). */
function readPipeline(ctx: GpuContext, bytes: number): GPUComputePipeline {
  return ctx.pipeline(
    `@group(0) @binding(0) var<storage, read> a: array<vec4u>;
@group(0) @binding(1) var<storage, read_write> o: array<u32>;
@compute @workgroup_size(256) fn main(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let stride = nw.x * 256u; var s = vec4u(0u); var i = g.x;
  loop { if (i >= ${bytes / 16}u) { break; } s = s ^ a[i]; i = i + stride; }
  o[g.x] = s.x ^ s.y ^ s.z ^ s.w; }`,
    'read bandwidth',
  );
}

/**
 * A pass body that reads each of `buffers` (all of `bytes`) once with the plain read kernel, one
 * dispatch per buffer: the yardstick for a kernel that reads the same buffers in as many dispatches.
 * Returns the body and a function freeing its output buffer.
 */
export function readBody(ctx: GpuContext, buffers: GPUBuffer[], bytes: number): { body: (pass: GPUComputePassEncoder) => void; destroy(): void } {
  const out = ctx.alloc('scratch', 4 * 65536 * 4, 'bandwidth out');
  const p = readPipeline(ctx, bytes);
  const groups = buffers.map((b) => ctx.bindGroup(p, [b, out]));
  return {
    body: (pass) => {
      pass.setPipeline(p);
      for (const g of groups) {
        pass.setBindGroup(0, g);
        pass.dispatchWorkgroups(1024);
      }
    },
    destroy: () => out.destroy(),
  };
}

/** GB/s of a kernel that reads `bytes` once (median of 5 runs of 5). */
export async function readBandwidth(ctx: GpuContext, bytes: number): Promise<number> {
  const src = ctx.alloc('scratch', bytes, 'bandwidth src');
  const { body, destroy } = readBody(ctx, [src.buffer], bytes);
  await timePass(ctx, body, 1);
  const runs: number[] = [];
  for (let r = 0; r < 5; r++) runs.push(bytes / (await timePass(ctx, body, 5)) / 1e6);
  src.destroy();
  destroy();
  return median(runs);
}

/** GFLOP/s of plain f32 FMAs (8 independent chains per invocation, 2 FLOPs each). */
export async function fmaRate(ctx: GpuContext, groups = 4096, iters = 2048): Promise<number> {
  const out = ctx.alloc('scratch', groups * 256 * 4, 'fma out');
  const p = ctx.pipeline(
    `@group(0) @binding(0) var<storage, read_write> o: array<f32>;
@compute @workgroup_size(256) fn main(@builtin(global_invocation_id) g: vec3u) {
  var a = vec4f(f32(g.x) * 1e-7, 0.5, 0.25, 0.125); var b = a + vec4f(0.1);
  let m = vec4f(0.999999); let c = vec4f(1e-7);
  for (var i = 0u; i < ${iters}u; i++) { a = fma(a, m, c); b = fma(b, m, c); }
  o[g.x] = a.x + a.y + a.z + a.w + b.x + b.y + b.z + b.w; }`,
    'fma rate',
  );
  const bg = ctx.bindGroup(p, [out]);
  const body = (pass: GPUComputePassEncoder) => {
    pass.setPipeline(p);
    pass.setBindGroup(0, bg);
    pass.dispatchWorkgroups(groups);
  };
  await timePass(ctx, body, 1);
  const runs: number[] = [];
  for (let r = 0; r < 5; r++) runs.push((groups * 256 * iters * 8 * 2) / (await timePass(ctx, body, 1)) / 1e6);
  out.destroy();
  return median(runs);
}
