/**
 * Dummy weights: the fill kernel against its TypeScript reference, and a 32-layer dummy model
 * (the depth of the 7B cards) whose logits stay finite on the engine, the same for the same seed.
 */
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWith, PARTS } from '../support/parts.js';
import { decodeHalf, roundHalf } from '../../src/kernels/half.js';
import type { GpuContext } from '../../src/webgpu/gpu-context.js';
import { encodeFill, fillReference } from '../../src/webgpu/kernels/fill.js';
import { ByteTokenizer } from '../../src/model/tokenizer-bytes.js';
import { loadEngine, type LoadedEngine } from '../../runners/node/load-engine.js';
import { gpu, gpuErrors } from './gpu-fixture.js';

const TINY = fileURLToPath(new URL('../fixtures/models/tiny-dummy-32l/', import.meta.url));
let ctx: GpuContext;
beforeAll(async () => {
  ctx = await gpu();
});
afterAll(() => expect(gpuErrors).toEqual([]));

describeWith([PARTS.webgpu], 'fill kernel', () => {
  it('writes the reference values as fp16, zero past the valid part of each row, and constants as f32', async () => {
    const n = 6000;
    const spec = { kind: 'normal' as const, std: 0.02, seed: 5, stream: 9, rowLen: 600, valid: 500 };
    const buf = ctx.alloc('scratch', 2 * n, 'fill test');
    const prm = encodeFill(ctx, buf, n, spec);
    const got = new Float32Array(n);
    decodeHalf(new Uint16Array(await ctx.read(buf, 2 * n)), got);
    prm.destroy();
    const ref = fillReference(spec, n);
    // within one fp16 step of the reference (the device's log/cos and its fp16 packing may round the other way)
    let worst = 0;
    for (let i = 0; i < n; i++) worst = Math.max(worst, Math.abs(got[i]! - ref[i]!) / (Math.abs(ref[i]!) * 2 ** -10 + 1e-7));
    expect(worst).toBeLessThanOrEqual(1);
    expect(got.slice(0, 500).filter((x, i) => x === roundHalf(ref[i]!)).length).toBeGreaterThan(400); // most exactly (SwiftShader packs some by truncation)
    expect(got.slice(500, 600).every((x) => x === 0)).toBe(true);
    const valid = got.filter((_, i) => i % 600 < 500);
    const mean = valid.reduce((a, b) => a + b, 0) / valid.length;
    const std = Math.sqrt(valid.reduce((a, b) => a + (b - mean) ** 2, 0) / valid.length);
    expect(Math.abs(mean)).toBeLessThan(0.002);
    expect(std).toBeGreaterThan(0.019);
    expect(std).toBeLessThan(0.021);
    const ones = ctx.alloc('scratch', 64, 'fill const');
    const p2 = encodeFill(ctx, ones, 16, { kind: 'constant', value: 1 });
    expect([...(await ctx.readF32(ones, 16))]).toEqual(new Array(16).fill(1));
    p2.destroy();
    buf.destroy();
    ones.destroy();
  });
});

describeWith([PARTS.webgpu], 'a 32-layer dummy-weight model', () => {
  let m: LoadedEngine;
  beforeAll(async () => {
    m = await loadEngine(TINY);
  });
  afterAll(async () => m?.backend.dispose());

  const logits = async (l: LoadedEngine) => {
    const ids = [1, 100, 200, 300, 400, 17, 42, 99];
    const T = ids.length;
    const out = await l.backend.forward({
      batch: 1,
      tokens: T,
      inputIds: BigInt64Array.from(ids, BigInt),
      attentionMask: new BigInt64Array(T).fill(1n),
      positionIds: BigInt64Array.from({ length: T }, (_, i) => BigInt(i)),
      past: Array.from({ length: 32 }, () => ({ k: new Float32Array(0), v: new Float32Array(0), tokens: 0 })),
    });
    return out.logits;
  };

  it('is marked dummy, has no tokenizer file (bytes), and keeps its logits finite and spread', async () => {
    expect(m.backend.model).toMatchObject({ name: 'tiny-dummy-32l', layers: 32, weights: 'dummy' });
    expect(m.tokenizer).toBeInstanceOf(ByteTokenizer);
    expect(m.tokenizer.decode(m.tokenizer.encode('hi é'))).toBe('hi é');
    const x = await logits(m);
    expect(x).toHaveLength(512);
    expect(x.every(Number.isFinite)).toBe(true);
    const mean = x.reduce((a, b) => a + b, 0) / x.length;
    const std = Math.sqrt(x.reduce((a, b) => a + (b - mean) ** 2, 0) / x.length);
    // unit-RMS final norm × N(0, 0.02²) classifier over 128 inputs: std ≈ 0.02·√128 ≈ 0.23
    expect(std).toBeGreaterThan(0.05);
    expect(std).toBeLessThan(0.5);
  });

  it('gives the same values for the same seed, on every load', async () => {
    const again = await loadEngine(TINY);
    try {
      expect(await logits(again)).toEqual(await logits(m));
    } finally {
      await again.backend.dispose();
    }
  });
});
