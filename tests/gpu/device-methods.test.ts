/**
 * The device-resident cache methods (src/gpu) against the reference methods (src/methods) as the
 * oracle, on onnxruntime's CPU EP (the same graphs the WebGPU EP runs): after prefill and after
 * every decode step the restored K/V of every layer, read back once, must match the reference
 * restore within fp16 rounding; and the bytes held must equal the reference's byte accounting.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { CacheGeometry } from '../../src/engine/kv-block.js';
import { createDeviceMethod } from '../../src/gpu/device-registry.js';
import { createMethod } from '../../src/methods/registry.js';
import { totalBytes } from '../../src/methods/types.js';
import { OrtGraphExec } from '../../runners/node/ort-device-cache.js';
import { compare, comparer, lockstep } from './helpers.js';

const exec = new OrtGraphExec('cpu', 'float16', { threads: 1 });
afterAll(() => exec.dispose());

// Short residual/group so that prefill, flushes, evictions and tails all happen within a few steps.
const G: CacheGeometry = { layers: 4, batch: 2, kvHeads: 2, headDim: 32 };

describe('device fp16 (pass-through)', () => {
  it('restores exactly what was stored, with no cache graph, and counts 2 bytes per element', async () => {
    const dev = createDeviceMethod('fp16', G, {}, exec);
    const ref = createMethod('fp16', G, {});
    await lockstep(exec, G, dev, ref, 5, 3, 1, (_s, _l, _w, d, r) => expect(compare(d, r, 0, 0).maxAbs).toBe(0));
    expect(dev.bytes().held).toEqual(ref.bytes());
    expect(dev.diagnostics().device).toMatchObject({ graphs: 0 });
  });
});

describe.each([
  ['kivi2', { residual: 16, groupSize: 16 }],
  ['kivi4', { residual: 8, groupSize: 8 }],
  ['kivi4', { residual: 16, groupSize: 8 }],
])('device %s %j', (name, params) => {
  it.each([false, true])('matches KiviStore through prefill, key flushes and value evictions; bytes equal the reference (new tokens from the decoder: %s)', async (withNew) => {
    const dev = createDeviceMethod(name, G, params, exec);
    const ref = createMethod(name, G, params);
    // The device hands the model fp16 (dequantized values rounded to fp16); the reference keeps float32.
    const c = comparer(2e-3, 1e-3);
    // prompt 19: keys 16 quantized + 3 tail, values 11 quantized + 8 window (R = 8); 14 steps cross two key flushes.
    await lockstep(exec, G, dev, ref, 19, 14, 7, (step, l, w, d, r) => {
      expect(d.length, `step ${step} layer ${l} ${w}`).toBe(r.length);
      c.add(d, r);
    }, withNew);
    // Both quantize in float32 now (0 outliers measured on the CPU EP); the same graphs run on WebGPU,
    // where WGSL bounds division only to 2.5 ULP, so a code may differ by one: allow a handful.
    expect(c.rate).toBeLessThan(1e-3);
    expect(c.maxAbs).toBeLessThan(1);
    expect(dev.bytes().held).toEqual(ref.bytes());
    expect(dev.bytes().packedEquivalent).toEqual(ref.bytes());
    expect(dev.diagnostics().residual).toEqual(ref.diagnostics().residual);
  });
});

describe.each([
  ['minicache', {}],
  ['minicache+kivi4', { residual: 8, groupSize: 8 }],
])('device %s %j', (name, params) => {
  it.each([false, true])('restores both layers of each pair like CrossLayerMethod, with the same retained tokens and bytes (new tokens from the decoder: %s)', async (withNew) => {
    const geometry: CacheGeometry = { layers: 8, batch: 2, kvHeads: 2, headDim: 32 }; // pairs (4,5), (6,7): stacked
    const dev = createDeviceMethod(name, geometry, params, exec);
    const ref = createMethod(name, geometry, params);
    const c = comparer(3e-3, 3e-3);
    await lockstep(exec, geometry, dev, ref, 21, 10, 3, (_step, _l, _w, d, r) => c.add(d, r), withNew);
    expect(c.rate).toBeLessThan(1e-3);
    expect(c.maxAbs).toBeLessThan(1);
    const db = dev.bytes();
    const rb = ref.bytes();
    expect(db.held).toEqual(rb);
    expect(totalBytes(db.held)).toBeGreaterThan(0);
    expect(rb.retained ?? 0).toBeGreaterThan(0);
  });
});

describe('many layers (Concat/Split nested to at most 6 inputs/outputs per node)', () => {
  it('kivi4 over 13 stacked layers restores like the reference', async () => {
    const geometry: CacheGeometry = { layers: 13, batch: 1, kvHeads: 1, headDim: 32 };
    const params = { residual: 8, groupSize: 8 };
    const dev = createDeviceMethod('kivi4', geometry, params, exec);
    const ref = createMethod('kivi4', geometry, params);
    const c = comparer(2e-3, 1e-3);
    await lockstep(exec, geometry, dev, ref, 9, 4, 2, (_s, _l, _w, d, r) => c.add(d, r));
    expect(c.rate).toBeLessThan(1e-3);
    expect(dev.bytes().held).toEqual(ref.bytes());
  });
});

describe('restore in chunks of layers (full-size tensors bounded by chunkBytes)', () => {
  // Per layer at n tokens: 2·2·n·32·2 bytes = 256·n. 1 byte → one layer per chunk; 16896 → two per chunk for n ≤ 33.
  it.each([
    ['kivi4', 5, 16896, 8],
    ['kivi2', 4, 1, 16],
    ['minicache+kivi4', 8, 1, 8],
    ['minicache+kivi4', 8, 16896, 8],
  ] as const)('%s over %i layers, chunkBytes %i, restores like the reference', async (name, layers, chunkBytes, group) => {
    const geometry: CacheGeometry = { layers, batch: 2, kvHeads: 2, headDim: 32 };
    const params = { residual: group, groupSize: group };
    const dev = createDeviceMethod(name, geometry, params, exec, { chunkBytes });
    const ref = createMethod(name, geometry, params);
    const c = comparer(3e-3, 3e-3);
    await lockstep(exec, geometry, dev, ref, 19, 6, 5, (_s, _l, _w, d, r) => c.add(d, r), true);
    expect(c.rate).toBeLessThan(1e-3);
    expect(dev.bytes().held).toEqual(ref.bytes());
  });
});
