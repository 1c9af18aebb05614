/**
 * The engine's decode/prefill matmul (src/webgpu/kernels/matmul.ts) on its own, llm.c style: each
 * kernel that can serve a shape ('row', 'row4' and 'row8' to M = 8, 'tiled', and 'splitk' where it splits K), timed
 * interleaved in one process, reported as achieved TFLOP/s
 * against the plain f32 FMA rate and as weight GB/s against the plain read bandwidth, both
 * measured here. Shapes: LLaMA-2-7B's projections (4096 × 4096, the 11008-wide SwiGLU pair) and the
 * embedded model's, at the batch sizes decode and prefill use. Prints a table and, with --json, a
 * report; asserts nothing:
 *
 *   node dist/bench/engine-matmul.js [--m 1,8,32,128,512] [--shapes 7b,embedded] [--json FILE] [--choice-out FILE]
 *
 * --choice-out writes the fastest kernels in total (small M, large M) as MINICACHE_MATMUL's value,
 * so a device script can run what follows with them (ci/device-engine.sh).
 *
 * What to read from it: where weight GB/s is far below the read bandwidth and TFLOP/s far below
 * the FMA rate at once, the kernel leaves the GPU idle (too few workgroups, or a serial chain per
 * workgroup), not bound by memory or arithmetic.
 */
import { writeFileSync } from 'node:fs';
import { median } from '../src/runs/serving-metrics.js';
import { GpuContext } from '../src/webgpu/gpu-context.js';
import { MatmulOp, matmulGroups, SMALL_M, splitsFor, SPLIT_K_TARGET_GROUPS, type MatmulKernel, type MatmulShape } from '../src/webgpu/kernels/matmul.js';
import { nodeGpu } from '../runners/node/webgpu-device.js';
import { fmaRate, interleavedRuns, readBandwidth } from './device-yardsticks.js';
import { fastestChoice, SPLIT_TARGETS, type Timed } from './matmul-choice.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : def;
}
const Ms = arg('m', '1,8,32,128,512').split(',').map(Number);
const sets = new Set(arg('shapes', '7b,embedded').split(','));
const jsonOut = arg('json', '');
const choiceOut = arg('choice-out', '');

interface Variant {
  name: string;
  kernel: MatmulKernel;
  target?: number;
}

/** [label, N, K, epilogue] per projection. */
const SHAPES: Record<string, [string, number, number, MatmulShape['epilogue']][]> = {
  '7b': [
    ['7b wq (4096×4096)', 4096, 4096, 'store'],
    ['7b w1|w3 swiglu (22016×4096)', 22016, 4096, 'swiglu'],
    ['7b w2 (4096×11008)', 4096, 11008, 'add'],
  ],
  embedded: [
    ['embedded wqkv (512×256)', 512, 256, 'store'],
    ['embedded w1|w3 swiglu (1152×256)', 1152, 256, 'swiglu'],
    ['embedded w2 (256×576)', 256, 576, 'add'],
  ],
};

const ctx = await nodeGpu();
const targetContexts = new Map<number, GpuContext>();
/** The same device with split-K aiming for `target` workgroups (its own pipeline cache). */
function contextFor(target: number): GpuContext {
  if (target === (ctx.matmul.splitGroups ?? SPLIT_K_TARGET_GROUPS)) return ctx;
  let c = targetContexts.get(target);
  if (!c) {
    c = new GpuContext(ctx.device, ctx.adapter, { f16: ctx.f16, matmul: { ...ctx.matmul, splitGroups: target } });
    targetContexts.set(target, c);
  }
  return c;
}
const software = ctx.adapter.fallback;
console.log(`engine matmul on ${ctx.adapter.description ?? ctx.adapter.vendor}${software ? ' — SOFTWARE ADAPTER: not GPU timings' : ''}; shader-f16 ${ctx.f16}`);
const bw = await readBandwidth(ctx, Math.min((software ? 64 : 1024) * 2 ** 20, Math.floor(ctx.limits.maxStorageBufferBindingSize / 16) * 16));
const fma = await fmaRate(ctx);
console.log(`plain read bandwidth ${bw.toFixed(0)} GB/s; plain f32 FMA ${(fma / 1000).toFixed(2)} TFLOP/s`);

const rows: Record<string, unknown>[] = [];
for (const set of Object.keys(SHAPES).filter((s) => sets.has(s))) {
  for (const [label, N, K, epilogue] of SHAPES[set]!) {
    const w = ctx.alloc('weights', N * K * 2, `bench ${label} weights`);
    // small values: the epilogues stay finite; the timings do not depend on them
    const half = new Uint16Array(N * K);
    for (let i = 0; i < half.length; i++) half[i] = 0x2000 + (i % 97);
    ctx.write(w, half);
    for (const M of Ms) {
      if (software && M * N * K > 2 ** 26) continue; // SwiftShader: minutes per shape
      const x = ctx.alloc('scratch', M * K * 4, 'bench x');
      ctx.write(x, Float32Array.from({ length: M * K }, (_, i) => Math.sin(i) * 0.01));
      const y = ctx.alloc('scratch', M * (epilogue === 'swiglu' ? N / 2 : N) * 4, 'bench y');
      const s: MatmulShape = { M, N, K, epilogue };
      // 'splitk' only where it splits (else it is 'tiled'), at each workgroup target that splits
      // differently; SwiftShader gets the register kernel
      const split: Variant[] = [];
      for (const target of SPLIT_TARGETS) {
        const S = splitsFor(s, target);
        if (S > 1 && !split.some((v) => splitsFor(s, v.target) === S)) split.push({ name: target === SPLIT_K_TARGET_GROUPS ? 'splitk' : `splitk@${target}`, kernel: 'splitk', target });
      }
      const plain = (names: MatmulKernel[]): Variant[] => names.map((k) => ({ name: k, kernel: k }));
      const kernels: Variant[] = software ? plain(['register']) : M <= SMALL_M ? [...plain(['row', 'row4', 'row8', 'tiled']), ...split] : [...plain(['tiled']), ...split];
      const ops = kernels.map((v) => new MatmulOp(v.target ? contextFor(v.target) : ctx, s, x.buffer, w.buffer, y.buffer, label, v.kernel));
      const runs = await interleavedRuns(ctx, ops.map((op) => (pass: GPUComputePassEncoder) => op.encode(pass)), software ? 2 : 7, software ? 1 : 10);
      kernels.forEach(({ name: k, kernel, target }, i) => {
        const ms = median(runs[i]!);
        const flops = 2 * M * N * K;
        const tflops = flops / ms / 1e9;
        const wGBps = (N * K * 2) / ms / 1e6;
        const row = { shape: label, M, N, K, epilogue, kernel: k, workgroups: matmulGroups(s, kernel, target), ms, minMs: Math.min(...runs[i]!), maxMs: Math.max(...runs[i]!), tflops, ofFma: tflops / (fma / 1000), weightGBps: wGBps, ofReadBandwidth: wGBps / bw };
        rows.push(row);
        console.log(
          `${label.padEnd(32)} M ${String(M).padStart(4)} ${k.padEnd(12)} ${String(row.workgroups).padStart(6)} wg  ${ms.toFixed(3)} ms [${row.minMs.toFixed(3)}–${row.maxMs.toFixed(3)}]  ${tflops.toFixed(2)} TFLOP/s (${(100 * row.ofFma).toFixed(0)}% of FMA)  weights ${wGBps.toFixed(0)} GB/s (${(100 * row.ofReadBandwidth).toFixed(0)}% of read)`,
        );
      });
      for (const op of ops) op.destroy();
      x.destroy();
      y.destroy();
    }
    w.destroy();
  }
}
const choice = software ? undefined : fastestChoice(rows as unknown as Timed[]);
if (choice) console.log(`fastest in total over the shapes timed: MINICACHE_MATMUL=${choice}`);
if (choiceOut && choice) writeFileSync(choiceOut, `${choice}\n`);
if (jsonOut) writeFileSync(jsonOut, JSON.stringify({ adapter: ctx.adapter, f16: ctx.f16, readBandwidthGBps: bw, fmaGflops: fma, rows, ...(choice ? { fastest: choice } : {}) }, null, 2));
process.exit(0);
