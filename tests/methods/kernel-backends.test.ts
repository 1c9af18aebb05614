import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { generate } from '../../src/engine/generate.js';
import { allocBlock, type CacheGeometry, type KVBlock } from '../../src/engine/kv-block.js';
import { floatBits } from '../../src/kernels/half.js';
import { KernelHeap, setKernelBackend, type KernelBackend } from '../../src/kernels/wasm/heap.js';
import { createMethod, methodNames } from '../../src/methods/registry.js';
import type { KVCacheMethod, MethodParams } from '../../src/methods/types.js';
import { loadModel } from '../../runners/node/load-model.js';
import { sliceLayers } from './helpers/cache.js';
import { correlatedLayers } from './helpers/random.js';

/**
 * Every method keeps its cache in a kernel heap (WebAssembly memory) and runs the WebAssembly
 * SIMD kernels there; the TypeScript kernels (backend 'ts', the fallback where WebAssembly SIMD
 * is missing) must store the same bits through prefill, key flushes, value evictions and decode
 * merges, and restore the same floats — except MiniCache's rescaling, which the WebAssembly
 * kernel does in f32 (within a stated bound).
 */
const geometry: CacheGeometry = { layers: 6, batch: 2, kvHeads: 3, headDim: 64 };
const PROMPT = 150;
const DECODE = 70;
const all = correlatedLayers(geometry, PROMPT + DECODE, 23);

function withBackend<T>(backend: KernelBackend, f: () => T): T {
  setKernelBackend(backend);
  try {
    return f();
  } finally {
    setKernelBackend(null);
  }
}

const PARAMS: [string, MethodParams][] = [
  ...methodNames().map((n): [string, MethodParams] => [n, { ...(n.startsWith('kivi') || n === 'minicache+kivi4' ? { residual: 32 } : {}) }]),
  ['kivi', { bits: 8, residual: 32 }],
  ['kivi', { bits: 2, groupSize: 16, residual: 32 }],
  ['minicache', { granularity: 'token' }],
  ['minicache', { store: 'rtn2' }],
  ['mean-merge', { store: 'kivi4', residual: 32 }],
];

/** Methods whose restore rescales SLERP directions in the f32 WebAssembly kernel. */
function rescales(name: string, params: MethodParams): boolean {
  return name.startsWith('minicache') && params.granularity !== 'token';
}

/** Restored states after prefill and after each decode step, through restore() and restoreOwned(). */
function trace(name: string, params: MethodParams, backend: KernelBackend): { restored: Float32Array[]; bytes: unknown } {
  const m: KVCacheMethod = createMethod(name, geometry, params);
  // The comparison means something only if the two traces really ran different kernels.
  expect((m as unknown as { heap: KernelHeap }).heap.backend).toBe(backend);
  m.prefill(sliceLayers(geometry, all, 0, PROMPT));
  const restored: Float32Array[] = [];
  const snap = (blocks: readonly KVBlock[]) => blocks.forEach((b) => restored.push(b.k.slice(), b.v.slice()));
  for (let t = PROMPT; t < PROMPT + DECODE; t++) {
    if (t % 3 === 0) {
      const out = Array.from({ length: geometry.layers }, () => allocBlock(geometry, m.length));
      m.restore(out);
      snap(out);
    } else snap(m.restoreOwned!(PROMPT + DECODE));
    m.append(sliceLayers(geometry, all, t, t + 1));
  }
  snap(m.restoreOwned!(PROMPT + DECODE));
  return { restored, bytes: m.bytes() };
}

describe('methods: WebAssembly kernels and TypeScript kernels give the same caches', () => {
  for (const [name, params] of PARAMS) {
    it(`${name} ${JSON.stringify(params)}`, () => {
      const w = withBackend('wasm', () => trace(name, params, 'wasm'));
      const t = withBackend('ts', () => trace(name, params, 'ts'));
      expect(w.bytes).toEqual(t.bytes);
      expect(w.restored.length).toBe(t.restored.length);
      let mismatches = 0;
      let worst = 0;
      for (let i = 0; i < w.restored.length; i++) {
        const a = floatBits(w.restored[i]!);
        const b = floatBits(t.restored[i]!);
        for (let j = 0; j < a.length; j++) {
          if (a[j] === b[j]) continue;
          mismatches++;
          const x = w.restored[i]![j]!;
          const y = t.restored[i]![j]!;
          worst = Math.max(worst, Math.abs(x - y) / Math.max(Math.abs(y), 1e-30));
        }
      }
      if (rescales(name, params)) {
        // MiniCache's restore runs in f32 in WebAssembly (the one kernel that is not
        // bit-identical): within (D/4 + 3)·2^-24 relatively. A different stored fp16 direction or
        // code would differ by ≥ 2^-11 and fail this.
        expect(worst).toBeLessThanOrEqual((geometry.headDim / 4 + 3) * 2 ** -24);
      } else {
        expect(mismatches).toBe(0);
      }
    });
  }

  it('restoreOwned returns views of the method heap; restore() into ordinary arrays gives the same values', () => {
    const m = createMethod('minicache+kivi4', geometry, { residual: 32 });
    m.prefill(sliceLayers(geometry, all, 0, PROMPT));
    const owned = m.restoreOwned!(PROMPT + 4);
    expect(owned[0]!.tokens).toBe(PROMPT);
    const heap = (m as unknown as { heap: KernelHeap }).heap;
    // (Compared by identity: a failing toBe would diff two heap-sized buffers.)
    expect(owned.every((b) => b.k.buffer === heap.memory.buffer && b.v.buffer === heap.memory.buffer)).toBe(true);
    expect(owned[0]!.k.length).toBe(geometry.batch * geometry.kvHeads * PROMPT * geometry.headDim);
    const copy = owned.map((b) => [b.k.slice(), b.v.slice()]);
    const out = Array.from({ length: geometry.layers }, () => allocBlock(geometry, PROMPT));
    m.restore(out);
    out.forEach((b, l) => {
      expect(b.k).toEqual(copy[l]![0]);
      expect(b.v).toEqual(copy[l]![1]);
    });
  });
});

describe('onnxruntime-node reads tensors on WebAssembly memory', () => {
  it('accepts a Float32Array view at an offset into a WebAssembly.Memory', () => {
    const heap = new KernelHeap();
    const p = heap.alloc(1024);
    const q = heap.alloc(24 * 4);
    heap.f32At(q, 24).set(Array.from({ length: 24 }, (_, i) => i * 0.5));
    const view = heap.f32At(q, 24);
    expect(view.byteOffset).toBeGreaterThan(0);
    const t = new ort.Tensor('float32', view, [2, 3, 4]);
    expect([...(t.data as Float32Array)]).toEqual([...view]);
    void p;
  });

  const EMBEDDED = new URL('../../models/minillama-12l/', import.meta.url).pathname;
  it('decoding with the past in the method heap (restoreOwned) equals decoding from ordinary arrays (restore)', async () => {
    const { backend, tokenizer } = await loadModel(EMBEDDED);
    try {
      const ids = ['Once upon a time there was a small town by the sea.', 'The old clock in the hall struck twelve and'].map((t) => tokenizer.encode(t, { bos: true }));
      for (const name of ['fp16', 'minicache+kivi4']) {
        const owned = await generate(backend, ids, { createMethod: (g) => createMethod(name, g, { ...(name === 'fp16' ? {} : { residual: 32 }) }), maxNewTokens: 12, ignoreEos: true });
        const plain = await generate(backend, ids, {
          createMethod: (g) => {
            const m = createMethod(name, g, { ...(name === 'fp16' ? {} : { residual: 32 }) });
            // The same method without restoreOwned: the engine restores into its own arrays.
            return { name: m.name, geometry: m.geometry, get length() { return m.length; }, prefill: (l) => m.prefill(l), append: (l) => m.append(l), restore: (o) => m.restore(o), bytes: () => m.bytes(), diagnostics: () => m.diagnostics(), dispose: () => m.dispose() };
          },
          maxNewTokens: 12,
          ignoreEos: true,
        });
        expect(owned.tokens, name).toEqual(plain.tokens);
        expect(owned.bytes, name).toEqual(plain.bytes);
      }
    } finally {
      await backend.dispose();
    }
  });
});
