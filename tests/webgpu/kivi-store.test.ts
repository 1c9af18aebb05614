/**
 * KIVI on the device against the host KiviStore (src/methods/kivi-store.ts): the same prompt and
 * decode tokens go into both; at every step decode attention over the device store (dequantizing
 * as it reads) must equal attention over the host store's restored past, and the device store's
 * bytes held must equal the host's exactly. Random K/V and the embedded model's real K/V.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWith, PARTS } from '../support/parts.js';
import { createMethod } from '../../src/methods/registry.js';
import { totalBytes } from '../../src/methods/types.js';
import { encodeHalf } from '../../src/kernels/half.js';
import type { GpuContext } from '../../src/webgpu/gpu-context.js';
import { DecodeAttention, decodePartialBytes, defaultDecodeKernel } from '../../src/webgpu/kernels/attention.js';
import { attentionRef } from '../../src/webgpu/kernels/reference.js';
import { KiviDeviceStore } from '../../src/webgpu/kivi-store.js';
import { EngineBackend } from '../../src/webgpu/engine-backend.js';
import { embeddedEngine, gpu, gpuErrors, randomFloats, relErr } from './gpu-fixture.js';

let ctx: GpuContext;
beforeAll(async () => {
  ctx = await gpu();
});
afterAll(() => expect(gpuErrors).toEqual([]));

const half = (x: Float32Array) => {
  const h = new Uint16Array(x.length);
  encodeHalf(x, h);
  return h;
};

interface Case {
  B: number;
  KV: number;
  H: number;
  D: number;
  P: number;
  steps: number;
  /** prompt K/V [B, KV, P, D] and per step the new K/V [B, KV, 1, D] and q [B, H, D] */
  prompt: { k: Float32Array; v: Float32Array };
  step: (s: number) => { k: Float32Array; v: Float32Array; q: Float32Array };
  /** Left padding per sequence (slots before it are masked); none by default. */
  starts?: Uint32Array;
}

async function check(c: Case, bits: 2 | 4, residual: number) {
  const { B, KV, H, D, P, steps } = c;
  const G = 32;
  const geometry = { layers: 1, batch: B, kvHeads: KV, headDim: D, capacity: P + steps, promptSlots: P, prefillBatch: B };
  const store = new KiviDeviceStore(ctx, geometry, { bits, groupSize: G, residual });
  const host = createMethod(`kivi${bits}`, { layers: 1, batch: B, kvHeads: KV, headDim: D }, { residual });
  const R = (H + 2 * KV) * D;
  const qkv = ctx.alloc('scratch', B * R * 4, 'qkv');
  const starts = ctx.alloc('scratch', B * 4, 'starts');
  const startsHost = c.starts ?? new Uint32Array(B);
  ctx.write(starts, startsHost);
  const prm = ctx.alloc('scratch', 16, 'prm');
  const out = ctx.alloc('scratch', B * H * D * 4, 'out');
  const shape = { heads: H, kvHeads: KV, headDim: D, batch: B, cap: P + steps };
  const partial = ctx.alloc('scratch', decodePartialBytes(shape), 'partial');
  store.bind({ qkv: qkv.buffer, starts: starts.buffer, decodePrm: prm.buffer, heads: H });
  // prefill: the staging RoPE would write, then the store's quantization
  const t = store.prefillTarget(0);
  ctx.write(t.k, half(c.prompt.k));
  ctx.write(t.v, half(c.prompt.v));
  const pprm = ctx.alloc('scratch', 16, 'prefill prm');
  const pre = store.prefillOps(0, { b0: 0, count: B, prm: pprm.buffer });
  // every split kernel ('rows', keys slot by slot, is the default), and 'rows' reading keys in the
  // reader's tiles: each checked against the host
  expect(store.reader(0).reader.kTile).toBe(32 / bits);
  const variants = [['slots', false], ['rows', false], ['rowsp', false], ['rowsu', false], ['rows', true], ['rowsu', true]] as const;
  const atts = variants.map(([kernel, tiles]) => new DecodeAttention(ctx, { ...shape, reader: store.reader(0).reader }, { qkv: qkv.buffer, starts: starts.buffer, prm: prm.buffer, partial: partial.buffer, out: out.buffer, past: store.reader(0).buffers }, kernel, tiles));
  // and the branching form of the reader (a bench variant, and what MiniCache wraps) under 'rows',
  // 'rowsu' and 'rowsu' with tiles; the default (branch-free) form names 'rowsu', the branching 'rows'
  const branching = store.reader(0).reader.variants?.find((v) => v.name === 'branching reader')?.reader;
  expect(branching).toBeDefined();
  expect(defaultDecodeKernel({ ...shape, reader: store.reader(0).reader })).toBe('rowsu');
  expect(defaultDecodeKernel({ ...shape, reader: branching! })).toBe('rows');
  for (const [kernel, tiles] of [['rows', false], ['rowsu', false], ['rowsu', true]] as const) atts.push(new DecodeAttention(ctx, { ...shape, reader: branching! }, { qkv: qkv.buffer, starts: starts.buffer, prm: prm.buffer, partial: partial.buffer, out: out.buffer, past: store.reader(0).buffers }, kernel, tiles));
  const append = store.appendOps(0);
  const submit = (f: (p: GPUComputePassEncoder) => void) => {
    const enc = ctx.device.createCommandEncoder();
    const pass = enc.beginComputePass();
    f(pass);
    pass.end();
    ctx.device.queue.submit([enc.finish()]);
  };
  submit(pre);
  host.prefill([{ k: c.prompt.k, v: c.prompt.v, tokens: P }]);
  expect(store.bytes(P).held).toEqual(host.bytes());
  let worst = 0;
  for (let s = 0; s < steps; s++) {
    const n = P + s;
    const { k, v, q } = c.step(s);
    const row = new Float32Array(B * R);
    for (let b = 0; b < B; b++) {
      row.set(q.subarray(b * H * D, (b + 1) * H * D), b * R);
      for (let kh = 0; kh < KV; kh++) {
        row.set(k.subarray((b * KV + kh) * D, (b * KV + kh + 1) * D), b * R + (H + kh) * D);
        row.set(v.subarray((b * KV + kh) * D, (b * KV + kh + 1) * D), b * R + (H + KV + kh) * D);
      }
    }
    ctx.write(qkv, row);
    ctx.write(prm, Uint32Array.of(n, 0, s + 1, 0));
    const gots: Float32Array[] = [];
    for (const att of atts) {
      submit((p) => att.encode(p));
      gots.push(await ctx.readF32(out, B * H * D));
    }
    const past = [{ k: new Float32Array(B * KV * n * D), v: new Float32Array(B * KV * n * D), tokens: n }];
    host.restore(past);
    const want = attentionRef({
      batch: B,
      heads: H,
      kvHeads: KV,
      headDim: D,
      querySlots: [n],
      keys: n + 1,
      starts: startsHost,
      q: (b, h) => q.subarray((b * H + h) * D, (b * H + h + 1) * D),
      k: (b, kh, j) => (j < n ? past[0]!.k.subarray(((b * KV + kh) * n + j) * D, ((b * KV + kh) * n + j + 1) * D) : k.subarray((b * KV + kh) * D, (b * KV + kh + 1) * D)),
      v: (b, kh, j) => (j < n ? past[0]!.v.subarray(((b * KV + kh) * n + j) * D, ((b * KV + kh) * n + j + 1) * D) : v.subarray((b * KV + kh) * D, (b * KV + kh + 1) * D)),
    });
    for (const got of gots) worst = Math.max(worst, relErr(got, want));
    submit(append);
    host.append([{ k, v, tokens: 1 }]);
    expect(store.bytes(n + 1).held, `bytes after step ${s}`).toEqual(host.bytes());
  }
  console.log(`worst rel err ${worst.toExponential(2)}`);
  const b = store.bytes(P + steps);
  const allocated = ctx.bytesByCategory().kvStore;
  expect(totalBytes(b.held) + b.headroom).toBe(allocated);
  store.dispose();
  host.dispose();
  for (const x of [qkv, starts, prm, out, partial, pprm]) x.destroy();
  return worst;
}

function randomCase(B: number, KV: number, H: number, D: number, P: number, steps: number): Case {
  return {
    B,
    KV,
    H,
    D,
    P,
    steps,
    prompt: { k: randomFloats(B * KV * P * D, 3, 2), v: randomFloats(B * KV * P * D, 4, 2) },
    step: (s) => ({ k: randomFloats(B * KV * D, 100 + s, 2), v: randomFloats(B * KV * D, 200 + s, 2), q: randomFloats(B * H * D, 300 + s, 1) }),
  };
}

describeWith([PARTS.webgpu], 'KIVI device store against the host KiviStore', () => {
  for (const bits of [2, 4] as const) {
    it(`kivi${bits}, random K/V: prompt 70 then 80 steps through two key flushes and the value window (R 64)`, async () => {
      // sequence 1 left-padded by 21 slots: masked slots inside a key tile of 8 or 16
      const worst = await check({ ...randomCase(2, 2, 4, 64, 70, 80), starts: Uint32Array.of(0, 21) }, bits, 64);
      expect(worst).toBeLessThan(1e-4);
    });
  }

  it('kivi2 on the embedded model: layer 7 K/V of real prompts, R 128', async () => {
    const engine = await embeddedEngine(ctx);
    const backend = new EngineBackend(engine);
    const m = engine.model;
    const B = 2;
    const T = 200;
    const ids = Array.from({ length: B * T }, (_, i) => 1 + ((i * 7919) % 8000));
    const fw = await backend.forward({
      batch: B,
      tokens: T,
      inputIds: BigInt64Array.from(ids, BigInt),
      attentionMask: new BigInt64Array(B * T).fill(1n),
      positionIds: BigInt64Array.from({ length: B * T }, (_, i) => BigInt(i % T)),
      past: Array.from({ length: m.layers }, () => ({ k: new Float32Array(0), v: new Float32Array(0), tokens: 0 })),
    });
    engine.dispose();
    const { k, v } = fw.present[7]!;
    const KV = m.kvHeads;
    const D = m.headDim;
    const P = 140;
    const slice = (x: Float32Array, from: number, count: number) => {
      const o = new Float32Array(B * KV * count * D);
      for (let r = 0; r < B * KV; r++) o.set(x.subarray((r * T + from) * D, (r * T + from + count) * D), r * count * D);
      return o;
    };
    const worst = await check(
      { B, KV, H: m.heads, D, P, steps: T - P, prompt: { k: slice(k, 0, P), v: slice(v, 0, P) }, step: (s) => ({ k: slice(k, P + s, 1), v: slice(v, P + s, 1), q: randomFloats(B * m.heads * D, 7 + s, 1) }) },
      2,
      128,
    );
    expect(worst).toBeLessThan(1e-4);
  });
});
