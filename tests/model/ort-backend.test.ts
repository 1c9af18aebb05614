import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HarnessError } from '../../src/errors.js';
import type { KVBlock } from '../../src/engine/kv-block.js';
import { parseLlama2c } from '../../src/model/llama2c.js';
import { describeEp, OrtBackend } from '../../runners/node/ort-backend.js';
import { GOLDEN_40, readStories } from './stories-fixture.js';
import { CUDA_PROVIDER_INSTALLED, describeWith, itWhen, PARTS } from '../support/parts.js';


const KVH = 4;
const D = 8;
const V = 512;

function argmax(a: Float32Array, from: number, n: number): number {
  let best = 0;
  for (let i = 1; i < n; i++) if (a[from + i]! > a[from + best]!) best = i;
  return best;
}

/** Appends `add` to `past` along the token axis ([B,H,T,D] layout). */
function concat(past: KVBlock, add: KVBlock, B: number): KVBlock {
  const T = past.tokens + add.tokens;
  const cat = (a: Float32Array, b: Float32Array) => {
    const out = new Float32Array(B * KVH * T * D);
    for (let r = 0; r < B * KVH; r++) {
      out.set(a.subarray(r * past.tokens * D, (r + 1) * past.tokens * D), r * T * D);
      out.set(b.subarray(r * add.tokens * D, (r + 1) * add.tokens * D), r * T * D + past.tokens * D);
    }
    return out;
  };
  return { k: cat(past.k, add.k), v: cat(past.v, add.v), tokens: T };
}

const empty = (layers: number): KVBlock[] => Array.from({ length: layers }, () => ({ k: new Float32Array(0), v: new Float32Array(0), tokens: 0 }));
const i64 = (xs: number[]) => BigInt64Array.from(xs, (x) => BigInt(x));

/** Greedy decode of left-padded prompts, batched; returns the new tokens per row and first-step logits. */
async function greedy(backend: OrtBackend, prompts: number[][], steps: number) {
  const B = prompts.length;
  const L = backend.model.layers;
  const P = Math.max(...prompts.map((p) => p.length));
  const valid: number[][] = prompts.map((p) => [...Array(P - p.length).fill(0), ...Array(p.length).fill(1)]);
  const ids = prompts.flatMap((p) => [...Array(P - p.length).fill(0), ...p]);
  const pos = prompts.flatMap((p) => Array.from({ length: P }, (_, s) => Math.max(0, s - (P - p.length))));
  let r = await backend.forward({ batch: B, tokens: P, inputIds: i64(ids), attentionMask: i64(valid.flat()), positionIds: i64(pos), past: empty(L) });
  const firstLogits = r.logits;
  let past = r.present;
  const out: number[][] = prompts.map(() => []);
  for (let step = 0; step < steps; step++) {
    const next = prompts.map((_, b) => argmax(r.logits, b * V, V));
    next.forEach((t, b) => out[b]!.push(t));
    if (step === steps - 1) break;
    valid.forEach((row) => row.push(1));
    r = await backend.forward({
      batch: B,
      tokens: 1,
      inputIds: i64(next),
      attentionMask: i64(valid.flat()),
      positionIds: i64(prompts.map((p) => p.length + step)),
      past,
    });
    expect(r.present.every((blk) => blk.tokens === 1 && blk.k.length === B * KVH * D)).toBe(true);
    past = past.map((blk, i) => concat(blk, r.present[i]!, B));
  }
  return { tokens: out, firstLogits };
}

describe('OrtBackend over the built stories260K graph (CPU EP)', () => {
  let backend: OrtBackend;
  beforeAll(async () => {
    backend = await OrtBackend.fromLlama2c(parseLlama2c(readStories().weights), { name: 'stories260K', eos: [2] }, { ep: 'cpu' });
  });
  afterAll(async () => backend?.dispose());

  it('reports the model geometry and weight bytes', () => {
    expect(backend.model).toMatchObject({ layers: 5, heads: 8, kvHeads: 4, headDim: 8, vocabSize: 512, maxContext: 512, bos: 1, eos: [2] });
    expect(backend.model.weightBytes).toBe(260032 * 4);
    expect(backend.executionProvider).toBe('cpu');
  });

  it('greedy decode from BOS gives the golden 40 tokens', async () => {
    const { tokens } = await greedy(backend, [[1]], 40);
    expect(tokens[0]).toEqual(GOLDEN_40);
  });

  it('a left-padded batch row gives the same logits and tokens as the prompt alone', async () => {
    const prompts = [[1], [1, 403, 407, 261, 378, 432], [1, 403, 407], [1, 300, 301, 302, 303, 304, 305, 306, 307], [1, 403]];
    const batch = await greedy(backend, prompts, 12);
    for (const [b, p] of prompts.entries()) {
      const alone = await greedy(backend, [p], 12);
      const diff = Math.max(...Array.from(alone.firstLogits, (x, i) => Math.abs(x - batch.firstLogits[b * V + i]!)));
      expect(diff).toBeLessThan(1e-4);
      expect(batch.tokens[b]).toEqual(alone.tokens[0]);
    }
    expect(batch.tokens[0]).toEqual(GOLDEN_40.slice(0, 12));
  });

  it('prefill equals incremental decoding: all-position logits and present K/V', async () => {
    const seq = [1, ...GOLDEN_40.slice(0, 7)];
    const T = seq.length;
    const full = await backend.forward({ batch: 1, tokens: T, inputIds: i64(seq), attentionMask: i64(seq.map(() => 1)), positionIds: i64(seq.map((_, i) => i)), past: empty(5), allLogits: true });
    expect(full.logits.length).toBe(T * V);
    let past = empty(5);
    for (let t = 0; t < T; t++) {
      const r = await backend.forward({ batch: 1, tokens: 1, inputIds: i64([seq[t]!]), attentionMask: i64(Array(t + 1).fill(1)), positionIds: i64([t]), past });
      const diff = Math.max(...Array.from(r.logits, (x, i) => Math.abs(x - full.logits[t * V + i]!)));
      expect(diff).toBeLessThan(1e-4);
      past = past.map((blk, i) => concat(blk, r.present[i]!, 1));
    }
    for (let l = 0; l < 5; l++) {
      const a = full.present[l]!;
      expect(a.tokens).toBe(T);
      const diff = Math.max(...Array.from(a.k, (x, i) => Math.abs(x - past[l]!.k[i]!)), ...Array.from(a.v, (x, i) => Math.abs(x - past[l]!.v[i]!)));
      expect(diff).toBeLessThan(1e-4);
    }
  });

  it('a fully padded row yields finite logits, never NaN', async () => {
    const r = await backend.forward({ batch: 2, tokens: 3, inputIds: i64([0, 0, 0, 1, 403, 407]), attentionMask: i64([0, 0, 0, 1, 1, 1]), positionIds: i64([0, 0, 0, 0, 1, 2]), past: empty(5) });
    expect(r.logits.every(Number.isFinite)).toBe(true);
    expect(r.present.every((blk) => blk.k.every(Number.isFinite))).toBe(true);
  });

  it('rejects a request whose arrays disagree with batch and tokens', async () => {
    await expect(
      backend.forward({ batch: 2, tokens: 1, inputIds: i64([1]), attentionMask: i64([1, 1]), positionIds: i64([0, 0]), past: empty(5) }),
    ).rejects.toThrow(/inputIds has 1 ids, expected batch\*tokens = 2/);
  });
});

// onnxruntime-node's WebGPU EP needs a Vulkan driver named by VK_DRIVER_FILES (vitest.config.ts
// names Chromium's SwiftShader on a machine without a GPU).
describeWith([PARTS.vulkan], 'OrtBackend on the WebGPU EP', () => {
  it('greedy decode from BOS gives the golden tokens, batched with a padded row', async () => {
    const backend = await OrtBackend.fromLlama2c(parseLlama2c(readStories().weights), { name: 'stories260K' }, { ep: 'webgpu' });
    try {
      expect(backend.executionProvider).toBe('webgpu');
      const { tokens } = await greedy(backend, [[1], [1, 403, 407, 261]], 20);
      expect(tokens[0]).toEqual(GOLDEN_40.slice(0, 20));
      expect(tokens[1]).toEqual(GOLDEN_40.slice(3, 23));
    } finally {
      await backend.dispose();
    }
  });
});

describe('execution provider errors and description', () => {
  itWhen(!CUDA_PROVIDER_INSTALLED, "onnxruntime-node's CUDA provider is installed here, so the run without it cannot be shown", 'without the CUDA provider, cuda fails with install instructions', async () => {
    const err = await OrtBackend.fromLlama2c(parseLlama2c(readStories().weights), { name: 's' }, { ep: 'cuda' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(HarnessError);
    expect((err as HarnessError).code).toBe('ep.cuda-missing');
    expect((err as HarnessError).hint).toMatch(/ONNXRUNTIME_NODE_INSTALL=cuda12 node node_modules\/onnxruntime-node\/script\/install\.js/);
  });

  it('describes the device behind an EP', () => {
    const cpu = describeEp('cpu');
    expect(cpu.ep).toBe('cpu');
    expect(cpu.onnxruntime).toMatch(/^1\.\d+\.\d+/);
    expect(cpu.cpuCount).toBeGreaterThan(0);
    const saved = process.env.VK_DRIVER_FILES;
    process.env.VK_DRIVER_FILES = '/usr/lib/chromium/vk_swiftshader_icd.json';
    try {
      expect(describeEp('webgpu').adapter).toMatchObject({ architecture: 'swiftshader', fallback: true });
    } finally {
      if (saved === undefined) delete process.env.VK_DRIVER_FILES;
      else process.env.VK_DRIVER_FILES = saved;
    }
  });
});
