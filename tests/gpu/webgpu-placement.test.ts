/**
 * The cache-op graphs on onnxruntime's WebGPU EP (runs where VK_DRIVER_FILES names a Vulkan
 * driver; on a CPU machine vitest.config.ts names Chromium's SwiftShader).
 *  1. Placement: every graph the methods build (fp16 storage, as on a GPU) is created with
 *     session.disable_cpu_ep_fallback, which refuses any node the WebGPU EP would hand to the CPU:
 *     no cache data passes through the host inside a cache op.
 *  2. Execution: SwiftShader has no shader-f16, so the same methods run with float32 storage on the
 *     WebGPU EP, tensors kept as gpu-buffer between ops, and restore what the reference restores.
 */
import { afterAll, expect, it } from 'vitest';
import type { CacheGeometry } from '../../src/engine/kv-block.js';
import type { DeviceTensor, GraphExec, GraphSpec } from '../../src/gpu/device-types.js';
import { createDeviceMethod } from '../../src/gpu/device-registry.js';
import { createMethod } from '../../src/methods/registry.js';
import { OrtGraphExec } from '../../runners/node/ort-device-cache.js';
import { comparer, lockstep } from './helpers.js';
import { describeWith, PARTS } from '../support/parts.js';


/** Runs on the CPU EP and remembers every graph spec it was asked to run. */
class RecordingExec implements GraphExec {
  readonly specs = new Map<string, GraphSpec>();
  constructor(private readonly inner: OrtGraphExec) {}
  get kv() {
    return this.inner.kv;
  }
  run(spec: GraphSpec, feeds: Readonly<Record<string, DeviceTensor>>) {
    this.specs.set(spec.key, spec);
    return this.inner.run(spec, feeds);
  }
  upload(type: 'int32' | 'float32', data: Int32Array | Float32Array, dims: readonly number[]) {
    return this.inner.upload(type, data, dims);
  }
  read(t: DeviceTensor) {
    return this.inner.read(t);
  }
}

const G: CacheGeometry = { layers: 5, batch: 2, kvHeads: 2, headDim: 32 };
const CASES: [string, Record<string, unknown>][] = [
  ['fp16', {}],
  ['kivi2', { residual: 16, groupSize: 16 }],
  ['kivi4', { residual: 8, groupSize: 8 }],
  ['minicache', {}],
  ['minicache+kivi4', { residual: 8, groupSize: 8 }],
];

describeWith([PARTS.vulkan], 'cache-op graphs on the WebGPU EP', () => {
  const cpu = new OrtGraphExec('cpu', 'float16', { threads: 1 });
  const strict16 = new OrtGraphExec('webgpu', 'float16', { strictPlacement: true });
  const gpu32 = new OrtGraphExec('webgpu', 'float32', { strictPlacement: true });
  afterAll(async () => {
    await cpu.dispose();
    await strict16.dispose();
    await gpu32.dispose();
  });

  it.each(CASES)('%s: every fp16-storage graph is placed wholly on the WebGPU EP', async (name, params) => {
    const rec = new RecordingExec(cpu);
    const dev = createDeviceMethod(name, G, params, rec, { fence: true });
    await lockstep(cpu, G, dev, createMethod(name, G, params), 19, 10, 5, () => {});
    if (name === 'fp16') expect(rec.specs.size).toBe(0);
    else expect(rec.specs.size).toBeGreaterThan(1);
    for (const spec of rec.specs.values()) await expect(strict16.session(spec), spec.key).resolves.toBeDefined();
  });

  it.each([['kivi4', { residual: 8, groupSize: 8 }], ['minicache+kivi4', { residual: 8, groupSize: 8 }]] as const)(
    '%s with restores in one-layer chunks: every fp16-storage graph is placed wholly on the WebGPU EP',
    async (name, params) => {
      const rec = new RecordingExec(cpu);
      const dev = createDeviceMethod(name, G, params, rec, { fence: true, chunkBytes: 1 });
      await lockstep(cpu, G, dev, createMethod(name, G, params), 19, 4, 5, () => {});
      expect([...rec.specs.keys()].some((k) => k.includes('|restore1:'))).toBe(true);
      for (const spec of rec.specs.values()) await expect(strict16.session(spec), spec.key).resolves.toBeDefined();
    },
  );

  it.each(CASES)('%s: runs on the WebGPU EP (float32 storage) and restores what the reference restores', async (name, params) => {
    const dev = createDeviceMethod(name, G, params, gpu32, { fence: true });
    const ref = createMethod(name, G, params);
    // float32 storage keeps scales/minima unrounded, so a code can land one step away from the fp16 reference.
    const c = comparer(name === 'fp16' ? 0 : 0.05, name === 'fp16' ? 0 : 0.02);
    await lockstep(gpu32, G, dev, ref, 19, 6, 5, (_s, _l, _w, d, r) => c.add(d, r));
    expect(c.rate).toBeLessThan(name.includes('kivi') ? 0.05 : 1e-3);
    // Held bytes are float32 payloads here; the packed equivalent is the reference's accounting.
    expect(dev.bytes().packedEquivalent).toEqual(ref.bytes());
  });
});
