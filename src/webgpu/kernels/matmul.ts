/**
 * Y[M, N] (op)= X[M, K] · W[N, K]ᵀ: activations f32, weights fp16 (rows as llama2.c and Hugging
 * Face store them, [out, in]), f32 accumulation. Reference: matmul.ref.ts.
 *
 * Three kernels:
 *  - tiled (M > SMALL_M on a GPU): 64×64 output tiles, 256 threads each computing a 4×4 block,
 *    K in steps of 32 through workgroup memory. Prefill and large-batch decode.
 *  - row-parallel (M ≤ SMALL_M on a GPU): one workgroup per output column n streams W's row once
 *    for all M rows (batch-1 decode is a weight-bandwidth problem, not a FLOP one).
 *  - register-tiled (software adapters): each thread computes 4 rows × 4 columns straight from
 *    memory, no workgroup memory, no barriers. SwiftShader runs barriers as coroutine switches
 *    (the tiled kernel ran ~80× slower than this one there), so CI gets this kernel; GPUs get the
 *    other two. Tests check all three against the reference.
 * Epilogues: 'store' (Y = acc), 'add' (Y += acc: the residual stream), 'swiglu' (W's rows
 * interleave gate and up, Y[m, n/2] = silu(gate)·up: the feed-forward's w1/w3 in one pass).
 * K must be a multiple of 8 (one 16-byte group of halves).
 */
import { dispatchGroups, LINEAR_GROUP, type GpuContext } from '../gpu-context.js';
import { f16Enable, f32Lit, HALF8_STRUCT, halfBuffer } from './wgsl-common.js';
import { ropeEpilogueBindings, ropeEpilogueBuffers, ropeEpilogueDecl, ropeEpilogueProblem, ropeEpilogueWgsl, ropeRowMapWgsl, type RopeEpilogue } from './rope-epilogue.js';

export type MatmulEpilogue = 'store' | 'add' | 'swiglu';

export interface MatmulShape {
  M: number;
  N: number;
  K: number;
  epilogue: MatmulEpilogue;
}

/** Largest M served by the row-parallel kernel. */
export const SMALL_M = 8;
const ROW_THREADS = 128;

function epilogue(op: MatmulEpilogue, N: number): { decl: string; store: (m: string, n: string, v: string) => string } {
  if (op === 'swiglu') {
    return {
      decl: '',
      // gate at even n, up at n + 1: one thread holds both.
      store: () => '',
    };
  }
  return {
    decl: '',
    store: (m, n, v) => (op === 'add' ? `Y[${m} * ${N}u + ${n}] = Y[${m} * ${N}u + ${n}] + ${v};` : `Y[${m} * ${N}u + ${n}] = ${v};`),
  };
}

export function tiledMatmulWgsl(s: MatmulShape, f16: boolean, splits = 1): string {
  const { M, N, K, epilogue: op } = s;
  if (K % 8 !== 0) throw new Error(`matmul: K = ${K} must be a multiple of 8`);
  if (op === 'swiglu' && N % 2 !== 0) throw new Error('matmul: swiglu needs an even N');
  const tilesN = Math.ceil(N / 64);
  const tiles = Math.ceil(M / 64) * tilesN;
  const kPer = splitLength(K, splits);
  const outCols = op === 'swiglu' ? N / 2 : N;
  const ep = epilogue(op, N);
  // split-K: each split's partial sums go to P[split][m][n]; splitReduceWgsl adds them and applies the epilogue
  const store =
    splits > 1
      ? `for (var j = 0u; j < 4u; j++) {
          let n = n0 + tx * 4u + j;
          if (n < ${N}u) { Y[(split * ${M}u + m) * ${N}u + n] = acc[i][j]; }
        }`
      : op === 'swiglu'
      ? `for (var j = 0u; j < 4u; j += 2u) {
          let n = n0 + tx * 4u + j;
          if (n < ${N}u) { let g = acc[i][j]; let u = acc[i][j + 1u]; Y[m * ${outCols}u + n / 2u] = g / (1.0 + exp(-g)) * u; }
        }`
      : `for (var j = 0u; j < 4u; j++) {
          let n = n0 + tx * 4u + j;
          if (n < ${N}u) { ${ep.store('m', 'n', 'acc[i][j]')} }
        }`;
  return `${f16Enable(f16)}${HALF8_STRUCT}
@group(0) @binding(0) var<storage, read> X: array<vec4f>;
${halfBuffer('W', 1, f16)}
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;
var<workgroup> xs: array<vec4f, 512>; // [k 0..31][m/4 0..15]
var<workgroup> ws: array<vec4f, 512>; // [k 0..31][n/4 0..15]

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) gid3: vec3u, @builtin(local_invocation_index) tid: u32) {
  ${LINEAR_GROUP}
  if (wg >= ${tiles * splits}u) { return; } // uniform: the whole workgroup leaves
  let split = wg / ${tiles}u;
  let tm = (wg % ${tiles}u) / ${tilesN}u;
  let tn = wg % ${tilesN}u;
  let m0 = tm * 64u;
  let n0 = tn * 64u;
  let tx = tid % 16u;
  let ty = tid / 16u;
  let lr = tid / 4u;
  let lc = (tid % 4u) * 8u;
  var acc: array<vec4f, 4>;
  for (var k0 = split * ${kPer}u; k0 < min(${K}u, (split + 1u) * ${kPer}u); k0 += 32u) {
    let k = k0 + lc;
    let m = m0 + lr;
    var a0 = vec4f(0.0);
    var a1 = vec4f(0.0);
    if (m < ${M}u && k < ${K}u) {
      let base = (m * ${K}u + k) / 4u;
      a0 = X[base];
      a1 = X[base + 1u];
    }
    let n = n0 + lr;
    var h = Half8(vec4f(0.0), vec4f(0.0));
    if (n < ${N}u && k < ${K}u) { h = W8((n * ${K}u + k) / 8u); }
    let col = lr / 4u;
    let c = lr % 4u;
    for (var j = 0u; j < 4u; j++) {
      xs[(lc + j) * 16u + col][c] = a0[j];
      xs[(lc + 4u + j) * 16u + col][c] = a1[j];
      ws[(lc + j) * 16u + col][c] = h.lo[j];
      ws[(lc + 4u + j) * 16u + col][c] = h.hi[j];
    }
    workgroupBarrier();
    for (var kk = 0u; kk < 32u; kk++) {
      let a = xs[kk * 16u + ty];
      let b = ws[kk * 16u + tx];
      acc[0] += a.x * b;
      acc[1] += a.y * b;
      acc[2] += a.z * b;
      acc[3] += a.w * b;
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < 4u; i++) {
    let m = m0 + ty * 4u + i;
    if (m < ${M}u) {
      ${store}
    }
  }
}
`;
}

/** K per split: whole 32-wide steps of the tiled kernel. */
function splitLength(K: number, splits: number): number {
  return Math.ceil(Math.ceil(K / 32) / splits) * 32;
}

/** Target workgroups for split-K: about two per SM of a large GPU (an H100 or H200 has 132). */
export const SPLIT_K_TARGET_GROUPS = 264;

/**
 * Splits of K for the split-K tiled kernel: enough that the 64 × 64 tiles times the splits reach
 * SPLIT_K_TARGET_GROUPS workgroups, at most 16 and never a split without a 32-wide step. A shape
 * with enough tiles gets 1 (the plain tiled kernel).
 */
export function splitsFor(s: MatmulShape, target = SPLIT_K_TARGET_GROUPS): number {
  const tiles = Math.ceil(s.M / 64) * Math.ceil(s.N / 64);
  const steps = Math.ceil(s.K / 32);
  const want = Math.min(16, steps, Math.max(1, Math.ceil(target / tiles)));
  // the splits that splitLength makes non-empty
  return Math.ceil(steps / Math.ceil(steps / want));
}

/** Adds the splits' partial sums P[split][m][n] and applies the epilogue into Y. */
export function splitReduceWgsl(s: MatmulShape, splits: number): string {
  const { M, N, epilogue: op } = s;
  const outCols = op === 'swiglu' ? N / 2 : N;
  const sum = (n: string) => `var v${n} = 0.0; for (var sp = 0u; sp < ${splits}u; sp++) { v${n} += P[(sp * ${M}u + m) * ${N}u + ${n}]; }`;
  const body =
    op === 'swiglu'
      ? `let n = 2u * c; ${sum('n')} let n1 = n + 1u; ${sum('n1')} Y[m * ${outCols}u + c] = vn / (1.0 + exp(-vn)) * vn1;`
      : `let n = c; ${sum('n')} ${epilogue(op, N).store('m', 'n', 'vn')}`;
  return `@group(0) @binding(0) var<storage, read> P: array<f32>;
@group(0) @binding(1) var<storage, read_write> Y: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) gid3: vec3u, @builtin(local_invocation_index) tid: u32) {
  ${LINEAR_GROUP}
  let i = wg * 64u + tid;
  if (i >= ${M * outCols}u) { return; }
  let m = i / ${outCols}u;
  let c = i % ${outCols}u;
  ${body}
}
`;
}

export function rowMatmulWgsl(s: MatmulShape, f16: boolean): string {
  const { M, N, K, epilogue: op } = s;
  if (K % 8 !== 0) throw new Error(`matmul: K = ${K} must be a multiple of 8`);
  if (M > SMALL_M) throw new Error(`matmul: row kernel serves M ≤ ${SMALL_M}, got ${M}`);
  const K8 = K / 8;
  const T = ROW_THREADS;
  // swiglu: a workgroup computes the gate row (2j) and the up row (2j + 1) of one output column j.
  const rows = op === 'swiglu' ? 2 : 1;
  const outCols = op === 'swiglu' ? N / 2 : N;
  const accs = Array.from({ length: rows }, (_, r) => `var acc${r}: array<f32, ${M}>;`).join('\n  ');
  const loop = Array.from(
    { length: rows },
    (_, r) => `{
      let w = W8((col * ${rows}u + ${r}u) * ${K8}u + i);
      for (var m = 0u; m < ${M}u; m++) {
        let xb = (m * ${K}u) / 4u + 2u * i;
        acc${r}[m] += dot(w.lo, X[xb]) + dot(w.hi, X[xb + 1u]);
      }
    }`,
  ).join('\n    ');
  const reduce = Array.from(
    { length: rows },
    (_, r) => `for (var m = 0u; m < ${M}u; m++) { red[(${r}u * ${M}u + m) * ${T}u + tid] = acc${r}[m]; }`,
  ).join('\n  ');
  const final =
    op === 'swiglu'
      ? `let g = red[m * ${T}u]; let u = red[(${M}u + m) * ${T}u]; Y[m * ${outCols}u + col] = g / (1.0 + exp(-g)) * u;`
      : op === 'add'
        ? `Y[m * ${N}u + col] = Y[m * ${N}u + col] + red[m * ${T}u];`
        : `Y[m * ${N}u + col] = red[m * ${T}u];`;
  return `${f16Enable(f16)}${HALF8_STRUCT}
@group(0) @binding(0) var<storage, read> X: array<vec4f>;
${halfBuffer('W', 1, f16)}
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;
var<workgroup> red: array<f32, ${rows * M * T}>;

@compute @workgroup_size(${T})
fn main(@builtin(workgroup_id) gid3: vec3u, @builtin(local_invocation_index) tid: u32) {
  ${LINEAR_GROUP}
  let col = wg;
  if (col >= ${outCols}u) { return; }
  ${accs}
  for (var i = tid; i < ${K8}u; i += ${T}u) {
    ${loop}
  }
  ${reduce}
  workgroupBarrier();
  for (var s = ${T / 2}u; s > 0u; s = s >> 1u) {
    if (tid < s) {
      for (var r = 0u; r < ${rows * M}u; r++) { red[r * ${T}u + tid] += red[r * ${T}u + tid + s]; }
    }
    workgroupBarrier();
  }
  if (tid < ${M}u) {
    let m = tid;
    ${final}
  }
}
`;
}

/**
 * Row-group kernel (M ≤ SMALL_M): like 'row', but a workgroup computes `rows` weight rows (4 or 8;
 * for SwiGLU that many interleaved gate/up rows, so rows/2 outputs). Each thread loads its slice of
 * X once per 16-byte step for all of the group's rows, so X is read rows-fold less than by 'row',
 * each thread has `rows` independent weight loads in flight, and one reduction serves them all.
 *
 * With `norm`, X is the residual stream and the kernel applies the RMSNorm before it (gain G at
 * binding 3): every workgroup reads all of each X row anyway, so it sums the squares as it goes and
 * divides by the row's RMS at the end — Σ W·(x·g) / rms, the norm's x / rms · g regrouped — which
 * saves the norm's dispatch (decode at batch ≤ 8 is as much dispatches as bandwidth).
 */
export function rowGroupMatmulWgsl(s: MatmulShape, f16: boolean, rows: number, norm?: { eps: number }, rope?: RopeEpilogue): string {
  const { M, N, K, epilogue: op } = s;
  if (rope) {
    const why = ropeEpilogueProblem(rope, rows) ?? (op !== 'store' || N !== (rope.heads + 2 * rope.kvHeads) * rope.headDim ? `the shape ${M}×${N} (${op}) is not a QKV projection` : null);
    if (why) throw new Error(`matmul: cannot apply RoPE in the epilogue: ${why}`);
  }
  if (K % 8 !== 0) throw new Error(`matmul: K = ${K} must be a multiple of 8`);
  if (M > SMALL_M) throw new Error(`matmul: row-group kernel serves M ≤ ${SMALL_M}, got ${M}`);
  if (op === 'swiglu' && (N % 2 !== 0 || rows % 2 !== 0)) throw new Error('matmul: swiglu needs an even N and an even row group');
  const K8 = K / 8;
  const A = rows * M; // accumulators per thread
  const NS = norm ? M : 0; // sums of squares per thread
  const T = rowGroupThreads(s, rows, Boolean(norm));
  const outCols = op === 'swiglu' ? N / 2 : N;
  // the reduced value of accumulator a, divided by its row's RMS when the norm is fused
  const val = (a: string, m: string) => (norm ? `(red[(${a}) * ${T}u] / rms[${m}])` : `red[(${a}) * ${T}u]`);
  const final = rope
    ? ropeEpilogueWgsl(rope, rows, M, T, val)
    : op === 'swiglu'
      ? `for (var e = tid; e < ${(rows / 2) * M}u; e += ${T}u) {
    let p = e / ${M}u;
    let m = e % ${M}u;
    let col = wg * ${rows / 2}u + p;
    if (col < ${outCols}u) { let g = ${val(`2u * p * ${M}u + m`, 'm')}; let u = ${val(`(2u * p + 1u) * ${M}u + m`, 'm')}; Y[m * ${outCols}u + col] = g / (1.0 + exp(-g)) * u; }
  }`
      : `for (var e = tid; e < ${A}u; e += ${T}u) {
    let r = e / ${M}u;
    let m = e % ${M}u;
    let n = wg * ${rows}u + r;
    if (n < ${N}u) { ${op === 'add' ? `Y[m * ${N}u + n] = Y[m * ${N}u + n] + ${val('e', 'm')};` : `Y[m * ${N}u + n] = ${val('e', 'm')};`} }
  }`;
  return `${f16Enable(f16)}${HALF8_STRUCT}
@group(0) @binding(0) var<storage, read> X: array<vec4f>;
${halfBuffer('W', 1, f16)}
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;
${norm ? '@group(0) @binding(3) var<storage, read> G: array<vec4f>;\n' : ''}${rope ? ropeEpilogueDecl(rope, norm ? 4 : 3) + ropeRowMapWgsl(rope, rows) : ''}var<workgroup> red: array<f32, ${(A + NS) * T}>;
${norm ? `var<workgroup> rms: array<f32, ${M}>;\n` : ''}
@compute @workgroup_size(${T})
fn main(@builtin(workgroup_id) gid3: vec3u, @builtin(local_invocation_index) tid: u32) {
  ${LINEAR_GROUP}
  if (wg >= ${Math.ceil(N / rows)}u) { return; }
  let r0 = wg * ${rows}u;
  var acc: array<f32, ${A + NS}>;
  for (var i = tid; i < ${K8}u; i += ${T}u) {
    var xlo: array<vec4f, ${M}>;
    var xhi: array<vec4f, ${M}>;
    ${norm ? 'let g0 = G[2u * i];\n    let g1 = G[2u * i + 1u];' : ''}
    for (var m = 0u; m < ${M}u; m++) {
      ${
        norm
          ? `let a = X[m * ${K / 4}u + 2u * i];
      let b = X[m * ${K / 4}u + 2u * i + 1u];
      acc[${A}u + m] += dot(a, a) + dot(b, b);
      xlo[m] = a * g0;
      xhi[m] = b * g1;`
          : `xlo[m] = X[m * ${K / 4}u + 2u * i];
      xhi[m] = X[m * ${K / 4}u + 2u * i + 1u];`
      }
    }
    for (var r = 0u; r < ${rows}u; r++) {
      let w = W8(${rope ? 'wrow(wg, r)' : `min(r0 + r, ${N - 1}u)`} * ${K8}u + i);
      for (var m = 0u; m < ${M}u; m++) { acc[r * ${M}u + m] += dot(w.lo, xlo[m]) + dot(w.hi, xhi[m]); }
    }
  }
  for (var a = 0u; a < ${A + NS}u; a++) { red[a * ${T}u + tid] = acc[a]; }
  workgroupBarrier();
  for (var s = ${T / 2}u; s > 0u; s = s >> 1u) {
    if (tid < s) {
      for (var a = 0u; a < ${A + NS}u; a++) { red[a * ${T}u + tid] += red[a * ${T}u + tid + s]; }
    }
    workgroupBarrier();
  }
  ${norm ? `if (tid < ${M}u) { rms[tid] = sqrt(red[(${A}u + tid) * ${T}u] / ${f32Lit(K)} + ${f32Lit(norm.eps)}); }\n  workgroupBarrier();` : ''}
  ${final}
}
`;
}

/** Threads of a row-group workgroup: 128, fewer where its workgroup arrays would pass 16 KiB (at least 32). */
export function rowGroupThreads(s: MatmulShape, rows: number, norm = false): number {
  let T = ROW_THREADS;
  // the reduction array, and with the norm each row's RMS, within 16 KiB (WebGPU's guaranteed minimum)
  while (T > 32 && (rows + (norm ? 1 : 0)) * s.M * T + (norm ? s.M : 0) > 4096) T /= 2;
  return T;
}

export function registerMatmulWgsl(s: MatmulShape, f16: boolean): string {
  const { M, N, K, epilogue: op } = s;
  if (K % 8 !== 0) throw new Error(`matmul: K = ${K} must be a multiple of 8`);
  if (op === 'swiglu' && N % 2 !== 0) throw new Error('matmul: swiglu needs an even N');
  const tilesN = Math.ceil(N / 4);
  const tilesM = Math.ceil(M / 4);
  const outCols = op === 'swiglu' ? N / 2 : N;
  const K8 = K / 8;
  const store =
    op === 'swiglu'
      ? `for (var j = 0u; j < 4u; j += 2u) {
          let n = n0 + j;
          if (n < ${N}u) { let g = acc[i][j]; let u = acc[i][j + 1u]; Y[m * ${outCols}u + n / 2u] = g / (1.0 + exp(-g)) * u; }
        }`
      : `for (var j = 0u; j < 4u; j++) {
          let n = n0 + j;
          if (n < ${N}u) { ${op === 'add' ? `Y[m * ${N}u + n] = Y[m * ${N}u + n] + acc[i][j];` : `Y[m * ${N}u + n] = acc[i][j];`} }
        }`;
  return `${f16Enable(f16)}${HALF8_STRUCT}
@group(0) @binding(0) var<storage, read> X: array<vec4f>;
${halfBuffer('W', 1, f16)}
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) gid3: vec3u, @builtin(local_invocation_index) tid: u32) {
  ${LINEAR_GROUP}
  let t = wg * 64u + tid;
  if (t >= ${tilesN * tilesM}u) { return; }
  let n0 = (t % ${tilesN}u) * 4u;
  let m0 = (t / ${tilesN}u) * 4u;
  var acc: array<vec4f, 4>;
  for (var i = 0u; i < ${K8}u; i++) {
    var w: array<Half8, 4>;
    for (var j = 0u; j < 4u; j++) { w[j] = W8(min(n0 + j, ${N - 1}u) * ${K8}u + i); }
    for (var r = 0u; r < 4u; r++) {
      let m = min(m0 + r, ${M - 1}u);
      let a0 = X[m * ${K / 4}u + 2u * i];
      let a1 = X[m * ${K / 4}u + 2u * i + 1u];
      acc[r] += vec4f(dot(a0, w[0].lo) + dot(a1, w[0].hi), dot(a0, w[1].lo) + dot(a1, w[1].hi), dot(a0, w[2].lo) + dot(a1, w[2].hi), dot(a0, w[3].lo) + dot(a1, w[3].hi));
    }
  }
  for (var i = 0u; i < 4u; i++) {
    let m = m0 + i;
    if (m < ${M}u) {
      ${store}
    }
  }
}
`;
}

/**
 * 'splitk' is the tiled kernel with K split over more workgroups (splitsFor) and a second pass that
 * adds the splits: for shapes whose 64 × 64 tiles are too few to fill a GPU (decode at batch 9–64
 * on 4,096-wide projections, the embedded model's narrow ones). 'row4' and 'row8' are the
 * row-group kernel (rowGroupMatmulWgsl) with 4 or 8 weight rows per workgroup.
 */
export type MatmulKernel = 'tiled' | 'row' | 'row4' | 'row8' | 'register' | 'splitk';

/** Kernels for M ≤ SMALL_M and for larger M on a GPU; a host may override the defaults (GpuContext.matmul). */
export interface MatmulChoice {
  small: 'row' | 'row4' | 'row8';
  large: 'tiled' | 'splitk';
  /** Workgroups split-K aims for (default SPLIT_K_TARGET_GROUPS). */
  splitGroups?: number;
}

/**
 * Measured (results/h100-engine-fig5, bench/engine-matmul.ts on LLaMA-2-7B's projections): 'row4'
 * beat 'row' at M = 1 (up to 89% of read bandwidth against 70%) and M = 8 (w2: 0.075 against
 * 0.145 ms); 'splitk' beat 'tiled' at M = 32 (2×) and M = 128 (1.2–1.3×).
 */
export const DEFAULT_MATMUL: MatmulChoice = { small: 'row4', large: 'splitk' };

/** Parses "small=row4,large=splitk,splitGroups=1056" (each part optional), naming what is wrong. */
export function parseMatmulChoice(text: string): Partial<MatmulChoice> {
  const out: Partial<MatmulChoice> = {};
  for (const part of text.split(',').map((p) => p.trim()).filter(Boolean)) {
    const [key, value] = part.split('=').map((p) => p.trim());
    if (key === 'small' && (value === 'row' || value === 'row4' || value === 'row8')) out.small = value;
    else if (key === 'large' && (value === 'tiled' || value === 'splitk')) out.large = value;
    else if (key === 'splitGroups' && /^[1-9][0-9]{0,4}$/.test(value ?? '')) out.splitGroups = Number(value);
    else throw new Error(`matmul choice "${part}": expected small=row|row4|row8, large=tiled|splitk or splitGroups=N (1–99999)`);
  }
  return out;
}

/** The kernel for a shape: register-tiled on software adapters, else the choice for small or large M. */
export function pickMatmul(s: MatmulShape, software: boolean, choice: Partial<MatmulChoice> = {}): MatmulKernel {
  if (software) return 'register';
  return s.M <= SMALL_M ? (choice.small ?? DEFAULT_MATMUL.small) : (choice.large ?? DEFAULT_MATMUL.large);
}

/** Whether the kernel can apply the RMSNorm of its input itself (the row-group kernels). */
export function fusesNorm(kernel: MatmulKernel): boolean {
  return groupRows(kernel) > 0;
}

/**
 * Whether this kernel can rotate the QKV projection's output and hand K/V to an fp16 cache itself
 * (rope-epilogue.ts), with `bindings` storage buffers per stage available.
 */
export function fusesRope(kernel: MatmulKernel, rope: RopeEpilogue, norm: boolean, bindings: number): boolean {
  const rows = groupRows(kernel);
  return rows > 0 && ropeEpilogueProblem(rope, rows) === null && (norm ? 4 : 3) + ropeEpilogueBindings(rope) <= bindings;
}

/** Weight rows per workgroup of a row-group kernel; 0 for the others. */
function groupRows(kernel: MatmulKernel): number {
  return kernel === 'row8' ? 8 : kernel === 'row4' ? 4 : 0;
}

/** Workgroups a matmul of this shape dispatches with that kernel. */
export function matmulGroups(s: MatmulShape, kernel: MatmulKernel, splitTarget?: number): number {
  if (kernel === 'row') return s.epilogue === 'swiglu' ? s.N / 2 : s.N;
  if (groupRows(kernel)) return Math.ceil(s.N / groupRows(kernel));
  if (kernel === 'register') return Math.ceil((Math.ceil(s.M / 4) * Math.ceil(s.N / 4)) / 64);
  return Math.ceil(s.M / 64) * Math.ceil(s.N / 64) * (kernel === 'splitk' ? splitsFor(s, splitTarget) : 1);
}

/** WGSL of a kernel's first (for 'splitk': partial-sum) pass. */
export function matmulWgsl(s: MatmulShape, f16: boolean, kernel: MatmulKernel, norm?: { eps: number }, splitTarget?: number, rope?: RopeEpilogue): string {
  if (norm && !fusesNorm(kernel)) throw new Error(`matmul: kernel ${kernel} cannot apply the RMSNorm (row4 and row8 can)`);
  if (rope && !groupRows(kernel)) throw new Error(`matmul: kernel ${kernel} cannot apply RoPE (row4 and row8 can)`);
  if (kernel === 'register') return registerMatmulWgsl(s, f16);
  if (kernel === 'splitk') return tiledMatmulWgsl(s, f16, splitsFor(s, splitTarget));
  if (groupRows(kernel)) return rowGroupMatmulWgsl(s, f16, groupRows(kernel), norm, rope);
  return kernel === 'row' ? rowMatmulWgsl(s, f16) : tiledMatmulWgsl(s, f16);
}

/** The kernel a MatmulOp runs for this shape on this context (the choice, with 'splitk' as 'tiled' where it would not split). */
export function matmulKernelFor(ctx: Pick<GpuContext, 'adapter' | 'matmul'>, s: MatmulShape, kernel?: MatmulKernel): MatmulKernel {
  const k = kernel ?? pickMatmul(s, ctx.adapter.fallback, ctx.matmul);
  return k === 'splitk' && splitsFor(s, ctx.matmul.splitGroups) === 1 ? 'tiled' : k;
}

/**
 * Bytes of one split-K partials buffer that serves every matmul of `shapes` (the largest need):
 * a step's matmuls run one after another, so they can share it.
 */
export function sharedPartialBytes(ctx: Pick<GpuContext, 'adapter' | 'matmul'>, shapes: readonly MatmulShape[]): number {
  let max = 0;
  for (const s of shapes) if (matmulKernelFor(ctx, s) === 'splitk') max = Math.max(max, splitPartialBytes(s, ctx.matmul.splitGroups));
  return max;
}

/** Bytes of the partial sums a 'splitk' matmul of this shape needs (0 when it needs one split). */
export function splitPartialBytes(s: MatmulShape, splitTarget?: number): number {
  const S = splitsFor(s, splitTarget);
  return S > 1 ? S * s.M * s.N * 4 : 0;
}

/**
 * A prepared matmul: pipelines and bind groups made once, encoded each step. 'splitk' writes its
 * partial sums to `partial` (sharedPartialBytes: one buffer serves every matmul of a session, as
 * they run one after another) or, without one, to a scratch buffer of its own (tests, benches: a
 * buffer per op over a 7B model's 128 matmuls and every prefill sub-batch ran an 80 GB card out of
 * memory).
 */
export class MatmulOp {
  private readonly pipeline: GPUComputePipeline;
  private readonly group: GPUBindGroup;
  private readonly groups: number;
  private readonly reduce?: { pipeline: GPUComputePipeline; group: GPUBindGroup; groups: number };
  private readonly own?: { destroy(): void };

  /**
   * `norm`: x is the un-normed residual stream and the kernel applies RMSNorm with this gain and
   * eps first (only where fusesNorm(kernel): check with matmulKernelFor before asking).
   */
  constructor(
    ctx: GpuContext,
    s: MatmulShape,
    x: GPUBuffer,
    w: GPUBuffer,
    y: GPUBuffer,
    label = 'matmul',
    kernel?: MatmulKernel,
    partial?: GPUBuffer,
    norm?: { gain: GPUBuffer; eps: number },
    rope?: { epilogue: RopeEpilogue; cosSin: GPUBuffer; starts: GPUBuffer; prm: GPUBuffer; caches: GPUBuffer[] },
  ) {
    const k = matmulKernelFor(ctx, s, kernel);
    const target = ctx.matmul.splitGroups;
    this.pipeline = ctx.pipeline(matmulWgsl(s, ctx.f16, k, norm ? { eps: norm.eps } : undefined, target, rope?.epilogue), `${label} ${s.M}x${s.N}x${s.K} ${s.epilogue} ${k}${norm ? ' +rmsnorm' : ''}${rope ? ' +rope' : ''}`);
    this.groups = matmulGroups(s, k, target);
    if (k === 'splitk') {
      let p = partial;
      if (p && p.size < splitPartialBytes(s, target)) throw new Error(`matmul ${label}: the shared split-K buffer holds ${p.size} bytes, the shape needs ${splitPartialBytes(s, target)}`);
      if (!p) {
        const b = ctx.alloc('scratch', splitPartialBytes(s, target), `${label} split-K partials`);
        this.own = b;
        p = b.buffer;
      }
      this.group = ctx.bindGroup(this.pipeline, [x, w, p]);
      const rp = ctx.pipeline(splitReduceWgsl(s, splitsFor(s, target)), `${label} split-K reduce`);
      const outCols = s.epilogue === 'swiglu' ? s.N / 2 : s.N;
      this.reduce = { pipeline: rp, group: ctx.bindGroup(rp, [p, y]), groups: Math.ceil((s.M * outCols) / 64) };
    } else {
      this.group = ctx.bindGroup(this.pipeline, [x, w, y, ...(norm ? [norm.gain] : []), ...(rope ? ropeEpilogueBuffers(rope.epilogue, rope) : [])]);
    }
  }

  encode(pass: GPUComputePassEncoder): void {
    pass.setPipeline(this.pipeline);
    pass.setBindGroup(0, this.group);
    dispatchGroups(pass, this.groups);
    if (this.reduce) {
      pass.setPipeline(this.reduce.pipeline);
      pass.setBindGroup(0, this.reduce.group);
      dispatchGroups(pass, this.reduce.groups);
    }
  }

  /** Frees the partial-sum buffer the op allocated for itself, if any. */
  destroy(): void {
    this.own?.destroy();
  }
}
