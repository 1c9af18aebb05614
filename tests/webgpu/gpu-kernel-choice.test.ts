/**
 * The kernels a GPU gets (row4 to M = 8, split-K above, one split-K buffer per session) through a
 * whole generation. CI's SwiftShader gets the register kernel by default, so this test gives the
 * same device a context that is not marked software: prefill (M = 9 × 12 rows) and decode (M = 9)
 * then run split-K and the row-group kernel, and their tokens must equal the register kernel's; at
 * batch 4 decode runs the row-group kernel with the RMSNorm (and for QKV the RoPE) applied inside
 * it, with the fp16 store and with KIVI-2's and minicache+kivi4's.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWith, PARTS } from '../support/parts.js';
import { GpuContext } from '../../src/webgpu/gpu-context.js';
import { generateOnEngine } from '../../src/webgpu/generate-engine.js';
import { splitsFor } from '../../src/webgpu/kernels/matmul.js';
import { engineStoreFor } from '../../src/webgpu/store-registry.js';
import { embeddedEngine, gpu, gpuErrors } from './gpu-fixture.js';

let ctx: GpuContext;
beforeAll(async () => {
  ctx = await gpu();
});
afterAll(() => expect(gpuErrors).toEqual([]));

describeWith([PARTS.webgpu], 'GPU matmul kernels through a session', () => {
  it('row4 and split-K (one shared partials buffer) give the register kernel\'s greedy tokens on the embedded model, batch 9', async () => {
    const prompts = Array.from({ length: 9 }, (_, b) => Array.from({ length: 12 }, (_, i) => 1 + ((b * 131 + i * 17) % 8000)));
    // the shapes really split: decode's QKV (9 × 512 × 256) and prefill's (108 rows)
    expect(splitsFor({ M: 9, N: 512, K: 256, epilogue: 'store' })).toBeGreaterThan(1);
    expect(splitsFor({ M: 108, N: 512, K: 256, epilogue: 'store' })).toBeGreaterThan(1);
    const software = await embeddedEngine(ctx);
    const want = await generateOnEngine(software, prompts, { maxNewTokens: 5, ignoreEos: true });
    software.dispose();

    const asGpu = new GpuContext(ctx.device, { ...ctx.adapter, fallback: false }, { f16: ctx.f16, matmul: { small: 'row4', large: 'splitk' } });
    const engine = await embeddedEngine(asGpu);
    const got = await generateOnEngine(engine, prompts, { maxNewTokens: 5, ignoreEos: true });
    expect(got.tokens).toEqual(want.tokens);
    // split-K's partials: one scratch buffer for the session (its largest need: W13 at prefill,
    // 8 splits × 108 × 1,152 floats ≈ 4 MB), not one per matmul (≈ 90 MB over 12 layers)
    const extra = got.deviceBytesByCategory.scratch - want.deviceBytesByCategory.scratch;
    expect(extra).toBeGreaterThan(0);
    expect(extra).toBeLessThan(6 * 2 ** 20);
    engine.dispose();
  }, 300_000);

  it('batch 4: decode through row4 with the RMSNorm in the kernel (no norm dispatches) gives the register kernel\'s tokens', async () => {
    const prompts = Array.from({ length: 4 }, (_, b) => Array.from({ length: 10 + b }, (_, i) => 1 + ((b * 97 + i * 29) % 8000)));
    const software = await embeddedEngine(ctx);
    const want = await generateOnEngine(software, prompts, { maxNewTokens: 8, ignoreEos: true });
    software.dispose();
    const asGpu = new GpuContext(ctx.device, { ...ctx.adapter, fallback: false }, { f16: ctx.f16 });
    const engine = await embeddedEngine(asGpu);
    const got = await generateOnEngine(engine, prompts, { maxNewTokens: 8, ignoreEos: true });
    expect(got.tokens).toEqual(want.tokens);
    // the fused kernels were built: the decode stack's QKV at M = 4 with the norm and RoPE (the
    // fp16 cache written by the matmul), W13 with the norm
    const labels = asGpu.pipelineLabels();
    expect(labels.filter((l) => /^qkv 4x.* row4 \+rmsnorm \+rope$/.test(l))).toHaveLength(1);
    expect(labels.filter((l) => /^w13 4x.* row4 \+rmsnorm$/.test(l))).toHaveLength(1);
    expect(labels.filter((l) => l === 'rope')).toHaveLength(1); // prefill's (M = 4 × T rows: tiled)
    // compressed stores: RoPE in the matmul leaves K/V in the rows for the store's own append
    const reference = await embeddedEngine(ctx);
    for (const method of ['kivi2', 'minicache+kivi4']) {
      const store = () => engineStoreFor(method, {}, engine.config.headDim)!;
      const want2 = await generateOnEngine(reference, prompts, { maxNewTokens: 8, ignoreEos: true, store: store() });
      const got2 = await generateOnEngine(engine, prompts, { maxNewTokens: 8, ignoreEos: true, store: store() });
      expect(got2.tokens, method).toEqual(want2.tokens);
    }
    reference.dispose();
    engine.dispose();
  }, 600_000);
});
