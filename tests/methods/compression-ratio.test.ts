import { afterAll, describe, expect, it } from 'vitest';
import type { CacheGeometry, KVBlock } from '../../src/engine/kv-block.js';
import { createMethod } from '../../src/methods/registry.js';
import { totalBytes, type KVCacheMethod, type MethodParams } from '../../src/methods/types.js';
import { sliceLayers } from './helpers/cache.js';
import { correlatedLayers } from './helpers/random.js';
import { fp16Bytes, kiviBytes, meanMergeBytes, miniCacheBytes, miniCacheKiviBytes, rtnBytes } from './helpers/ratio-formulas.js';

/**
 * Spec decision 8: the ratio is measured from bytes held. On a LLaMA-2-7B-shaped cache
 * (32 layers, 32 KV heads, head dim 128, batch 1) the measured ratio must equal the analytic
 * formulas of §2.9 and §3.6 exactly, at two sequence lengths: one reached by prefill alone and
 * one by prefill + decode steps (so the streaming rules are in the count).
 */
const llama: CacheGeometry = { layers: 32, batch: 1, kvHeads: 32, headDim: 128 };
const shape = { L: 32, H: 32, D: 128 };
const S = 16;

// Four distinct correlated layers reused cyclically keep memory modest (pairs still see two
// different layers: (16,17) uses pool blocks 0 and 1, …).
const POOL = 4;
const LENGTHS = [
  { prefill: 160, decode: 0 },
  { prefill: 300, decode: 20 },
];
const maxTokens = Math.max(...LENGTHS.map((l) => l.prefill + l.decode));
const pool = correlatedLayers({ ...llama, layers: POOL }, maxTokens, 99, 0.8);
const layersOf = (from: number, to: number): KVBlock[] => {
  const part = sliceLayers({ ...llama, layers: POOL }, pool, from, to);
  return Array.from({ length: llama.layers }, (_, l) => part[l % POOL]!);
};

interface Case {
  label: string;
  method: string;
  params?: MethodParams;
  formula: (n: number, retained: number) => number;
  paper?: string;
}

const cases: Case[] = [
  { label: 'fp16', method: 'fp16', formula: (n) => fp16Bytes(shape, n) },
  { label: 'kivi2 (G32, R128)', method: 'kivi2', formula: (n) => kiviBytes(shape, n, 2, 32, 128), paper: '3.95× (KIVI-2, LongBench)' },
  { label: 'kivi4 (G32, R128)', method: 'kivi4', formula: (n) => kiviBytes(shape, n, 4, 32, 128) },
  { label: 'rtn (4 bit, G32)', method: 'rtn', formula: (n) => rtnBytes(shape, n, 4, 32), paper: '3.21× (RTN, LongBench)' },
  { label: 'mean-merge', method: 'mean-merge', formula: (n) => meanMergeBytes(shape, n, S) },
  { label: 'minicache (fp16, γ 0.05)', method: 'minicache', formula: (n, r) => miniCacheBytes(shape, n, S, r), paper: '1.53× (cross-layer merging, abstract)' },
  {
    label: 'minicache (topRatio 5%)',
    method: 'minicache',
    params: { retentionMode: 'topRatio', retentionRatio: 0.05, decodeRetention: 'none' },
    formula: (n, r) => miniCacheBytes(shape, n, S, r),
  },
  { label: 'minicache+kivi4', method: 'minicache+kivi4', formula: (n, r) => miniCacheKiviBytes(shape, n, S, r, 4, 32, 128), paper: '5.02× (4-bit MiniCache)' },
];

function retainedVectors(m: KVCacheMethod, n: number): number {
  const pairs = m.diagnostics().pairs ?? [];
  const perStream = llama.batch * llama.kvHeads * n;
  return Math.round(pairs.reduce((s, p) => s + (p.retainedFracK + p.retainedFracV) * perStream, 0));
}

const table: string[] = [];

describe('measured compression ratio = analytic formula, LLaMA-2-7B shape', () => {
  for (const { prefill, decode } of LENGTHS) {
    const n = prefill + decode;
    describe(`n = ${n} (${prefill} prefill + ${decode} decode)`, () => {
      for (const c of cases) {
        it(c.label, () => {
          const m = createMethod(c.method, llama, c.params);
          m.prefill(layersOf(0, prefill));
          for (let s = 0; s < decode; s++) m.append(layersOf(prefill + s, prefill + s + 1));
          expect(m.length).toBe(n);
          const held = totalBytes(m.bytes());
          const retained = retainedVectors(m, n);
          if (c.params?.retentionMode === 'topRatio') {
            // No forced rows on this data, so exactly ceil(ρ·prefill) per (head, K|V, pair).
            expect(retained).toBe(2 * 8 * llama.kvHeads * Math.ceil(0.05 * prefill));
          }
          expect(held).toBe(c.formula(n, retained));
          const ratio = fp16Bytes(shape, n) / held;
          table.push(`| ${c.label} | ${n} | ${ratio.toFixed(3)}× | ${c.paper ?? ''} |`);
          m.dispose();
        });
      }
    });
  }
});

afterAll(() => {
  console.log(['', '| method (LLaMA-2-7B shape) | n | measured | paper reports |', '|---|---|---|---|', ...table].join('\n'));
});
