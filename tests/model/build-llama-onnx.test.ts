import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { roundHalf } from '../../src/kernels/half.js';
import { parseLlama2c, type Llama2cConfig } from '../../src/model/llama2c.js';
import { buildLlamaOnnx } from '../../src/model/build-llama-onnx.js';
import { randomWeights, writeLlama2c } from './llama2c-checkpoint.js';
import { GOLDEN_40, readStories } from './stories-fixture.js';


function argmax(a: Float32Array, from = 0, n = a.length): number {
  let best = 0;
  for (let i = 1; i < n; i++) if (a[from + i]! > a[from + best]!) best = i;
  return best;
}

describe('llama2.c → ONNX builder on stories260K (CPU EP)', () => {
  it('greedy decode from BOS gives the README golden 40 tokens', async () => {
    const model = parseLlama2c(readStories().weights);
    expect(model.fileDtype).toBe('float32');
    const { layers, kvHeads, headDim } = model.config;
    const session = await ort.InferenceSession.create(buildLlamaOnnx(model), { executionProviders: ['cpu'] });
    const kv = (data: Float32Array, t: number) => new ort.Tensor('float32', data, [1, kvHeads, t, headDim]);
    let past: ort.Tensor[] = Array.from({ length: 2 * layers }, () => kv(new Float32Array(0), 0));
    let token = 1;
    const out: number[] = [];
    for (let step = 0; step < 40; step++) {
      const feeds: Record<string, ort.Tensor> = {
        input_ids: new ort.Tensor('int64', BigInt64Array.of(BigInt(token)), [1, 1]),
        attention_mask: new ort.Tensor('int64', new BigInt64Array(step + 1).fill(1n), [1, step + 1]),
        position_ids: new ort.Tensor('int64', BigInt64Array.of(BigInt(step)), [1, 1]),
      };
      for (let i = 0; i < layers; i++) {
        feeds[`past_key_values.${i}.key`] = past[2 * i]!;
        feeds[`past_key_values.${i}.value`] = past[2 * i + 1]!;
      }
      const r = await session.run(feeds);
      expect(r.logits!.dims).toEqual([1, 512]);
      token = argmax(r.logits!.data as Float32Array);
      out.push(token);
      past = [];
      for (let i = 0; i < layers; i++) past.push(r[`present.${i}.key`]!, r[`present.${i}.value`]!);
    }
    await session.release();
    expect(out).toEqual(GOLDEN_40);
  });
});

const i64 = (xs: number[]) => BigInt64Array.from(xs, (x) => BigInt(x));
async function firstLogits(bytes: Uint8Array, prompt: number[], kvHeads: number, headDim: number, layers: number): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(bytes);
  const feeds: Record<string, ort.Tensor> = {
    input_ids: new ort.Tensor('int64', i64(prompt), [1, prompt.length]),
    attention_mask: new ort.Tensor('int64', i64(prompt.map(() => 1)), [1, prompt.length]),
    position_ids: new ort.Tensor('int64', i64(prompt.map((_, i) => i)), [1, prompt.length]),
  };
  for (let i = 0; i < layers; i++)
    for (const kv of ['key', 'value']) feeds[`past_key_values.${i}.${kv}`] = new ort.Tensor('float32', new Float32Array(0), [1, kvHeads, 0, headDim]);
  const r = await s.run(feeds);
  await s.release();
  return r.logits!.data as Float32Array;
}
const maxDiff = (a: Float32Array, b: Float32Array) => Math.max(...Array.from(a, (x, i) => Math.abs(x - b[i]!)));

describe('builder: graph interface and checkpoint variants', () => {
  it('has Hugging Face I/O names and symbolic shapes in both logits modes', async () => {
    const model = parseLlama2c(readStories().weights);
    for (const mode of ['last', 'all'] as const) {
      const s = await ort.InferenceSession.create(buildLlamaOnnx(model, { logits: mode }));
      const layerNames = (f: (i: number) => string[]) => Array.from({ length: 5 }, (_, i) => f(i)).flat();
      expect(s.inputNames).toEqual(['input_ids', 'attention_mask', 'position_ids', ...layerNames((i) => [`past_key_values.${i}.key`, `past_key_values.${i}.value`])]);
      expect(s.outputNames).toEqual(['logits', ...layerNames((i) => [`present.${i}.key`, `present.${i}.value`])]);
      const meta = (name: string) => [...s.inputMetadata, ...s.outputMetadata].find((m) => m.name === name) as unknown as { type: string; shape: (string | number)[] };
      expect(meta('input_ids')).toMatchObject({ type: 'int64', shape: ['batch', 'seq'] });
      expect(meta('attention_mask').shape).toEqual(['batch', 'total']);
      expect(meta('past_key_values.0.key')).toMatchObject({ type: 'float32', shape: ['batch', 4, 'past', 8] });
      expect(meta('present.4.value').shape).toEqual(['batch', 4, 'total', 8]);
      expect(meta('logits').shape).toEqual(mode === 'last' ? ['batch', 512] : ['batch', 'seq', 512]);
      await s.release();
    }
  });

  it('an untied classifier (negative vocab, wcls after the RoPE tables) equal to the embedding gives the same logits', async () => {
    const tied = parseLlama2c(readStories().weights);
    const c = { ...tied.config, tiedClassifier: false };
    const untied = parseLlama2c(writeLlama2c(c, { ...tied.weights, wcls: tied.weights.tokenEmbedding.slice() }, 'float32'));
    expect(untied.config.tiedClassifier).toBe(false);
    expect(untied.weights.wcls).not.toBeNull();
    expect(untied.paramCount).toBe(tied.paramCount + 512 * 64);
    const prompt = [1, 403, 407];
    expect(maxDiff(await firstLogits(buildLlamaOnnx(untied), prompt, 4, 8, 5), await firstLogits(buildLlamaOnnx(tied), prompt, 4, 8, 5))).toBe(0);
  });

  it('reads the float16 variant (no RoPE tables), upcasting to float32', async () => {
    const f32 = parseLlama2c(readStories().weights);
    const bytes = writeLlama2c(f32.config, f32.weights, 'float16');
    const f16 = parseLlama2c(bytes); // auto-detected by size
    expect(f16.fileDtype).toBe('float16');
    expect(parseLlama2c(bytes, { dtype: 'float16' }).fileDtype).toBe('float16');
    expect(() => parseLlama2c(bytes, { dtype: 'float32' })).toThrow(/a float32 file with this header has 1056540/);
    expect(f16.paramCount).toBe(f32.paramCount);
    const w = f32.weights.wq;
    for (let i = 0; i < w.length; i += 97) expect(f16.weights.wq[i]).toBe(roundHalf(w[i]!));
    const d = maxDiff(await firstLogits(buildLlamaOnnx(f16), [1, 403, 407], 4, 8, 5), await firstLogits(buildLlamaOnnx(f32), [1, 403, 407], 4, 8, 5));
    expect(d).toBeGreaterThan(0);
    expect(d).toBeLessThan(0.05);
  });

  it('rejects files of the wrong size and implausible headers', () => {
    const c: Llama2cConfig = { dim: 16, hiddenDim: 32, layers: 1, heads: 2, kvHeads: 1, vocabSize: 10, seqLen: 8, headDim: 8, tiedClassifier: true };
    const bytes = writeLlama2c(c, randomWeights(c), 'float32');
    expect(() => parseLlama2c(bytes.subarray(0, bytes.length - 4))).toThrow(/matches neither layout/);
    const bad = bytes.slice();
    new Int32Array(bad.buffer, 0, 7)[3] = 3; // heads 3 does not divide dim 16
    expect(() => parseLlama2c(bad)).toThrow(/implausible header/);
  });

  it("builds and runs the project's own geometry (12 layers, dim 256, 4/2 heads, hidden 576, vocab 8192, float16 file)", async () => {
    const c: Llama2cConfig = { dim: 256, hiddenDim: 576, layers: 12, heads: 4, kvHeads: 2, vocabSize: 8192, seqLen: 1024, headDim: 64, tiedClassifier: true };
    const model = parseLlama2c(writeLlama2c(c, randomWeights(c, 7), 'float16'));
    expect(model.fileDtype).toBe('float16');
    const s = await ort.InferenceSession.create(buildLlamaOnnx(model));
    const B = 2;
    const T = 3;
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor('int64', i64([5, 6, 7, 0, 8, 9]), [B, T]),
      attention_mask: new ort.Tensor('int64', i64([1, 1, 1, 0, 1, 1]), [B, T]),
      position_ids: new ort.Tensor('int64', i64([0, 1, 2, 0, 0, 1]), [B, T]),
    };
    for (let i = 0; i < 12; i++) for (const kv of ['key', 'value']) feeds[`past_key_values.${i}.${kv}`] = new ort.Tensor('float32', new Float32Array(0), [B, 2, 0, 64]);
    const r = await s.run(feeds);
    expect(r.logits!.dims).toEqual([B, 8192]);
    expect(r['present.11.key']!.dims).toEqual([B, 2, T, 64]);
    expect((r.logits!.data as Float32Array).every(Number.isFinite)).toBe(true);
    await s.release();
  });
});

describe("builder: kvOutputs 'new' (the harness's host path)", () => {
  it('outputs exactly the new tokens of present, for float32 and float16 K/V, with the same logits', async () => {
    const c: Llama2cConfig = { dim: 32, hiddenDim: 64, layers: 2, heads: 4, kvHeads: 2, vocabSize: 40, seqLen: 64, headDim: 8, tiedClassifier: true };
    const model = parseLlama2c(writeLlama2c(c, randomWeights(c, 3), 'float32'));
    const B = 2;
    const P = 3;
    const T = 2;
    for (const kvDtype of ['float32', 'float16'] as const) {
      const full = await ort.InferenceSession.create(buildLlamaOnnx(model, { kvDtype }));
      const fresh = await ort.InferenceSession.create(buildLlamaOnnx(model, { kvDtype, kvOutputs: 'new' }));
      expect(fresh.outputNames).toEqual(['logits', 'new.0.key', 'new.0.value', 'new.1.key', 'new.1.value']);
      const feeds: Record<string, ort.Tensor> = {
        input_ids: new ort.Tensor('int64', i64([5, 6, 7, 8]), [B, T]),
        attention_mask: new ort.Tensor('int64', i64(new Array(B * (P + T)).fill(1)), [B, P + T]),
        position_ids: new ort.Tensor('int64', i64([3, 4, 3, 4]), [B, T]),
      };
      const n = B * 2 * P * 8;
      for (let i = 0; i < 2; i++)
        for (const kv of ['key', 'value']) {
          const data = Float32Array.from({ length: n }, (_, j) => Math.sin(j * 0.37 + i + (kv === 'key' ? 0 : 1)));
          feeds[`past_key_values.${i}.${kv}`] = kvDtype === 'float32' ? new ort.Tensor('float32', data, [B, 2, P, 8]) : new ort.Tensor('float16', Uint16Array.from(data, (x) => Math.round(x * 100) + 0x3c00), [B, 2, P, 8]);
        }
      const a = await full.run(feeds);
      const b = await fresh.run(feeds);
      expect(Array.from(b.logits!.data as Float32Array)).toEqual(Array.from(a.logits!.data as Float32Array));
      for (let i = 0; i < 2; i++)
        for (const kv of ['key', 'value']) {
          const present = a[`present.${i}.${kv}`]!;
          const fresh1 = b[`new.${i}.${kv}`]!;
          expect(fresh1.dims).toEqual([B, 2, T, 8]);
          expect(fresh1.type).toBe(kvDtype);
          const pd = present.data as Float32Array | Uint16Array;
          const tail: number[] = [];
          for (let r = 0; r < B * 2; r++) for (let t = P; t < P + T; t++) for (let d = 0; d < 8; d++) tail.push(pd[(r * (P + T) + t) * 8 + d]!);
          expect(Array.from(fresh1.data as Float32Array | Uint16Array)).toEqual(tail);
        }
      await full.release();
      await fresh.release();
    }
  });
});
