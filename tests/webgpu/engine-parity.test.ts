/**
 * The engine's greedy tokens against onnxruntime CPU's (the harness's reference path, FP16
 * method) on the embedded model and stories260K: batch 1, and a batch of 8 prompts of different
 * lengths (left padding); and every method the engine holds on the device against the same method
 * on the host path. Tolerance (docs/webgpu-engine.md): tokens are equal, or the first divergence
 * is an argmax flip between two tokens whose log-probabilities the reference path puts within
 * 0.01 of each other (fp16 rounding of a cached value, or f32 summation order, can flip a near tie).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWith, PARTS } from '../support/parts.js';
import type { InferenceBackend, Tokenizer } from '../../src/engine/backend.js';
import { generate } from '../../src/engine/generate.js';
import { createMethod } from '../../src/methods/registry.js';
import type { GpuContext } from '../../src/webgpu/gpu-context.js';
import { generateOnEngine } from '../../src/webgpu/generate-engine.js';
import { engineStoreFor } from '../../src/webgpu/store-registry.js';
import { loadEngine, type LoadedEngine } from '../../runners/node/load-engine.js';
import { loadModel } from '../../runners/node/load-model.js';
import { GOLDEN_40, STORIES_CARD } from '../model/stories-fixture.js';
import { EMBEDDED_DIR, gpu, gpuErrors } from './gpu-fixture.js';

const TOLERANCE = 0.01;

let ctx: GpuContext;
beforeAll(async () => {
  ctx = await gpu();
});
afterAll(() => expect(gpuErrors).toEqual([]));

/**
 * Where two token lists first differ, and the gap there between the two tokens' log-probabilities
 * under the reference path itself (onnxruntime with the same cache method, teacher-forced through
 * the common prefix): an argmax flip between two near-equal candidates has a small gap.
 */
async function divergence(backend: InferenceBackend, method: string, params: Record<string, unknown>, prompt: number[], ref: number[], got: number[]): Promise<{ at: number; gap: number } | null> {
  const at = ref.findIndex((t, i) => got[i] !== t);
  if (at < 0 && ref.length === got.length) return null;
  const nll = async (tok: number) => {
    const forced = [...ref.slice(0, at), tok];
    const r = await generate(backend, [prompt], { maxNewTokens: forced.length, teacherForce: [forced], ignoreEos: true, createMethod: (g) => createMethod(method, g, params) });
    return r.nll![0]!.sum;
  };
  return { at, gap: Math.abs((await nll(ref[at]!)) - (await nll(got[at]!))) };
}

/**
 * Engine against host for one method. Returns how many sequences are equal, and the divergences
 * that are not near ties ({ at, gap }), for the caller's allowance.
 */
async function compare(engine: LoadedEngine, ort: { backend: InferenceBackend }, prompts: number[][], maxNewTokens: number, method = 'fp16', params: Record<string, unknown> = {}) {
  const store = engineStoreFor(method, params, engine.engine.config.headDim);
  if (!store) throw new Error(`${method} has no device store`);
  const rebuilt = { layers: 0, whole: 0 };
  const e = await generateOnEngine(engine.engine, prompts, { maxNewTokens, store, inspect: async (s) => void Object.assign(rebuilt, { layers: s.layersRebuilt, whole: s.wholeRebuilds }) });
  const o = await generate(ort.backend, prompts, { maxNewTokens, createMethod: (g) => createMethod(method, g, params) });
  let equal = 0;
  const unexplained: { b: number; at: number; gap: number }[] = [];
  for (let b = 0; b < prompts.length; b++) {
    const d = await divergence(ort.backend, method, params, prompts[b]!, o.tokens[b]!, e.tokens[b]!);
    if (!d) equal++;
    else {
      console.log(`${method}: sequence ${b} diverges at token ${d.at}, log-probability gap ${d.gap.toExponential(2)}`);
      if (d.gap >= TOLERANCE) unexplained.push({ b, ...d });
    }
  }
  return { equal, unexplained, engine: e, ort: o, rebuilt };
}

function promptsOf(tok: Tokenizer, texts: string[]): number[][] {
  return texts.map((t) => tok.encode(t, { bos: true }));
}

const TEXTS = [
  'Once upon a time, there was a little girl named Lily.',
  'The',
  'In the beginning',
  'def fibonacci(n):\n    if n < 2:\n        return n',
  'It was a bright cold day in April, and the clocks were striking thirteen. Winston Smith, his chin nuzzled into his breast',
  'A',
  'She looked at the sky and said',
  'Tom and his dog went to the park to play with a red ball. The dog ran',
];

describeWith([PARTS.webgpu], 'engine greedy tokens equal onnxruntime CPU', () => {
  it('embedded model: batch 1 and a left-padded batch of 8', async () => {
    const engine = await loadEngine(EMBEDDED_DIR);
    const ort = await loadModel(EMBEDDED_DIR);
    const prompts = promptsOf(ort.tokenizer, TEXTS);
    const one = await compare(engine, ort, [prompts[0]!], 24);
    expect(one.equal).toBe(1);
    const eight = await compare(engine, ort, prompts, 24);
    expect(eight.unexplained).toEqual([]);
    expect(eight.equal).toBeGreaterThanOrEqual(ctx.adapter.fallback ? 8 : 7);
    await ort.backend.dispose();
    engine.engine.dispose();
  });

  // Every method the engine holds on the device, against the same method on the host path. A
  // residual of 32 makes the 40-token decode cross key flushes and value evictions.
  // fp16 and KIVI compute what the host computes (codes equal): every divergence must be a near
  // tie. MiniCache merges in float32 where the host sums in float64: a direction's fp16 rounding
  // can land on the other side, which moves a 4-bit group's min or scale, and an angle at the
  // retention threshold can fall the other way; either changes later tokens for real. For them at
  // most two of the eight sequences may diverge beyond a near tie, and not before token 16.
  for (const [method, params, strict] of [
    ['kivi2', { residual: 32 }, true],
    ['kivi4', { residual: 32 }, true],
    ['minicache', {}, false],
    ['minicache+kivi4', { residual: 32 }, false],
    ['mean-merge', {}, true],
  ] as [string, Record<string, unknown>, boolean][]) {
    it(`${method} on the device equals ${method} on the host path (embedded model, 8 left-padded prompts)`, async () => {
      const engine = await loadEngine(EMBEDDED_DIR);
      const ort = await loadModel(EMBEDDED_DIR);
      const r = await compare(engine, ort, promptsOf(ort.tokenizer, TEXTS), 40, method, params);
      if (strict) expect(r.unexplained).toEqual([]);
      else {
        expect(r.unexplained.length).toBeLessThanOrEqual(2);
        for (const u of r.unexplained) expect(u.at, `sequence ${u.b}`).toBeGreaterThanOrEqual(16);
      }
      if (r.equal === 8) expect(r.engine.bytesHeld).toEqual(r.ort.bytes);
      // MiniCache reallocates a pair's lists after the prefill (and as they grow): the session
      // rebuilds those two layers' attention and append only, never the whole stack's 12
      if (method.startsWith('minicache')) expect(r.rebuilt.layers % 2 === 0 && r.rebuilt.layers > 0).toBe(true);
      expect(r.rebuilt.whole).toBe(0);
      await ort.backend.dispose();
      engine.engine.dispose();
    });
  }

  it('stories260K: the README golden 40 tokens from BOS, and a left-padded batch of 8', async () => {
    const engine = await loadEngine(STORIES_CARD);
    const ort = await loadModel(STORIES_CARD);
    const r = await generateOnEngine(engine.engine, [[1]], { maxNewTokens: 40 });
    expect(r.tokens[0]).toEqual(GOLDEN_40);
    const eight = await compare(engine, ort, promptsOf(ort.tokenizer, TEXTS), 20);
    expect(eight.unexplained).toEqual([]);
    expect(eight.equal).toBeGreaterThanOrEqual(ctx.adapter.fallback ? 8 : 7);
    await ort.backend.dispose();
    engine.engine.dispose();
  });
});
