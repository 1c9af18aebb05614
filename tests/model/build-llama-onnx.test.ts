import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { parseLlama2c } from '../../src/model/llama2c.js';
import { buildLlamaOnnx } from '../../src/model/build-llama-onnx.js';
import { GOLDEN_40, HAVE_STORIES, SKIP_REASON, readStories } from './stories-fixture.js';

if (!HAVE_STORIES) console.warn(`skipping stories260K builder tests: ${SKIP_REASON}`);
const itStories = HAVE_STORIES ? it : it.skip;

function argmax(a: Float32Array, from = 0, n = a.length): number {
  let best = 0;
  for (let i = 1; i < n; i++) if (a[from + i]! > a[from + best]!) best = i;
  return best;
}

describe('llama2.c → ONNX builder on stories260K (CPU EP)', () => {
  itStories('greedy decode from BOS gives the README golden 40 tokens', async () => {
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
