import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-web';
import { buildLlamaOnnx } from '../../src/model/build-llama-onnx.js';
import { parseLlama2c } from '../../src/model/llama2c.js';
import { GOLDEN_40, readStories } from './stories-fixture.js';


// The browser runtime (onnxruntime-web's wasm EP, here run inside Node) executes the same built graph.
describe('built graph on onnxruntime-web (wasm EP)', () => {
  it('greedy decode from BOS gives the golden 40 tokens', async () => {
    ort.env.wasm.numThreads = 1;
    const s = await ort.InferenceSession.create(buildLlamaOnnx(parseLlama2c(readStories().weights)), { executionProviders: ['wasm'] });
    let past: ort.Tensor[] = Array.from({ length: 10 }, () => new ort.Tensor('float32', new Float32Array(0), [1, 4, 0, 8]));
    let token = 1;
    const out: number[] = [];
    for (let step = 0; step < 40; step++) {
      const feeds: Record<string, ort.Tensor> = {
        input_ids: new ort.Tensor('int64', BigInt64Array.of(BigInt(token)), [1, 1]),
        attention_mask: new ort.Tensor('int64', new BigInt64Array(step + 1).fill(1n), [1, step + 1]),
        position_ids: new ort.Tensor('int64', BigInt64Array.of(BigInt(step)), [1, 1]),
      };
      for (let i = 0; i < 5; i++) {
        feeds[`past_key_values.${i}.key`] = past[2 * i]!;
        feeds[`past_key_values.${i}.value`] = past[2 * i + 1]!;
      }
      const r = await s.run(feeds);
      const logits = r.logits!.data as Float32Array;
      token = logits.indexOf(Math.max(...logits));
      out.push(token);
      past = Array.from({ length: 5 }, (_, i) => [r[`present.${i}.key`]!, r[`present.${i}.value`]!]).flat();
    }
    await s.release();
    expect(out).toEqual(GOLDEN_40);
  });
});
