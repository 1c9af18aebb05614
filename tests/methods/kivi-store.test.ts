import { describe, expect, it } from 'vitest';
import { roundHalf } from '../../src/kernels/half.js';
import { KiviStore } from '../../src/methods/kivi-store.js';
import { createMethod } from '../../src/methods/registry.js';
import { RtnStore } from '../../src/methods/rtn-store.js';
import { totalBytes } from '../../src/methods/types.js';
import { mulberry32, randomArray } from './helpers/random.js';

const shape = { batch: 2, heads: 3, headDim: 64 };
const rows = shape.batch * shape.heads;
const D = shape.headDim;
const G = 32;
const R = 128;

/** A [B, H, T, D] stream of T tokens, and the slice of tokens [from, to). */
function stream(tokens: number, seed: number): Float32Array {
  return randomArray(rows * tokens * D, mulberry32(seed));
}
function sliceTokens(x: Float32Array, total: number, from: number, to: number): Float32Array {
  const out = new Float32Array(rows * (to - from) * D);
  for (let r = 0; r < rows; r++) out.set(x.subarray((r * total + from) * D, (r * total + to) * D), r * (to - from) * D);
  return out;
}
function read(s: { length: number; read(o: Float32Array): void }): Float32Array {
  const out = new Float32Array(rows * s.length * D);
  s.read(out);
  return out;
}

describe('KIVI streaming rules (spec §3.3)', () => {
  const prefillCases: [number, number, number][] = [
    // T, expected key residual, expected value residual
    [50, 50, 50],
    [128, 0, 128],
    [200, 72, 128],
    [256, 0, 128],
    [300, 44, 128],
  ];
  it.each(prefillCases)('prefill of %i tokens leaves keys %i and values %i in fp16', (T, keys, values) => {
    const x = stream(T, T);
    const k = new KiviStore(shape, 'key', { bits: 2, groupSize: G, residual: R });
    const v = new KiviStore(shape, 'value', { bits: 2, groupSize: G, residual: R });
    k.append(x, T);
    v.append(x, T);
    expect(k.residualLength).toBe(keys);
    expect(v.residualLength).toBe(values);
    expect(k.length).toBe(T);
    expect(v.length).toBe(T);
    expect(k.quantizedLength).toBe(T - keys);
  });

  it('over a long decode, keys cycle 0…R−1 and values stay at R', () => {
    const T = 100;
    const steps = 3 * R + 17;
    const x = stream(T + steps, 5);
    const k = new KiviStore(shape, 'key', { bits: 4, groupSize: G, residual: R });
    const v = new KiviStore(shape, 'value', { bits: 4, groupSize: G, residual: R });
    k.append(sliceTokens(x, T + steps, 0, T), T);
    v.append(sliceTokens(x, T + steps, 0, T), T);
    const seenKeys: number[] = [];
    for (let s = 0; s < steps; s++) {
      const tok = sliceTokens(x, T + steps, T + s, T + s + 1);
      k.append(tok, 1);
      v.append(tok, 1);
      seenKeys.push(k.residualLength);
      expect(k.residualLength).toBe((T + s + 1) % R);
      expect(v.residualLength).toBe(Math.min(R, T + s + 1));
    }
    expect(Math.min(...seenKeys)).toBe(0);
    expect(Math.max(...seenKeys)).toBe(R - 1);
  });

  it('residual tokens read back exactly as fp16, quantized ones within the error bound', () => {
    const T = 300;
    const x = stream(T, 9);
    for (const role of ['key', 'value'] as const) {
      const s = new KiviStore(shape, role, { bits: 4, groupSize: G, residual: R });
      // Stream it in uneven pieces: the result must not depend on how tokens arrive.
      let at = 0;
      for (const n of [37, 1, 90, 1, 1, 170]) {
        s.append(sliceTokens(x, T, at, at + n), n);
        at += n;
      }
      const out = read(s);
      const firstResidual = T - s.residualLength;
      let mismatches = 0;
      for (let r = 0; r < rows; r++) {
        for (let i = 0; i < T; i++) {
          for (let c = 0; c < D; c++) {
            const o = (r * T + i) * D + c;
            const exact = roundHalf(x[o]!);
            if (i >= firstResidual && out[o] !== exact) mismatches++;
          }
        }
      }
      expect(mismatches).toBe(0);
      expect(boundViolations(x, out, T, s.quantizedLength, role, 4)).toBe(0);
    }
  });

  it('streamed and one-shot appends give identical stores', () => {
    const T = 333;
    const x = stream(T, 12);
    for (const role of ['key', 'value'] as const) {
      const a = new KiviStore(shape, role, { bits: 2, groupSize: G, residual: R });
      const b = new KiviStore(shape, role, { bits: 2, groupSize: G, residual: R });
      a.append(x, T);
      for (let i = 0; i < T; i++) b.append(sliceTokens(x, T, i, i + 1), 1);
      expect(read(b)).toEqual(read(a));
      expect(b.bytes()).toEqual(a.bytes());
    }
  });

  it('rejects inconsistent options', () => {
    expect(() => new KiviStore(shape, 'key', { bits: 2, groupSize: 32, residual: 100 })).toThrow(/multiple/);
    expect(() => new KiviStore(shape, 'key', { bits: 2, groupSize: 0, residual: 128 })).toThrow(/positive/);
    expect(() => new KiviStore({ ...shape, headDim: 48 }, 'value', { bits: 4, groupSize: 32, residual: 128 })).toThrow(/head dim/);
    expect(() => new KiviStore(shape, 'key', { bits: 3 as 2, groupSize: 32, residual: 128 })).toThrow(/bits/);
  });
});

/**
 * Elements of the quantized part whose error exceeds scale/2 plus fp16 slack (the scale and min
 * are fp16: the scale is off by ≤ 2^-11 relative, times up to 2^b − 1 steps; mn by ≤ 2^-11·|mn|).
 */
function boundViolations(x: Float32Array, out: Float32Array, T: number, nq: number, role: 'key' | 'value', bits: number): number {
  let bad = 0;
  const levels = (1 << bits) - 1;
  for (let r = 0; r < rows; r++) {
    for (let g0 = 0; g0 < (role === 'key' ? nq : nq * D); g0 += G) {
      // A group is G tokens of one channel (keys) or G channels of one token (values).
      for (let c = 0; c < (role === 'key' ? D : 1); c++) {
        const at = (j: number): number => (role === 'key' ? (r * T + g0 + j) * D + c : r * T * D + g0 + j);
        const members = Array.from({ length: G }, (_, j) => roundHalf(x[at(j)]!));
        const mn = roundHalf(Math.min(...members));
        const sc = roundHalf((Math.max(...members) - mn) / levels);
        const bound = sc / 2 + levels * sc * 2 ** -11 + Math.abs(mn) * 2 ** -11;
        for (let j = 0; j < G; j++) if (!(Math.abs(out[at(j)]! - members[j]!) <= bound)) bad++;
      }
    }
  }
  return bad;
}

describe('KIVI dequantization error per element ≤ scale/2 (+ fp16 slack), property test', () => {
  for (const bits of [2, 4] as const) {
    it(`${bits}-bit keys and values on random caches`, () => {
      const rand = mulberry32(bits);
      for (let trial = 0; trial < 4; trial++) {
        const T = 256 + Math.floor(rand() * 64);
        const scale = 10 ** (rand() * 3 - 1);
        const x = randomArray(rows * T * D, rand, scale);
        for (const role of ['key', 'value'] as const) {
          const s = new KiviStore(shape, role, { bits, groupSize: G, residual: R });
          s.append(x, T);
          expect(s.quantizedLength).toBeGreaterThan(0);
          expect(boundViolations(x, read(s), T, s.quantizedLength, role, bits)).toBe(0);
        }
      }
    });
  }

  it('the bound check itself catches a corrupted element', () => {
    const T = 256;
    const x = stream(T, 77);
    const s = new KiviStore(shape, 'value', { bits: 2, groupSize: G, residual: R });
    s.append(x, T);
    const out = read(s);
    out[5] = out[5]! + 10;
    expect(boundViolations(x, out, T, s.quantizedLength, 'value', 2)).toBe(1);
  });
});

describe('KIVI bytes (spec §3.6)', () => {
  it('match the per-head formula for keys and values at several lengths', () => {
    for (const bits of [2, 4] as const) {
      for (const T of [60, 128, 200, 256, 390]) {
        const x = stream(T, T + bits);
        const k = new KiviStore(shape, 'key', { bits, groupSize: G, residual: R });
        const v = new KiviStore(shape, 'value', { bits, groupSize: G, residual: R });
        k.append(x, T);
        v.append(x, T);
        const Tq = T - (T % R);
        const Kfp = T % R;
        const Tv = Math.max(0, T - R);
        const Vfp = Math.min(T, R);
        expect(k.bytes()).toEqual({ data: rows * Math.ceil((Tq * D * bits) / 8), scales: rows * D * (Tq / G) * 2, zeroPoints: rows * D * (Tq / G) * 2, residual: rows * Kfp * D * 2 });
        expect(v.bytes()).toEqual({ data: rows * Math.ceil((Tv * D * bits) / 8), scales: rows * Tv * (D / G) * 2, zeroPoints: rows * Tv * (D / G) * 2, residual: rows * Vfp * D * 2 });
      }
    }
  });

  it('small head dims: G = 8 at 2 bits pads each group to a word, and bytes count the padding', () => {
    const small = { batch: 1, heads: 2, headDim: 8 };
    const T = 40;
    const x = randomArray(2 * T * 8, mulberry32(8));
    const k = new KiviStore(small, 'key', { bits: 2, groupSize: 8, residual: 16 });
    const v = new KiviStore(small, 'value', { bits: 2, groupSize: 8, residual: 16 });
    k.append(x, T);
    v.append(x, T);
    // keys: 32 quantized tokens = 4 tiles × 8 channels × 1 word; values: 24 tokens × 1 group × 1 word.
    expect(k.bytes()).toEqual({ data: 2 * 4 * 8 * 4, scales: 2 * 4 * 8 * 2, zeroPoints: 2 * 4 * 8 * 2, residual: 2 * 8 * 8 * 2 });
    expect(v.bytes()).toEqual({ data: 2 * 24 * 4, scales: 2 * 24 * 2, zeroPoints: 2 * 24 * 2, residual: 2 * 16 * 8 * 2 });
    const out = new Float32Array(x.length);
    k.read(out);
    let worst = 0;
    for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(out[i]! - x[i]!));
    expect(worst).toBeLessThan(2); // 2-bit codes of N(0,1) data: about a third of the range at most
    expect(worst).toBeGreaterThan(0);
  });

  it('kivi method diagnostics report the residual lengths', () => {
    const g = { layers: 2, batch: 1, kvHeads: 2, headDim: 64 };
    const m = createMethod('kivi2', g);
    const n = g.batch * g.kvHeads * 130 * g.headDim;
    const blocks = [0, 1].map(() => ({ k: new Float32Array(n).fill(0.5), v: new Float32Array(n).fill(-0.5), tokens: 130 }));
    m.prefill(blocks);
    expect(m.diagnostics().residual).toEqual({ keys: 2, values: 128 });
    expect(totalBytes(m.bytes())).toBeGreaterThan(0);
  });

  it('kivi honours keyBits / valueBits apart from bits', () => {
    const g = { layers: 1, batch: 1, kvHeads: 1, headDim: 64 };
    const m = createMethod('kivi', g, { keyBits: 4, valueBits: 2, residual: 32 });
    const T = 64;
    const n = T * 64;
    m.prefill([{ k: randomArray(n, mulberry32(1)), v: randomArray(n, mulberry32(2)), tokens: T }]);
    // keys: 64 tokens quantized at 4 bits; values: 32 tokens at 2 bits.
    expect(m.bytes().data).toBe((64 * 64 * 4) / 8 + (32 * 64 * 2) / 8);
  });
});

describe('RtnStore', () => {
  it('quantizes every token at once (no residual) with per-token groups', () => {
    const T = 40;
    const x = stream(T, 21);
    for (const role of ['key', 'value'] as const) {
      const s = new RtnStore(shape, role, { bits: 4, groupSize: G });
      s.append(sliceTokens(x, T, 0, 10), 10);
      s.append(sliceTokens(x, T, 10, T), T - 10);
      expect(s.length).toBe(T);
      expect(s.bytes()).toEqual({ data: (rows * T * D * 4) / 8, scales: rows * T * (D / G) * 2, zeroPoints: rows * T * (D / G) * 2 });
      const out = read(s);
      for (let r = 0; r < rows; r++) {
        for (let i = 0; i < T; i++) {
          for (let g = 0; g < D / G; g++) {
            const base = (r * T + i) * D + g * G;
            const members = Array.from({ length: G }, (_, j) => roundHalf(x[base + j]!));
            const mn = roundHalf(Math.min(...members));
            const sc = roundHalf((Math.max(...members) - mn) / 15);
            for (let j = 0; j < G; j++) expect(Math.abs(out[base + j]! - members[j]!)).toBeLessThanOrEqual(sc / 2 + 15 * sc * 2 ** -11 + Math.abs(mn) * 2 ** -11);
          }
        }
      }
    }
  });

  it('a constant cache restores exactly', () => {
    const s = new RtnStore(shape, 'key', { bits: 2, groupSize: G });
    s.append(new Float32Array(rows * 5 * D).fill(3.25), 5);
    expect(read(s).every((v) => v === 3.25)).toBe(true);
    // A different constant per (row, token) group: every group restores exactly, in its place.
    const perToken = new RtnStore(shape, 'value', { bits: 2, groupSize: G });
    const x = new Float32Array(rows * 5 * D).map((_, i) => 0.25 * Math.floor(i / (5 * D)) + 0.75 * (Math.floor(i / D) % 5) - 1.5);
    perToken.append(x, 5);
    expect(read(perToken)).toEqual(x);
  });
});
