import { describe, expect, it } from 'vitest';
import { encodeHalfBits, floatBits, floatToHalf } from '../../src/kernels/half.js';
import { mulberry32 } from '../methods/helpers/random.js';

describe('encodeHalfBits', () => {
  it('matches floatToHalf on special values, boundaries and random bit patterns', () => {
    const rand = mulberry32(3);
    const specials = [0, -0, 1, -1, 65504, 65519.99, 65520, 70000, -70000, 6.1e-5, 6.0e-5, 5.96e-8, 2.98e-8, 1e-10, Infinity, -Infinity, NaN, 0.1, 1 / 3, 2049, 2051];
    const n = 1 << 20;
    const src = new Float32Array(specials.length + n);
    src.set(specials);
    const bits = floatBits(src);
    for (let i = specials.length; i < src.length; i++) bits[i] = Math.floor(rand() * 2 ** 32);
    const fast = new Uint16Array(src.length);
    encodeHalfBits(bits, 0, fast, 0, src.length);
    let mismatches = 0;
    for (let i = 0; i < src.length; i++) {
      const ref = floatToHalf(src[i]!);
      const isNan = (h: number) => (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0;
      if (fast[i] !== ref && !(isNan(fast[i]!) && isNan(ref))) mismatches++;
    }
    expect(mismatches).toBe(0);
  });

  it('honours offsets', () => {
    const src = Float32Array.from([1, 2, 3, 4]);
    const dst = new Uint16Array(4).fill(7);
    encodeHalfBits(floatBits(src), 1, dst, 2, 2);
    expect([...dst]).toEqual([7, 7, floatToHalf(2), floatToHalf(3)]);
  });
});
