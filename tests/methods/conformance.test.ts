import { describe, expect, it } from 'vitest';
import { allocBlock, type CacheGeometry, type KVBlock } from '../../src/engine/kv-block.js';
import { roundHalf } from '../../src/kernels/half.js';
import { createMethod, methodNames } from '../../src/methods/registry.js';
import { totalBytes, type KVCacheMethod } from '../../src/methods/types.js';
import { sliceLayers } from './helpers/cache.js';
import { correlatedLayers } from './helpers/random.js';

/**
 * Every registered method, generated from the registry: life cycle shapes, byte bookkeeping,
 * and — for compressing methods — that compression really applies (bytes below fp16's and
 * restored states different from the input). Methods that are allowed to be lossless:
 */
const LOSSLESS = new Set(['fp16']);

/**
 * Relative RMS restore error allowed per method. Lossless methods restore the fp16-rounded input
 * exactly (checked separately). 4-bit round-to-nearest over groups of 32 Gaussian values has a
 * step of about range/15 ≈ 0.3σ, so an RMS error near 0.3/√12 ≈ 0.09; 2-bit quantizers and merges
 * are allowed 0.5 (measured here: kivi2 0.34, minicache 0.38, mean-merge 0.32).
 */
const ERROR_BOUND: Record<string, number> = { fp16: 1e-3, kivi4: 0.1, rtn: 0.1 };

const geometry: CacheGeometry = { layers: 6, batch: 2, kvHeads: 2, headDim: 64 };
const PROMPT = 300;
const DECODE = 40;
const all = correlatedLayers(geometry, PROMPT + DECODE, 11);

function restoreAll(m: KVCacheMethod): KVBlock[] {
  const out = Array.from({ length: geometry.layers }, () => allocBlock(geometry, m.length));
  m.restore(out);
  return out;
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

function run(name: string): { m: KVCacheMethod; restored: KVBlock[]; bytesAfterPrefill: number } {
  const m = createMethod(name, geometry);
  m.prefill(sliceLayers(geometry, all, 0, PROMPT));
  expect(m.length).toBe(PROMPT);
  const bytesAfterPrefill = totalBytes(m.bytes());
  for (let s = 0; s < DECODE; s++) {
    const past = restoreAll(m);
    expect(past[0]!.tokens).toBe(PROMPT + s);
    m.append(sliceLayers(geometry, all, PROMPT + s, PROMPT + s + 1));
    expect(m.length).toBe(PROMPT + s + 1);
  }
  return { m, restored: restoreAll(m), bytesAfterPrefill };
}

const fp16 = run('fp16');
const fp16Bytes = totalBytes(fp16.m.bytes());

describe.each(methodNames())('method %s', (name) => {
  const { m, restored, bytesAfterPrefill } = name === 'fp16' ? fp16 : run(name);

  it('restores blocks of the right shape with finite values', () => {
    expect(restored).toHaveLength(geometry.layers);
    for (const b of restored) {
      expect(b.tokens).toBe(PROMPT + DECODE);
      expect(b.k.every(Number.isFinite) && b.v.every(Number.isFinite)).toBe(true);
    }
  });

  it('reports positive bytes, by known components, that grow with the cache', () => {
    const b = m.bytes();
    const known = new Set(['data', 'scales', 'zeroPoints', 'residual', 'magnitudes', 'retained', 'indices']);
    for (const [k, v] of Object.entries(b)) {
      expect(known.has(k), k).toBe(true);
      expect(Number.isInteger(v) && v! >= 0, `${k}=${v}`).toBe(true);
    }
    expect(totalBytes(b)).toBeGreaterThan(bytesAfterPrefill);
    expect(bytesAfterPrefill).toBeGreaterThan(0);
  });

  it('rejects restore buffers of the wrong length', () => {
    const wrong = Array.from({ length: geometry.layers }, () => allocBlock(geometry, m.length - 1));
    expect(() => m.restore(wrong)).toThrow();
  });

  it(`restores close to the input (relative error below ${ERROR_BOUND[name] ?? 0.5})`, () => {
    for (let l = 0; l < geometry.layers; l++) {
      for (const kv of ['k', 'v'] as const) {
        let num = 0;
        let den = 0;
        const a = restored[l]![kv];
        const x = all[l]![kv];
        for (let i = 0; i < a.length; i++) {
          num += (a[i]! - x[i]!) ** 2;
          den += x[i]! ** 2;
        }
        expect(Math.sqrt(num / den), `layer ${l} ${kv}`).toBeLessThan(ERROR_BOUND[name] ?? 0.5);
      }
    }
  });

  if (LOSSLESS.has(name)) {
    it('restores exactly the fp16-rounded input (lossless)', () => {
      for (let l = 0; l < geometry.layers; l++) {
        expect(restored[l]!.k).toEqual(all[l]!.k.map(roundHalf));
        expect(restored[l]!.v).toEqual(all[l]!.v.map(roundHalf));
      }
    });
    return;
  }

  it('holds fewer bytes than fp16 at this length', () => {
    expect(totalBytes(m.bytes())).toBeLessThan(fp16Bytes);
  });

  it('restores states that differ from the fp16 baseline', () => {
    const worst = Math.max(...restored.flatMap((b, l) => [maxAbsDiff(b.k, fp16.restored[l]!.k), maxAbsDiff(b.v, fp16.restored[l]!.v)]));
    expect(worst).toBeGreaterThan(1e-3);
  });
});
