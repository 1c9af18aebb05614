import { describe, expect, it } from 'vitest';
import type { CacheGeometry, KVBlock } from '../../src/engine/kv-block.js';
import { roundHalf } from '../../src/kernels/half.js';
import type { CrossLayerMethod } from '../../src/methods/cross-layer-method.js';
import { planLayers } from '../../src/methods/layer-pairs.js';
import { createMethod } from '../../src/methods/registry.js';
import { cosine, norm, restoreAll, sliceLayers, slerpDirection, vec } from './helpers/cache.js';
import { correlatedLayers, mulberry32 } from './helpers/random.js';

const g: CacheGeometry = { layers: 4, batch: 2, kvHeads: 2, headDim: 32 };
const rows = g.batch * g.kvHeads;

function mini(params: Record<string, unknown> = {}, name = 'minicache', geometry = g): CrossLayerMethod {
  return createMethod(name, geometry, params) as CrossLayerMethod;
}

/** Sets vector (row r, token i) of layer l's K to `v`. */
function setVec(b: KVBlock, kv: 'k' | 'v', n: number, r: number, i: number, v: number[]): void {
  b[kv].set(v, (r * n + i) * g.headDim);
}

describe('layer plan (spec §2.1)', () => {
  it('32 layers: pairs (16,17)…(30,31), layers 0…15 unmerged', () => {
    const p = planLayers(32, 16);
    expect(p.pairs).toEqual(Array.from({ length: 8 }, (_, k) => [16 + 2 * k, 17 + 2 * k]));
    expect(p.unmerged).toEqual(Array.from({ length: 16 }, (_, l) => l));
  });

  it('an odd remainder leaves the last layer unmerged; S = L merges nothing', () => {
    expect(planLayers(5, 2)).toEqual({ pairs: [[2, 3]], unmerged: [0, 1, 4] });
    expect(planLayers(4, 4)).toEqual({ pairs: [], unmerged: [0, 1, 2, 3] });
    expect(() => planLayers(4, 5)).toThrow(/startLayer/);
  });

  it('startLayer null means floor(L/2)', () => {
    expect(mini().plan.pairs).toEqual([[2, 3]]);
    expect(mini({ startLayer: 0 }).plan.pairs).toEqual([[0, 1], [2, 3]]);
  });
});

describe('MiniCache restore', () => {
  const T = 60;
  const layers = correlatedLayers(g, T, 3);

  it('does not modify the prefill input', () => {
    const copy = layers.map((b) => ({ k: b.k.slice(), v: b.v.slice() }));
    mini().prefill(layers);
    layers.forEach((b, l) => {
      expect(b.k).toEqual(copy[l]!.k);
      expect(b.v).toEqual(copy[l]!.v);
    });
  });

  it('unmerged layers restore as fp16, retained tokens exactly (fp16 originals), the rest on the SLERP direction with fp16 magnitudes', () => {
    const m = mini({ gamma: 0.3 });
    m.prefill(layers);
    const out = restoreAll(g, m);
    for (const l of [0, 1]) {
      expect(out[l]!.k).toEqual(layers[l]!.k.map(roundHalf));
      expect(out[l]!.v).toEqual(layers[l]!.v.map(roundHalf));
    }
    const rec = m.record(3)!;
    let retainedSeen = 0;
    let mergedSeen = 0;
    for (const kv of ['k', 'v'] as const) {
      const stream = rec[kv];
      for (let r = 0; r < rows; r++) {
        const kept = new Set(stream.retained.indices(r));
        for (let i = 0; i < T; i++) {
          const a = vec(layers[2]![kv], g, T, r, i);
          const b = vec(layers[3]![kv], g, T, r, i);
          const ra = vec(out[2]![kv], g, T, r, i);
          const rb = vec(out[3]![kv], g, T, r, i);
          if (kept.has(i)) {
            retainedSeen++;
            expect(ra).toEqual(a.map(roundHalf));
            expect(rb).toEqual(b.map(roundHalf));
          } else {
            mergedSeen++;
            expect(Math.abs(norm(ra) / roundHalf(norm(a)) - 1)).toBeLessThan(1e-6);
            expect(Math.abs(norm(rb) / roundHalf(norm(b)) - 1)).toBeLessThan(1e-6);
            const e = slerpDirection(a, b, 0.6);
            // fp16 rounding of the stored direction moves it by ~1e-3 relative at most.
            expect(1 - cosine(ra, e)).toBeLessThan(1e-6);
            expect(1 - cosine(rb, e)).toBeLessThan(1e-6);
          }
        }
      }
    }
    expect(retainedSeen).toBeGreaterThan(0);
    expect(mergedSeen).toBeGreaterThan(retainedSeen);
  });

  it('t = 0 restores the shallower layer, t = 1 the deeper one (to fp16 precision)', () => {
    for (const [t, layer] of [[0, 2], [1, 3]] as const) {
      const m = mini({ t, gamma: 0 });
      m.prefill(layers);
      const out = restoreAll(g, m);
      for (const kv of ['k', 'v'] as const) {
        for (let i = 0; i < out[layer]![kv].length; i++) {
          expect(Math.abs(out[layer]![kv][i]! - layers[layer]![kv][i]!)).toBeLessThan(3e-3 * (1 + Math.abs(layers[layer]![kv][i]!)));
        }
      }
    }
  });

  it('with store kivi4, dequantized directions are renormalised: magnitudes stay exact in fp16', () => {
    const T2 = 200;
    const big = correlatedLayers(g, T2, 8);
    const m = mini({ residual: 32 }, 'minicache+kivi4');
    m.prefill(big);
    const out = restoreAll(g, m);
    const rec = m.record(3)!;
    let checked = 0;
    for (let r = 0; r < rows; r++) {
      const kept = new Set(rec.k.retained.indices(r));
      for (let i = 0; i < T2; i++) {
        if (kept.has(i)) continue;
        const a = vec(big[2]!.k, g, T2, r, i);
        const ra = vec(out[2]!.k, g, T2, r, i);
        expect(Math.abs(norm(ra) / roundHalf(norm(a)) - 1)).toBeLessThan(1e-6);
        // 4-bit directions: the angle error is bounded but no longer fp16-small.
        expect(cosine(ra, slerpDirection(a, vec(big[3]!.k, g, T2, r, i), 0.6))).toBeGreaterThan(0.97);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(0);
  });
});

describe('MiniCache numerics: zero, parallel and antiparallel caches', () => {
  const T = 20;
  function cache(fill: (l: number, kv: 'k' | 'v', r: number, i: number) => number[]): KVBlock[] {
    return Array.from({ length: g.layers }, (_, l) => {
      const b = { k: new Float32Array(rows * T * g.headDim), v: new Float32Array(rows * T * g.headDim), tokens: T };
      for (const kv of ['k', 'v'] as const) for (let r = 0; r < rows; r++) for (let i = 0; i < T; i++) setVec(b, kv, T, r, i, fill(l, kv, r, i));
      return b;
    });
  }
  const base = (r: number, i: number): number[] => Array.from({ length: g.headDim }, (_, c) => Math.sin(1 + c * 0.37 + r * 1.3 + i * 0.11));

  const cases: Record<string, (l: number, kv: 'k' | 'v', r: number, i: number) => number[]> = {
    'all zeros': () => new Array(g.headDim).fill(0),
    'one layer zero': (l, _kv, r, i) => (l === 2 ? new Array(g.headDim).fill(0) : base(r, i)),
    parallel: (l, _kv, r, i) => base(r, i).map((x) => x * (l + 1)),
    antiparallel: (l, _kv, r, i) => base(r, i).map((x) => (l % 2 ? -x : x)),
    'mixed with one antiparallel token': (l, _kv, r, i) => base(r, i).map((x, c) => (i === 7 && l === 3 ? -x : l === 3 ? x + 0.3 * Math.cos(c + i) : x)),
  };

  for (const [label, fill] of Object.entries(cases)) {
    it(`${label}: restore is finite, and exact where vectors are retained`, () => {
      for (const name of ['minicache', 'minicache+kivi4', 'mean-merge']) {
        const layers = cache(fill);
        const m = createMethod(name, g, name === 'mean-merge' ? {} : { residual: 32 }) as CrossLayerMethod;
        m.prefill(layers);
        const next = sliceLayers(g, cache(fill), 0, 1);
        m.append(next);
        const out = restoreAll(g, m);
        for (const b of out) expect(b.k.every(Number.isFinite) && b.v.every(Number.isFinite), `${name}`).toBe(true);
        if (name === 'minicache' && (label === 'antiparallel' || label.includes('antiparallel token'))) {
          const kept = m.record(3)!.k.retained.indices(0);
          expect(kept.length).toBeGreaterThan(0);
          for (const i of kept) {
            const orig = i < T ? vec(layers[3]!.k, g, T, 0, i) : vec(next[3]!.k, g, 1, 0, 0);
            expect(vec(out[3]!.k, g, T + 1, 0, i)).toEqual(orig.map(roundHalf));
          }
        }
        if (name === 'minicache' && label === 'all zeros') expect(out.every((b) => b.k.every((x) => x === 0))).toBe(true);
      }
    });
  }
});

describe('MiniCache decode: incremental merging and decode retention', () => {
  const T = 40;
  const steps = 12;
  const layers = correlatedLayers(g, T + steps, 17);

  it('merging tokens one per step gives the same record as merging them at prefill (no retention)', () => {
    const params = { retentionMode: 'topRatio', retentionRatio: 0 };
    const a = mini(params);
    a.prefill(layers);
    const b = mini(params);
    b.prefill(sliceLayers(g, layers, 0, T));
    for (let s = 0; s < steps; s++) b.append(sliceLayers(g, layers, T + s, T + s + 1));
    const ra = restoreAll(g, a);
    const rb = restoreAll(g, b);
    ra.forEach((blk, l) => {
      expect(rb[l]!.k).toEqual(blk.k);
      expect(rb[l]!.v).toEqual(blk.v);
    });
    expect(b.bytes()).toEqual(a.bytes());
  });

  it("a decode token more distinct than the prefill band is retained under 'threshold', not under 'none'", () => {
    const distinct = sliceLayers(g, layers, T, T + 1);
    // Make layer 3's key of row 0 point away from layer 2's (cos ≈ −0.5, not antiparallel).
    const a = vec(distinct[2]!.k, g, 1, 0, 0);
    const unit = a.map((x) => x / norm(a));
    const rand = mulberry32(4);
    const o = a.map(() => rand() - 0.5);
    const proj = o.reduce((s, x, i) => s + x * unit[i]!, 0);
    const orth = o.map((x, i) => x - proj * unit[i]!);
    const on = norm(orth);
    setVec(distinct[3]!, 'k', 1, 0, 0, unit.map((x, i) => 2 * (-0.5 * x + (Math.sqrt(3) / 2) * (orth[i]! / on))));
    for (const [decodeRetention, expected] of [['threshold', [T]], ['none', []]] as const) {
      const m = mini({ decodeRetention });
      m.prefill(sliceLayers(g, layers, 0, T));
      const before = [...m.record(3)!.k.retained.indices(0)];
      m.append(distinct);
      const after = [...m.record(3)!.k.retained.indices(0)];
      expect(after.slice(before.length)).toEqual(expected);
      const out = restoreAll(g, m);
      if (expected.length) expect(vec(out[3]!.k, g, T + 1, 0, T)).toEqual(vec(distinct[3]!.k, g, 1, 0, 0).map(roundHalf));
    }
  });

  it('append before prefill acts as prefill; prefill twice is an error', () => {
    const m = mini();
    m.append(sliceLayers(g, layers, 0, T));
    expect(m.length).toBe(T);
    expect(() => m.prefill(sliceLayers(g, layers, 0, T))).toThrow(/prefill/);
  });

  it('rejects blocks of the wrong geometry', () => {
    const m = mini();
    expect(() => m.prefill(sliceLayers(g, layers, 0, T).slice(1))).toThrow(/blocks/);
  });
});

describe("MiniCache granularity 'token' (heads concatenated)", () => {
  const T = 50;
  const layers = correlatedLayers(g, T, 23);

  it('keeps one magnitude per (sequence, token) and restores concatenated vectors with exact fp16 norms', () => {
    const m = mini({ granularity: 'token', gamma: 0.2 });
    m.prefill(layers);
    const out = restoreAll(g, m);
    const b = m.bytes();
    // 2 layers × B × T magnitudes of 2 bytes, for K and for V.
    expect(b.magnitudes).toBe(2 * 2 * g.batch * T * 2);
    const rec = m.record(3)!;
    const concat = (a: Float32Array, seq: number, i: number, n: number): number[] =>
      Array.from({ length: g.kvHeads }, (_, h) => vec(a, g, n, seq * g.kvHeads + h, i)).flat();
    let merged = 0;
    for (let seq = 0; seq < g.batch; seq++) {
      const kept = new Set(rec.k.retained.indices(seq));
      for (let i = 0; i < T; i++) {
        const orig = concat(layers[2]!.k, seq, i, T);
        const res = concat(out[2]!.k, seq, i, T);
        if (kept.has(i)) expect(res).toEqual(orig.map(roundHalf));
        else {
          merged++;
          expect(Math.abs(norm(res) / roundHalf(norm(orig)) - 1)).toBeLessThan(1e-6);
          expect(1 - cosine(res, slerpDirection(orig, concat(layers[3]!.k, seq, i, T), 0.6))).toBeLessThan(1e-6);
        }
      }
      expect(kept.size).toBeGreaterThan(0);
    }
    expect(merged).toBeGreaterThan(0);
  });
});

describe('diagnostics', () => {
  it('report per-pair cosine, retained fractions and a sane angle summary', () => {
    const T = 80;
    const layers = correlatedLayers(g, T, 31, 0.9);
    const m = mini({ startLayer: 0 });
    m.prefill(layers);
    const d = m.diagnostics();
    expect(d.pairs!.map((p) => p.pair)).toEqual([[0, 1], [2, 3]]);
    for (const p of d.pairs!) {
      const [a, b] = p.pair;
      let sum = 0;
      for (let r = 0; r < rows; r++) for (let i = 0; i < T; i++) sum += cosine(vec(layers[a]!.k, g, T, r, i), vec(layers[b]!.k, g, T, r, i));
      expect(p.cosK).toBeCloseTo(sum / (rows * T), 5);
      expect(p.cosV).toBeGreaterThan(0.5);
      const rec = m.record(b)!;
      const keptK = Array.from({ length: rows }, (_, r) => rec.k.retained.indices(r).length).reduce((x, y) => x + y, 0);
      expect(p.retainedFracK).toBeCloseTo(keptK / (rows * T), 10);
      expect(p.retainedFracK).toBeGreaterThan(0);
      expect(p.retainedFracK).toBeLessThan(0.2);
      const { mean, p10, p50, p90, max } = p.angle;
      expect(0 <= p10 && p10 <= p50 && p50 <= p90 && p90 <= max && max <= 1).toBe(true);
      expect(mean).toBeGreaterThan(p10);
      expect(mean).toBeLessThan(p90);
    }
    expect(d.thresholdBytes).toBe(2 * 2 * rows * 8);
  });

  it('minicache+kivi4 reports its inner residual lengths', () => {
    const m = mini({ residual: 32 }, 'minicache+kivi4');
    m.prefill(correlatedLayers(g, 70, 2));
    expect(m.diagnostics().residual).toEqual({ keys: 70 % 32, values: 32 });
  });
});

describe('parameters', () => {
  it.each([
    [{ t: 1.5 }, /parameter t/],
    [{ gamma: -1 }, /gamma/],
    [{ retentionMode: 'high' }, /retentionMode/],
    [{ granularity: 'layer' }, /granularity/],
    [{ decodeRetention: 'always' }, /decodeRetention/],
    [{ store: 'kivi3' }, /store/],
    [{ store: 'kivi4', residual: 100 }, /multiple/],
    [{ startLayer: 9 }, /startLayer/],
  ])('rejects %j', (params, message) => {
    expect(() => createMethod('minicache', g, params)).toThrow(message);
  });

  it('unknown parameter names are rejected by the registry', () => {
    expect(() => createMethod('minicache', g, { gama: 0.1 })).toThrow(/no parameter "gama"/);
  });
});

describe('mean-merge', () => {
  it('stores the pair average once and restores it to both layers; no magnitudes, no retention', () => {
    const T = 30;
    const layers = correlatedLayers(g, T, 41);
    const m = createMethod('mean-merge', g);
    m.prefill(layers);
    const out = restoreAll(g, m);
    const avg = layers[2]!.k.map((x, i) => roundHalf(0.5 * (x + layers[3]!.k[i]!)));
    expect(out[2]!.k).toEqual(avg);
    expect(out[3]!.k).toEqual(avg);
    const b = m.bytes();
    expect(b).toEqual({ data: 3 * 2 * rows * T * g.headDim * 2, retained: 0, indices: 0 });
  });
});

describe('property: restore error on random caches stays within what the spec implies', () => {
  // Merged vectors: exact fp16 magnitude, direction within fp16 rounding of the SLERP direction;
  // retained vectors: the fp16 originals; unmerged layers: fp16. Random shapes, t, γ, modes.
  const rand = mulberry32(2024);
  const modes = ['distinctBand', 'literalLow', 'topRatio'] as const;
  for (let trial = 0; trial < 6; trial++) {
    const geometry: CacheGeometry = { layers: 3 + Math.floor(rand() * 4), batch: 1 + Math.floor(rand() * 2), kvHeads: 1 + Math.floor(rand() * 3), headDim: [8, 16, 48, 64][Math.floor(rand() * 4)]! };
    const T = 5 + Math.floor(rand() * 60);
    const t = rand();
    const gamma = rand() * 0.3;
    const mode = modes[trial % 3]!;
    it(`trial ${trial}: ${JSON.stringify(geometry)}, T ${T}, t ${t.toFixed(2)}, γ ${gamma.toFixed(2)}, ${mode}`, () => {
      const layers = correlatedLayers(geometry, T, 100 + trial, 0.3 + 0.6 * rand());
      const m = createMethod('minicache', geometry, { t, gamma, retentionMode: mode, retentionRatio: 0.1 }) as CrossLayerMethod;
      m.prefill(layers);
      const out = restoreAll(geometry, m);
      const rows = geometry.batch * geometry.kvHeads;
      for (const l of m.plan.unmerged) expect(out[l]!.v).toEqual(layers[l]!.v.map(roundHalf));
      let worstNorm = 0;
      let worstDir = 0;
      let merged = 0;
      expect(m.plan.pairs.length).toBeGreaterThan(0);
      for (const [a, b] of m.plan.pairs) {
        const rec = m.record(b)!;
        for (const kv of ['k', 'v'] as const) {
          for (let r = 0; r < rows; r++) {
            const kept = new Set(rec[kv].retained.indices(r));
            for (let i = 0; i < T; i++) {
              const xa = vec(layers[a]![kv], geometry, T, r, i);
              const xb = vec(layers[b]![kv], geometry, T, r, i);
              const ra = vec(out[a]![kv], geometry, T, r, i);
              const rb = vec(out[b]![kv], geometry, T, r, i);
              if (kept.has(i)) {
                expect(ra).toEqual(xa.map(roundHalf));
                expect(rb).toEqual(xb.map(roundHalf));
                continue;
              }
              merged++;
              worstNorm = Math.max(worstNorm, Math.abs(norm(ra) / roundHalf(norm(xa)) - 1), Math.abs(norm(rb) / roundHalf(norm(xb)) - 1));
              const e = slerpDirection(xa, xb, t);
              worstDir = Math.max(worstDir, 1 - cosine(ra, e), 1 - cosine(rb, e));
            }
          }
        }
      }
      // The bounds below say something only if vectors were merged (γ ≤ 0.3, ratio 0.1: most are).
      expect(merged).toBeGreaterThan(0);
      expect(worstNorm).toBeLessThan(1e-6);
      // fp16 direction components are off by ≤ 2^-11 relative: 1 − cos ≤ ~(2^-11)²·D/2.
      expect(worstDir).toBeLessThan(1e-5);
    });
  }
});
