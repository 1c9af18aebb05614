/**
 * The fp16-KV decoder graph the device path runs (buildLlamaOnnx kvDtype 'float16'): present is
 * float16 = Concat(past, fp16(new)), feedable straight back as past, and its logits follow the
 * float32-KV graph's within fp16 rounding of the cache; generateOnDevice with FP16 produces the
 * same tokens as a bare loop over the same graph (bench/harness-overhead.ts checks the same at scale).
 */
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { generateOnDevice } from '../../src/engine/generate-device.js';
import { createDeviceMethod } from '../../src/gpu/device-registry.js';
import type { DeviceCacheMethod, DeviceDecoder } from '../../src/gpu/device-types.js';
import { buildLlamaOnnx } from '../../src/model/build-llama-onnx.js';
import { createBareLoop } from '../../runners/node/ort-gpu-bench.js';
import { OrtDeviceDecoder } from '../../runners/node/ort-gpu-decoder.js';
import { tinyModel, TINY } from '../throughput/tiny-model.js';

const model = tinyModel();
const info = { name: 'tiny', layers: TINY.layers, heads: TINY.heads, kvHeads: TINY.kvHeads, headDim: TINY.headDim, vocabSize: TINY.vocabSize, maxContext: 256, bos: 1, eos: [2], weightBytes: 0 };

async function session(kvDtype: 'float32' | 'float16') {
  return ort.InferenceSession.create(buildLlamaOnnx(model, { kvDtype }), { executionProviders: ['cpu'], intraOpNumThreads: 1 });
}

describe('fp16-KV decoder graph', () => {
  const opened: ort.InferenceSession[] = [];
  afterAll(async () => {
    for (const s of opened) await s.release();
  });

  it('emits float16 presents that feed back as past, with logits close to the float32-KV graph', async () => {
    const [s16, s32] = [await session('float16'), await session('float32')];
    opened.push(s16, s32);
    const B = 2;
    const P = 7;
    const ids = BigInt64Array.from({ length: B * P }, (_, i) => BigInt(3 + ((i * 7) % 90)));
    const pos = BigInt64Array.from({ length: B * P }, (_, i) => BigInt(i % P));
    const feeds = (kv: 'float16' | 'float32', past: Record<string, ort.Tensor> | null, T: number, n: number, idsT: BigInt64Array, posT: BigInt64Array) => {
      const f: Record<string, ort.Tensor> = {
        input_ids: new ort.Tensor('int64', idsT, [B, T]),
        position_ids: new ort.Tensor('int64', posT, [B, T]),
        attention_mask: new ort.Tensor('int64', new BigInt64Array(B * (n + T)).fill(1n), [B, n + T]),
      };
      for (let l = 0; l < TINY.layers; l++) {
        for (const r of ['key', 'value']) {
          f[`past_key_values.${l}.${r}`] = past
            ? past[`present.${l}.${r}`]!
            : kv === 'float16'
              ? new ort.Tensor('float16', new Uint16Array(0), [B, TINY.kvHeads, 0, TINY.headDim])
              : new ort.Tensor('float32', new Float32Array(0), [B, TINY.kvHeads, 0, TINY.headDim]);
        }
      }
      return f;
    };
    const a1 = await s16.run(feeds('float16', null, P, 0, ids, pos));
    const b1 = await s32.run(feeds('float32', null, P, 0, ids, pos));
    expect(a1['present.0.key']!.type).toBe('float16');
    expect(a1['present.0.key']!.dims).toEqual([B, TINY.kvHeads, P, TINY.headDim]);
    const next = BigInt64Array.of(5n, 9n);
    const np = BigInt64Array.of(BigInt(P), BigInt(P));
    const a2 = await s16.run(feeds('float16', a1 as Record<string, ort.Tensor>, 1, P, next, np));
    const b2 = await s32.run(feeds('float32', b1 as Record<string, ort.Tensor>, 1, P, next, np));
    expect(a2['present.0.key']!.dims).toEqual([B, TINY.kvHeads, P + 1, TINY.headDim]);
    const la = a2.logits!.data as Float32Array;
    const lb = b2.logits!.data as Float32Array;
    let worst = 0;
    for (let i = 0; i < lb.length; i++) worst = Math.max(worst, Math.abs(la[i]! - lb[i]!));
    expect(worst).toBeLessThan(5e-3);
  });

  it('generateOnDevice + device FP16 gives the bare loop\'s greedy tokens on the same graph', async () => {
    const device = await OrtDeviceDecoder.fromLlama2c(model, info, { ep: 'cpu', kvDtype: 'float16', threads: 1 });
    const bare = await createBareLoop(model, info, { ep: 'cpu', kvDtype: 'float16', threads: 1 });
    try {
      const prompts = [
        [1, 10, 20, 30, 40],
        [1, 50, 60, 70, 80],
      ];
      const d = await generateOnDevice(device, info, prompts, { createMethod: (g) => createDeviceMethod('fp16', g, {}, device.exec), maxNewTokens: 10, ignoreEos: true });
      const b = await bare.run(prompts, 10);
      expect(d.tokens).toEqual(b.tokens);
      expect(d.diagnostics.device).toMatchObject({ graphs: 0 }); // FP16 runs no cache op on the device path
      expect(device.exec.stats.runs).toBe(0);
      expect(d.peakHeldBytes).toBe(2 * TINY.layers * 2 * TINY.kvHeads * (5 + 9) * TINY.headDim * 2);
    } finally {
      await device.dispose();
      await bare.release();
    }
  });

  it('methods that keep no present decode from the new tokens alone, with the same tokens and no present held', async () => {
    const device = await OrtDeviceDecoder.fromLlama2c(model, info, { ep: 'cpu', kvDtype: 'float16', threads: 1 });
    // The same decoder, made to ignore the hint (as the browser decoder does): present and new every step.
    const both: DeviceDecoder = { executionProvider: device.executionProvider, exec: device.exec, forward: (req) => device.forward({ ...req, kvOutputs: 'both' }) };
    const prompts = [
      [1, 10, 20, 30, 40, 41, 42],
      [1, 50, 60, 70, 80],
    ];
    try {
      for (const [name, params, needs] of [
        ['fp16', {}, true],
        ['minicache', { startLayer: 0 }, false],
        ['minicache', { startLayer: 1 }, true], // layer 0 unmerged in a plain fp16 stream
        ['kivi4', { groupSize: 8, residual: 8 }, false],
        ['minicache+kivi4', { startLayer: 0, groupSize: 8, residual: 8 }, false],
      ] as const) {
        const run = (d: DeviceDecoder) => {
          let made: DeviceCacheMethod | null = null;
          return generateOnDevice(d, info, prompts, { createMethod: (g) => (made = createDeviceMethod(name, g, params, device.exec)), maxNewTokens: 20, ignoreEos: true }).then((r) => ({ r, made: made! }));
        };
        const lean = await run(device);
        const full = await run(both);
        expect(lean.made.needsPresent, name).toBe(needs);
        expect(lean.r.tokens, name).toEqual(full.r.tokens);
        expect(lean.r.peakHeldBytes, name).toBe(full.r.peakHeldBytes);
        expect(full.r.presentBytes, name).toBeGreaterThan(0);
        expect(lean.r.presentBytes, name).toBe(needs ? full.r.presentBytes : 0);
      }
    } finally {
      await device.dispose();
    }
  });
});
