/**
 * Every WGSL kernel of the engine against its TypeScript reference (src/webgpu/kernels/reference.ts),
 * on random inputs and on the embedded model's real weights, on whatever adapter the machine has
 * (SwiftShader in CI). All three matmul kernels are checked whatever the adapter would pick.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWith, PARTS } from '../support/parts.js';
import { encodeHalf } from '../../src/kernels/half.js';
import type { GpuContext } from '../../src/webgpu/gpu-context.js';
import { COMBINE_KERNELS, DECODE_KERNELS, DecodeAttention, decodePartialBytes, f32PastReader, fp16PastReader, prefillAttentionGroups, prefillAttentionWgsl } from '../../src/webgpu/kernels/attention.js';
import { MatmulOp, type MatmulEpilogue, type MatmulKernel } from '../../src/webgpu/kernels/matmul.js';
import { embedWgsl, rmsnormWgsl } from '../../src/webgpu/kernels/norm-embed.js';
import { attentionRef, embedRef, matmulRef, rmsnormRef, ropeRef, sampleRef } from '../../src/webgpu/kernels/reference.js';
import { llamaInvFreq, ropeTable, ropeWgsl, type RopeLayout } from '../../src/webgpu/kernels/rope.js';
import { sampleWgsl } from '../../src/webgpu/kernels/sample.js';
import { embeddedModel, gpu, gpuErrors, maxAbsDiff, randomFloats, relErr } from './gpu-fixture.js';

let ctx: GpuContext;
beforeAll(async () => {
  ctx = await gpu();
});
afterAll(() => {
  expect(gpuErrors).toEqual([]);
});

const half = (x: Float32Array) => {
  const h = new Uint16Array(x.length);
  encodeHalf(x, h);
  return h;
};
const buf = (data: ArrayBufferView | number) => {
  const b = ctx.alloc('scratch', typeof data === 'number' ? data : data.byteLength, 'test');
  if (typeof data !== 'number') ctx.write(b, data);
  return b;
};
/** Encodes an op's dispatches in one pass and submits them. */
function submitOp(op: { encode(pass: GPUComputePassEncoder): void }): void {
  const enc = ctx.device.createCommandEncoder();
  const pass = enc.beginComputePass();
  op.encode(pass);
  pass.end();
  ctx.device.queue.submit([enc.finish()]);
}
async function run(pipeline: GPUComputePipeline, bindings: GPUBuffer[], groups: number | [number, number]): Promise<void> {
  const g = ctx.bindGroup(pipeline, bindings);
  const enc = ctx.device.createCommandEncoder();
  const pass = enc.beginComputePass();
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, g);
  if (typeof groups === 'number') pass.dispatchWorkgroups(groups);
  else pass.dispatchWorkgroups(groups[0], groups[1]);
  pass.end();
  ctx.device.queue.submit([enc.finish()]);
  await ctx.finish();
}

describeWith([PARTS.webgpu], 'matmul', () => {
  const kernels: MatmulKernel[] = ['tiled', 'row', 'row4', 'row8', 'register', 'splitk'];
  const shapes: [number, number, number][] = [
    [1, 40, 64],
    [3, 130, 72],
    [8, 64, 256],
    [70, 96, 40],
  ];
  for (const kernel of kernels) {
    for (const op of ['store', 'add', 'swiglu'] as MatmulEpilogue[]) {
      it(`${kernel} ${op} on random inputs`, async () => {
        for (const [M, N, K] of shapes) {
          if (kernel.startsWith('row') && M > 8) continue;
          const X = randomFloats(M * K, M * 7 + N, 1);
          const W = half(randomFloats(N * K, N * 3 + K, 0.5));
          const outCols = op === 'swiglu' ? N / 2 : N;
          const Y0 = randomFloats(M * outCols, 99, 1);
          const x = buf(X);
          const w = buf(W);
          const y = buf(op === 'add' ? Y0 : new Float32Array(M * outCols));
          const mm = new MatmulOp(ctx, { M, N, K, epilogue: op }, x.buffer, w.buffer, y.buffer, 'test', kernel);
          submitOp(mm);
          const got = await ctx.readF32(y, M * outCols);
          const want = matmulRef(X, W, M, N, K, op, op === 'add' ? Y0 : undefined);
          expect(relErr(got, want), `${M}x${N}x${K}`).toBeLessThan(2e-5);
          for (const b of [x, w, y]) b.destroy();
        }
      });
    }
  }

  it('row4 and row8 with the RMSNorm applied in the kernel equal rmsnorm then matmul, every epilogue', async () => {
    for (const kernel of ['row4', 'row8'] as MatmulKernel[]) {
      for (const op of ['store', 'add', 'swiglu'] as MatmulEpilogue[]) {
        for (const [M, N, K] of [
          [1, 40, 64],
          [3, 130, 72],
          [8, 64, 256],
        ] as [number, number, number][]) {
          const X = randomFloats(M * K, M * 11 + K, 3);
          const G = randomFloats(K, K + 5, 1.5);
          const W = half(randomFloats(N * K, N * 5 + K, 0.5));
          const outCols = op === 'swiglu' ? N / 2 : N;
          const Y0 = randomFloats(M * outCols, 77, 1);
          const x = buf(X);
          const g = buf(G);
          const w = buf(W);
          const y = buf(op === 'add' ? Y0 : new Float32Array(M * outCols));
          const mm = new MatmulOp(ctx, { M, N, K, epilogue: op }, x.buffer, w.buffer, y.buffer, 'test norm', kernel, undefined, { gain: g.buffer, eps: 1e-5 });
          submitOp(mm);
          const got = await ctx.readF32(y, M * outCols);
          const want = matmulRef(rmsnormRef(X, G, M, K, 1e-5), W, M, N, K, op, op === 'add' ? Y0 : undefined);
          expect(relErr(got, want), `${kernel} ${op} ${M}x${N}x${K}`).toBeLessThan(2e-5);
          for (const b of [x, g, w, y]) b.destroy();
        }
      }
    }
    // the other kernels cannot
    expect(() => new MatmulOp(ctx, { M: 2, N: 8, K: 8, epilogue: 'store' }, buf(64).buffer, buf(128).buffer, buf(64).buffer, 'no', 'tiled', undefined, { gain: buf(32).buffer, eps: 1e-5 })).toThrow(/cannot apply the RMSNorm/);
  });

  it('on the embedded model: layer 5 W13 (SwiGLU) and the classifier over real embeddings', async () => {
    const m = embeddedModel();
    const { dim, hiddenDim: hid, vocabSize: V } = m.config;
    const ids = [1, 260, 420, 1438, 7000];
    const X = new Float32Array(ids.length * dim);
    ids.forEach((id, r) => X.set(m.weights.tokenEmbedding.subarray(id * dim, (id + 1) * dim), r * dim));
    const inter = new Float32Array(2 * hid * dim);
    for (let j = 0; j < hid; j++) {
      inter.set(m.weights.w1.subarray((5 * hid + j) * dim, (5 * hid + j + 1) * dim), 2 * j * dim);
      inter.set(m.weights.w3.subarray((5 * hid + j) * dim, (5 * hid + j + 1) * dim), (2 * j + 1) * dim);
    }
    for (const [W, N, op] of [
      [half(inter), 2 * hid, 'swiglu'],
      [half(m.weights.tokenEmbedding), V, 'store'],
    ] as [Uint16Array, number, MatmulEpilogue][]) {
      for (const kernel of kernels) {
        const M = ids.length;
        const cols = op === 'swiglu' ? N / 2 : N;
        const x = buf(X);
        const w = buf(W);
        const y = buf(M * cols * 4);
        const mm = new MatmulOp(ctx, { M, N, K: dim, epilogue: op }, x.buffer, w.buffer, y.buffer, 'real', kernel);
        submitOp(mm);
        const got = await ctx.readF32(y, M * cols);
        expect(relErr(got, matmulRef(X, W, M, N, dim, op)), `${kernel} ${op}`).toBeLessThan(2e-5);
        for (const b of [x, w, y]) b.destroy();
      }
    }
  });
});

describeWith([PARTS.webgpu], 'embed and rmsnorm', () => {
  it('embed gathers fp16 rows; rmsnorm matches on random and real rows, with the last-slot mapping', async () => {
    const m = embeddedModel();
    const { dim } = m.config;
    const E = half(m.weights.tokenEmbedding);
    const ids = Uint32Array.of(1, 5, 8191, 260, 260, 42);
    const x = buf(ids.length * dim * 4);
    await run(ctx.pipeline(embedWgsl({ rows: ids.length, dim, f16: ctx.f16 }), 'embed'), [buf(ids).buffer, buf(E).buffer, x.buffer], ids.length);
    const X = await ctx.readF32(x, ids.length * dim);
    expect(maxAbsDiff(X, embedRef(ids, E, dim))).toBe(0);

    for (const [rows, src, w, stride, offset] of [
      [6, X, m.weights.rmsAtt.subarray(3 * dim, 4 * dim), 1, 0],
      [2, X, m.weights.rmsFinal, 3, 2],
      [4, randomFloats(6 * dim, 5, 3), randomFloats(dim, 6, 1), 1, 1],
    ] as [number, Float32Array, Float32Array, number, number][]) {
      const y = buf(rows * dim * 4);
      await run(ctx.pipeline(rmsnormWgsl({ rows, dim, eps: 1e-5, inStride: stride, inOffset: offset }), 'norm'), [buf(src).buffer, buf(Float32Array.from(w)).buffer, y.buffer], rows);
      const got = await ctx.readF32(y, rows * dim);
      expect(relErr(got, rmsnormRef(src, w, rows, dim, 1e-5, stride, offset))).toBeLessThan(1e-5);
    }
  });
});

describeWith([PARTS.webgpu], 'rope', () => {
  for (const layout of ['interleaved', 'half'] as RopeLayout[]) {
    it(`${layout}: rotates q and k in place, writes fp16 K/V at the slot, and f32 rows`, async () => {
      const H = 4;
      const KV = 2;
      const D = 16;
      const T = 3;
      const B = 2;
      const rows = B * T;
      const R = (H + 2 * KV) * D;
      const cap = 10;
      const slot0 = 4;
      const starts = Uint32Array.of(0, 5);
      const invFreq = llamaInvFreq(D, 10000);
      const QKV = randomFloats(rows * R, 11, 2);
      const want = ropeRef(QKV, { rows, T, heads: H, kvHeads: KV, headDim: D, layout, invFreq, starts, slot0, b0: 0 });
      const table = buf(ropeTable(cap + 2, D, invFreq));
      const st = buf(starts);
      const prm = buf(Uint32Array.of(slot0, 0, 0, 0));
      // fp16 cache write
      const qkv = buf(QKV);
      const kc = buf(B * KV * cap * D * 2);
      const vc = buf(B * KV * cap * D * 2);
      await run(ctx.pipeline(ropeWgsl({ rows, T, heads: H, kvHeads: KV, headDim: D, layout, write: 'fp16', cap }), 'rope'), [qkv.buffer, table.buffer, st.buffer, prm.buffer, kc.buffer, vc.buffer], rows);
      const got = await ctx.readF32(qkv, rows * R);
      expect(relErr(got, want)).toBeLessThan(1e-6);
      const K = new Uint16Array(await ctx.read(kc, B * KV * cap * D * 2));
      const Vh = new Uint16Array(await ctx.read(vc, B * KV * cap * D * 2));
      for (let b = 0; b < B; b++) {
        for (let t = 0; t < T; t++) {
          const m = b * T + t;
          for (let kh = 0; kh < KV; kh++) {
            const k = want.subarray(m * R + (H + kh) * D, m * R + (H + kh + 1) * D);
            const v = QKV.subarray(m * R + (H + KV + kh) * D, m * R + (H + KV + kh + 1) * D);
            const at = ((b * KV + kh) * cap + slot0 + t) * D;
            expect(maxAbsDiff(half(Float32Array.from(k)), K.subarray(at, at + D))).toBeLessThanOrEqual(1);
            expect(maxAbsDiff(half(Float32Array.from(v)), Vh.subarray(at, at + D))).toBe(0);
          }
        }
      }
      // f32 rows
      const qkv2 = buf(QKV);
      const kvo = buf(rows * 2 * KV * D * 4);
      await run(ctx.pipeline(ropeWgsl({ rows, T, heads: H, kvHeads: KV, headDim: D, layout, write: 'f32', cap: 0 }), 'rope f32'), [qkv2.buffer, table.buffer, st.buffer, prm.buffer, kvo.buffer], rows);
      const o = await ctx.readF32(kvo, rows * 2 * KV * D);
      for (let m = 0; m < rows; m++) {
        expect(relErr(o.subarray(m * 2 * KV * D, m * 2 * KV * D + KV * D), want.subarray(m * R + H * D, m * R + (H + KV) * D))).toBeLessThan(1e-6);
        expect(maxAbsDiff(o.subarray(m * 2 * KV * D + KV * D, (m + 1) * 2 * KV * D), QKV.subarray(m * R + (H + KV) * D, (m + 1) * R))).toBe(0);
      }
    });
  }
});

describeWith([PARTS.webgpu], 'rope in the QKV matmul (row4, row8)', () => {
  const H = 4;
  const KV = 2;
  const D = 16;
  const N = (H + 2 * KV) * D;
  const K = 64;
  const cap = 12;
  const invFreq = llamaInvFreq(D, 10000);
  for (const layout of ['interleaved', 'half'] as RopeLayout[]) {
    it(`${layout}: equals matmul then RoPE (rows and fp16 K/V cache), with and without the fused RMSNorm, batch 1 and 2 × 3 tokens`, async () => {
      for (const kernel of ['row4', 'row8'] as MatmulKernel[]) {
        for (const norm of [false, true]) {
          for (const write of ['fp16', 'none'] as const) {
            for (const [B, T] of [
              [1, 1],
              [2, 3],
            ] as [number, number][]) {
              const M = B * T;
              const slot0 = 5;
              const starts = Uint32Array.of(0, 4);
              const X = randomFloats(M * K, 31 + M, 2);
              const G = randomFloats(K, 7, 1.5);
              const W = half(randomFloats(N * K, 13, 0.5));
              const lin = matmulRef(norm ? rmsnormRef(X, G, M, K, 1e-5) : X, W, M, N, K, 'store');
              const want = ropeRef(lin, { rows: M, T, heads: H, kvHeads: KV, headDim: D, layout, invFreq, starts, slot0, b0: 0 });
              const x = buf(X);
              const g = buf(G);
              const w = buf(W);
              const y = buf(M * N * 4);
              const kc = buf(B * KV * cap * D * 2);
              const vc = buf(B * KV * cap * D * 2);
              const table = buf(ropeTable(cap + 2, D, invFreq));
              const st = buf(starts);
              const prm = buf(Uint32Array.of(slot0, 0, 0, 0));
              const epilogue = { T, heads: H, kvHeads: KV, headDim: D, layout, write, cap };
              const mm = new MatmulOp(ctx, { M, N, K, epilogue: 'store' }, x.buffer, w.buffer, y.buffer, 'test rope', kernel, undefined, norm ? { gain: g.buffer, eps: 1e-5 } : undefined, {
                epilogue,
                cosSin: table.buffer,
                starts: st.buffer,
                prm: prm.buffer,
                caches: [kc.buffer, vc.buffer],
              });
              submitOp(mm);
              const what = `${kernel} norm ${norm} ${write} B ${B} T ${T}`;
              expect(relErr(await ctx.readF32(y, M * N), want), what).toBeLessThan(2e-5);
              // the cache: the rotated K and the V rows at their slots, nothing elsewhere ('none': nothing)
              const wantK = new Uint16Array(B * KV * cap * D);
              const wantV = new Uint16Array(B * KV * cap * D);
              if (write === 'fp16') {
                for (let m = 0; m < M; m++) {
                  const b = Math.floor(m / T);
                  for (let kh = 0; kh < KV; kh++) {
                    const at = ((b * KV + kh) * cap + slot0 + (m % T)) * D;
                    wantK.set(half(want.slice(m * N + (H + kh) * D, m * N + (H + kh + 1) * D)), at);
                    wantV.set(half(want.slice(m * N + (H + KV + kh) * D, m * N + (H + KV + kh + 1) * D)), at);
                  }
                }
              }
              expect(maxAbsDiff(new Uint16Array(await ctx.read(kc, wantK.byteLength)), wantK), `${what} K cache`).toBeLessThanOrEqual(1);
              expect(maxAbsDiff(new Uint16Array(await ctx.read(vc, wantV.byteLength)), wantV), `${what} V cache`).toBeLessThanOrEqual(1);
              for (const b of [x, g, w, y, kc, vc, table, st, prm]) b.destroy();
            }
          }
        }
      }
      // the other kernels cannot
      const e = { T: 1, heads: H, kvHeads: KV, headDim: D, layout, write: 'none' as const, cap };
      expect(() => new MatmulOp(ctx, { M: 1, N, K, epilogue: 'store' }, buf(K * 4).buffer, buf(N * K * 2).buffer, buf(N * 4).buffer, 'no', 'row', undefined, undefined, { epilogue: e, cosSin: buf(16).buffer, starts: buf(16).buffer, prm: buf(16).buffer, caches: [] })).toThrow(/cannot apply RoPE/);
    });
  }
});

describeWith([PARTS.webgpu], 'attention', () => {
  const H = 4;
  const KV = 2;
  const D = 16;
  const R = (H + 2 * KV) * D;
  it('prefill: causal over the pass, left padding masked, padding queries uniform over all keys', async () => {
    const B = 3;
    const T = 37;
    const starts = Uint32Array.of(0, 9, 36);
    const QKV = randomFloats(B * T * R, 21, 1.5);
    const out = buf(B * T * H * D * 4);
    const shape = { heads: H, kvHeads: KV, headDim: D, batch: B, T };
    await run(ctx.pipeline(prefillAttentionWgsl(shape), 'prefill'), [buf(QKV).buffer, buf(starts).buffer, buf(Uint32Array.of(0, 0, 0, 0)).buffer, out.buffer], prefillAttentionGroups(shape));
    const got = await ctx.readF32(out, B * T * H * D);
    const row = (b: number, j: number) => (b * T + j) * R;
    const want = attentionRef({
      batch: B,
      heads: H,
      kvHeads: KV,
      headDim: D,
      querySlots: Array.from({ length: T }, (_, i) => i),
      keys: T,
      starts,
      q: (b, h, t) => QKV.subarray(row(b, t) + h * D, row(b, t) + (h + 1) * D),
      k: (b, kh, j) => QKV.subarray(row(b, j) + (H + kh) * D, row(b, j) + (H + kh + 1) * D),
      v: (b, kh, j) => QKV.subarray(row(b, j) + (H + KV + kh) * D, row(b, j) + (H + KV + kh + 1) * D),
    });
    expect(relErr(got, want)).toBeLessThan(2e-6);
  });

  for (const kernel of DECODE_KERNELS)
  for (const [store, H, KV, D] of [
    ['fp16', 4, 2, 16],
    ['f32', 4, 2, 16],
    ['fp16', 8, 2, 32],
    ['fp16', 2, 2, 64],
    ['fp16', 4, 4, 128],
    ['f32', 8, 2, 128],
  ] as const) {
    it(`${kernel} kernel: decode over a ${store} past (${store === 'fp16' ? 'the fp16 cache' : 'a host past'}) plus the current token, padding masked, ${H} heads over ${KV}, head dim ${D}`, async () => {
      const R = (H + 2 * KV) * D;
      const B = 3;
      const n = 150; // past slots: more than one 128-token chunk
      const cap = n + 5;
      const starts = Uint32Array.of(0, 20, 149);
      const QKV = randomFloats(B * R, 31, 1.5);
      const past = randomFloats(2 * B * KV * n * D, 32, 1.5);
      const Kp = past.subarray(0, B * KV * n * D);
      const Vp = past.subarray(B * KV * n * D);
      const rd = (x: Float32Array, b: number, kh: number, j: number) => {
        const v = x.subarray(((b * KV + kh) * n + j) * D, ((b * KV + kh) * n + j + 1) * D);
        return store === 'fp16' ? Float32Array.from(half(Float32Array.from(v)), (h) => halfToF(h)) : v;
      };
      let bindings: GPUBuffer[];
      let reader;
      if (store === 'fp16') {
        const kc = new Uint16Array(B * KV * cap * D);
        const vc = new Uint16Array(B * KV * cap * D);
        for (let b = 0; b < B; b++)
          for (let kh = 0; kh < KV; kh++)
            for (let j = 0; j < n; j++) {
              kc.set(half(Float32Array.from(Kp.subarray(((b * KV + kh) * n + j) * D, ((b * KV + kh) * n + j + 1) * D))), ((b * KV + kh) * cap + j) * D);
              vc.set(half(Float32Array.from(Vp.subarray(((b * KV + kh) * n + j) * D, ((b * KV + kh) * n + j + 1) * D))), ((b * KV + kh) * cap + j) * D);
            }
        bindings = [buf(kc).buffer, buf(vc).buffer];
        reader = fp16PastReader({ kvHeads: KV, headDim: D, cap });
      } else {
        bindings = [buf(Float32Array.from(Kp)).buffer, buf(Float32Array.from(Vp)).buffer];
        reader = f32PastReader({ kvHeads: KV, headDim: D });
      }
      const out = buf(B * H * D * 4);
      const shape = { heads: H, kvHeads: KV, headDim: D, batch: B, cap, reader };
      const op = new DecodeAttention(ctx, shape, { qkv: buf(QKV).buffer, starts: buf(starts).buffer, prm: buf(Uint32Array.of(n, 0, 0, 0)).buffer, partial: buf(decodePartialBytes(shape)).buffer, out: out.buffer, past: bindings }, kernel);
      expect(op.kernel).toBe(kernel);
      const enc = ctx.device.createCommandEncoder();
      const pass = enc.beginComputePass();
      op.encode(pass);
      pass.end();
      ctx.device.queue.submit([enc.finish()]);
      const got = await ctx.readF32(out, B * H * D);
      const want = attentionRef({
        batch: B,
        heads: H,
        kvHeads: KV,
        headDim: D,
        querySlots: [n],
        keys: n + 1,
        starts,
        q: (b, h) => QKV.subarray(b * R + h * D, b * R + (h + 1) * D),
        k: (b, kh, j) => (j < n ? rd(Kp, b, kh, j) : QKV.subarray(b * R + (H + kh) * D, b * R + (H + kh + 1) * D)),
        v: (b, kh, j) => (j < n ? rd(Vp, b, kh, j) : QKV.subarray(b * R + (H + KV + kh) * D, b * R + (H + KV + kh + 1) * D)),
      });
      expect(relErr(got, want)).toBeLessThan(2e-6);
    });
  }

  for (const combine of COMBINE_KERNELS)
    it(`${combine} combine: 10 splits (more than one group of loads), the last ones past the step masked, equal the reference`, async () => {
      const [H, KV, D, B] = [4, 2, 32, 2];
      const R = (H + 2 * KV) * D;
      const n = 600; // 10 splits of 64 slots at this capacity; the dispatch is sized for 12
      const cap = 760;
      const starts = Uint32Array.of(0, 333);
      const QKV = randomFloats(B * R, 41, 1.5);
      const Kp = randomFloats(B * KV * n * D, 42, 1.5);
      const Vp = randomFloats(B * KV * n * D, 43, 1.5);
      const out = buf(B * H * D * 4);
      const shape = { heads: H, kvHeads: KV, headDim: D, batch: B, cap, reader: f32PastReader({ kvHeads: KV, headDim: D }) };
      // stale partials from an earlier, longer step must not leak in: fill the buffer with them first
      const partial = buf(randomFloats(decodePartialBytes(shape) / 4, 44, 5));
      const op = new DecodeAttention(ctx, shape, { qkv: buf(QKV).buffer, starts: buf(starts).buffer, prm: buf(Uint32Array.of(n, 0, 0, 0)).buffer, partial: partial.buffer, out: out.buffer, past: [buf(Kp).buffer, buf(Vp).buffer] }, 'rows', false, combine);
      submitOp(op);
      const got = await ctx.readF32(out, B * H * D);
      const at = (x: Float32Array, b: number, kh: number, j: number) => x.subarray(((b * KV + kh) * n + j) * D, ((b * KV + kh) * n + j + 1) * D);
      const want = attentionRef({
        batch: B,
        heads: H,
        kvHeads: KV,
        headDim: D,
        querySlots: [n],
        keys: n + 1,
        starts,
        q: (b, h) => QKV.subarray(b * R + h * D, b * R + (h + 1) * D),
        k: (b, kh, j) => (j < n ? at(Kp, b, kh, j) : QKV.subarray(b * R + (H + kh) * D, b * R + (H + kh + 1) * D)),
        v: (b, kh, j) => (j < n ? at(Vp, b, kh, j) : QKV.subarray(b * R + (H + KV + kh) * D, b * R + (H + KV + kh + 1) * D)),
      });
      expect(relErr(got, want)).toBeLessThan(2e-6);
    });
});

function halfToF(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 31;
  const f = h & 1023;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

describeWith([PARTS.webgpu], 'sample', () => {
  it('greedy: argmax with the lowest id on ties; stop ids end a sequence, which is fed pad after; the budget ends it', async () => {
    const B = 3;
    const V = 1000;
    const L = randomFloats(B * V, 41, 4);
    L[0 * V + 17] = 9;
    L[0 * V + 500] = 9; // tie: 17 wins
    L[1 * V + 2] = 10; // stop id
    L[2 * V + 999] = 10;
    const ids = buf(B * 4);
    const out = buf(4 * B * 4);
    const state = buf(B * 8);
    const budgets = buf(Uint32Array.of(5, 5, 1));
    const p = ctx.pipeline(sampleWgsl({ batch: B, vocab: V, temperature: 0, topK: 0, topP: 1, seed: 0, ring: 4, stop: [2], pad: 0 }), 'sample');
    const lb = buf(L);
    const prm = buf(Uint32Array.of(0, 0, 1, 0));
    await run(p, [lb.buffer, ids.buffer, out.buffer, prm.buffer, budgets.buffer, state.buffer], B);
    expect([...new Uint32Array(await ctx.read(ids, B * 4))]).toEqual([17, 2, 999]);
    expect([...new Uint32Array(await ctx.read(out, 4 * B * 4)).subarray(B, 2 * B)]).toEqual([17, 2, 999]);
    // next step: sequence 1 (stopped) and 2 (budget 1 used) are done and get pad
    await run(p, [lb.buffer, ids.buffer, out.buffer, buf(Uint32Array.of(0, 0, 2, 0)).buffer, budgets.buffer, state.buffer], B);
    expect([...new Uint32Array(await ctx.read(ids, B * 4))]).toEqual([17, 0, 0]);
    expect([...new Uint32Array(await ctx.read(state, B * 8))]).toEqual([2, 0, 0, 1, 1, 1]);
  });

  it('temperature, top-k and top-p: the device draws what the reference draws', async () => {
    const B = 6;
    const V = 300;
    const L = randomFloats(B * V, 51, 3);
    for (const [temperature, topK, topP] of [
      [1, 0, 1],
      [0.7, 40, 1],
      [1.3, 0, 0.9],
      [0.9, 50, 0.8],
    ]) {
      const ids = buf(B * 4);
      for (const step of [1, 2, 3]) {
        await run(
          ctx.pipeline(sampleWgsl({ batch: B, vocab: V, temperature: temperature!, topK: topK!, topP: topP!, seed: 7, ring: 4, stop: [], pad: 0 }), 'sample'),
          [buf(L).buffer, ids.buffer, buf(4 * B * 4).buffer, buf(Uint32Array.of(0, 0, step, 0)).buffer, buf(Uint32Array.from({ length: B }, () => 100)).buffer, buf(B * 8).buffer],
          B,
        );
        const got = [...new Uint32Array(await ctx.read(ids, B * 4))];
        const want = Array.from({ length: B }, (_, b) => sampleRef(L.subarray(b * V, (b + 1) * V), { temperature: temperature!, topK: topK!, topP: topP!, seed: 7, step, b }));
        expect(got, `T=${temperature} k=${topK} p=${topP} step ${step}`).toEqual(want);
      }
    }
  });
});
