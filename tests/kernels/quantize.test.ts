import { describe, expect, it } from 'vitest';
import { halfToFloat, roundHalf } from '../../src/kernels/half.js';
import {
  dequantizeAlongChannels,
  dequantizeAlongTokens,
  groupSizeProblem,
  quantizeAlongChannels,
  quantizeAlongTokens,
  roundHalfEven,
  wordsPerGroup,
  type QuantBits,
} from '../../src/kernels/quantize.js';
import { mulberry32 } from '../methods/helpers/random.js';

function quantChannels(x: number[], G: number, bits: QuantBits) {
  const src = Float32Array.from(x);
  const groups = x.length / G;
  const codes = new Uint32Array((x.length * bits) / 32 || 1);
  const scales = new Uint16Array(groups);
  const mins = new Uint16Array(groups);
  quantizeAlongChannels(src, 0, x.length, G, bits, codes, 0, scales, mins, 0);
  const out = new Float32Array(x.length);
  dequantizeAlongChannels(codes, 0, scales, mins, 0, x.length, G, bits, out, 0);
  return { codes, scales, mins, out };
}

function codeAt(codes: Uint32Array, j: number, bits: number): number {
  const perWord = 32 / bits;
  return (codes[Math.floor(j / perWord)]! >>> ((j % perWord) * bits)) & ((1 << bits) - 1);
}

describe('roundHalfEven', () => {
  it('rounds ties to even like torch.round', () => {
    expect([0.5, 1.5, 2.5, 3.5, 0.49, 0.51, 2, 2.4999].map(roundHalfEven)).toEqual([0, 2, 2, 4, 0, 1, 2, 2]);
  });
});

describe('KIVI quantizer: spec §3.1 example', () => {
  it('b=2, g = (−1, 0, 0.5, 3) → q = (0,1,1,3), x̂ ≈ (−1, 1/3, 1/3, 3) with fp16 scale and min', () => {
    // Pad to 16 elements (one whole word) by repeating the group four times.
    const g = [-1, 0, 0.5, 3];
    const { codes, scales, mins, out } = quantChannels([...g, ...g, ...g, ...g], 16, 2);
    expect([0, 1, 2, 3].map((j) => codeAt(codes, j, 2))).toEqual([0, 1, 1, 3]);
    expect(halfToFloat(mins[0]!)).toBe(-1);
    expect(halfToFloat(scales[0]!)).toBe(roundHalf(4 / 3));
    const s = roundHalf(4 / 3);
    expect([...out.subarray(0, 4)]).toEqual([-1, s - 1, s - 1, 3 * s - 1].map(Math.fround));
    expect(Math.abs(out[3]! - 3)).toBeLessThan(2e-3);
  });

  it('exact ties round to even inside the kernels (both layouts)', () => {
    // mn 0, scale 1: (x − mn)/scale = 0, 0.5, 1.5, 2.5, 3 → 0, 0, 2, 2, 3.
    const g = [0, 0.5, 1.5, 2.5, 3, 3, 3, 3];
    const x = [...g, ...g];
    const { codes } = quantChannels(x, 16, 2);
    expect([0, 1, 2, 3, 4].map((j) => codeAt(codes, j, 2))).toEqual([0, 0, 2, 2, 3]);
    const tile = Float32Array.from(x);
    const tc = new Uint32Array(1);
    quantizeAlongTokens(tile, 0, 1, 16, 2, tc, 0, new Uint16Array(1), new Uint16Array(1), 0);
    expect([0, 1, 2, 3, 4].map((j) => codeAt(tc, j, 2))).toEqual([0, 0, 2, 2, 3]);
  });

  it('packs element j of a word at bit offset b·j (lowest bits first)', () => {
    // 8 four-bit codes 0..7 plus 8 more so min=0, max=15: q = x.
    const x = Array.from({ length: 16 }, (_, i) => i);
    const { codes } = quantChannels(x, 16, 4);
    expect(codes[0]).toBe(0x76543210);
    expect(codes[1]).toBe(0xfedcba98);
  });
});

describe('constant and degenerate groups', () => {
  it('a constant group dequantizes exactly to its value, no NaN', () => {
    for (const bits of [2, 4, 8] as QuantBits[]) {
      const { out, scales } = quantChannels(new Array(32).fill(1.25), 32, bits);
      expect(scales[0]).toBe(0);
      expect([...out].every((v) => v === 1.25)).toBe(true);
    }
  });

  it('an all-zero tile along tokens stays zero', () => {
    const src = new Float32Array(32 * 8);
    const codes = new Uint32Array(8 * 8);
    const scales = new Uint16Array(8);
    const mins = new Uint16Array(8);
    quantizeAlongTokens(src, 0, 8, 32, 2, codes, 0, scales, mins, 0);
    const out = new Float32Array(32 * 8).fill(7);
    dequantizeAlongTokens(codes, 0, scales, mins, 0, 8, 32, 2, out, 0);
    expect(out.every((v) => v === 0)).toBe(true);
  });

  it('a range too small for fp16 (scale rounds to 0) gives finite output', () => {
    const x = new Array(32).fill(0).map((_, i) => (i % 2) * 1e-9);
    const { out } = quantChannels(x, 32, 4);
    expect(out.every(Number.isFinite)).toBe(true);
  });

  it('validates group sizes; groups that do not fill a word are padded to whole words', () => {
    expect(groupSizeProblem(32, 2)).toBeNull();
    expect(groupSizeProblem(8, 2)).toBeNull();
    expect(groupSizeProblem(0, 4)).toMatch(/positive/);
    expect(groupSizeProblem(2.5, 4)).toMatch(/positive/);
    expect(wordsPerGroup(32, 2)).toBe(2);
    expect(wordsPerGroup(8, 2)).toBe(1);
    expect(wordsPerGroup(12, 4)).toBe(2);
  });

  it('padded groups (b=2, G=8: 16 bits used of each word) round-trip like full ones', () => {
    const x = [0, 1, 2, 3, 3, 2, 1, 0, 10, 11, 12, 13, 13, 12, 11, 10];
    const codes = new Uint32Array(2);
    const scales = new Uint16Array(2);
    const mins = new Uint16Array(2);
    quantizeAlongChannels(Float32Array.from(x), 0, 16, 8, 2, codes, 0, scales, mins, 0);
    expect(codes[0]! >>> 16).toBe(0);
    expect(codes[0]).toBe(0b0001101111100100);
    const out = new Float32Array(16);
    dequantizeAlongChannels(codes, 0, scales, mins, 0, 16, 8, 2, out, 0);
    expect([...out]).toEqual(x);
    // Along tokens: a tile of 8 tokens × 2 channels.
    const tile = Float32Array.from(x.slice(0, 8).flatMap((v, j) => [v, x[8 + j]!]));
    const tc = new Uint32Array(2);
    quantizeAlongTokens(tile, 0, 2, 8, 2, tc, 0, scales, mins, 0);
    const tout = new Float32Array(16);
    dequantizeAlongTokens(tc, 0, scales, mins, 0, 2, 8, 2, tout, 0);
    expect([...tout]).toEqual([...tile]);
  });
});

describe('dequantization error ≤ scale/2 (+ fp16 slack), random data', () => {
  const rand = mulberry32(7);
  for (const bits of [2, 4, 8] as QuantBits[]) {
    it(`along channels, ${bits} bits`, () => {
      const D = 128;
      const G = 32;
      for (let trial = 0; trial < 50; trial++) {
        const scaleOf = 10 ** (rand() * 4 - 2);
        const x = Array.from({ length: D }, () => roundHalf((rand() * 2 - 1) * scaleOf + rand()));
        const { out, scales } = quantChannels(x, G, bits);
        for (let i = 0; i < D; i++) {
          const sc = halfToFloat(scales[Math.floor(i / G)]!);
          // Slack: fp16 scale is off by ≤ 2^-11 relative, times up to 2^b − 1 steps.
          const bound = sc / 2 + ((1 << bits) - 1) * sc * 2 ** -11 + 1e-7 * Math.abs(x[i]!);
          expect(Math.abs(out[i]! - x[i]!)).toBeLessThanOrEqual(bound);
        }
      }
    });

    it(`along tokens, ${bits} bits, equals the channel kernel on the transposed tile`, () => {
      const D = 64;
      const G = 32;
      const tile = new Float32Array(G * D).map(() => roundHalf(rand() * 6 - 3));
      const words = (G * bits) / 32;
      const codes = new Uint32Array(words * D);
      const scales = new Uint16Array(D);
      const mins = new Uint16Array(D);
      quantizeAlongTokens(tile, 0, D, G, bits, codes, 0, scales, mins, 0);
      const out = new Float32Array(G * D);
      dequantizeAlongTokens(codes, 0, scales, mins, 0, D, G, bits, out, 0);
      for (let c = 0; c < D; c++) {
        const column = Array.from({ length: G }, (_, j) => tile[j * D + c]!);
        const ref = quantChannels(column, G, bits);
        expect(scales[c]).toBe(ref.scales[0]);
        expect(mins[c]).toBe(ref.mins[0]);
        for (let j = 0; j < G; j++) expect(out[j * D + c]).toBe(ref.out[j]);
      }
    });
  }

  it('writes only inside its offsets', () => {
    const src = new Float32Array(3 * 32).map(() => rand());
    const codes = new Uint32Array(3 * 8).fill(0xdeadbeef);
    const scales = new Uint16Array(3).fill(9);
    const mins = new Uint16Array(3).fill(9);
    quantizeAlongChannels(src, 32, 32, 32, 4, codes, 8, scales, mins, 1);
    // Words 8…11 (32 four-bit codes) and parameter 1 are this group's; everything else is untouched.
    codes.forEach((w, i) => expect(w === 0xdeadbeef, `code word ${i}`).toBe(i < 8 || i >= 12));
    expect([scales[0], scales[2], mins[0], mins[2]]).toEqual([9, 9, 9, 9]);
    expect([scales[1], mins[1]]).not.toEqual([9, 9]);
    const out = new Float32Array(96).fill(-5);
    dequantizeAlongChannels(codes, 8, scales, mins, 1, 32, 32, 4, out, 32);
    for (let i = 0; i < 96; i++) {
      // 4-bit codes of values in [0, 1): scale ≤ 1/15, so every element within half a step (+ slack).
      if (i >= 32 && i < 64) expect(Math.abs(out[i]! - src[i]!), `element ${i}`).toBeLessThan(0.035);
      else expect(out[i], `element ${i}`).toBe(-5);
    }
  });
});
