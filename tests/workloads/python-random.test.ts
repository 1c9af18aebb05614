import { describe, expect, it } from 'vitest';
import { PythonRandom } from '../../src/workloads/python-random.js';

// Expected values printed by CPython 3.11:
//   random.seed(s); x = list(range(25)); random.shuffle(x); print(x, random.random(), random.getrandbits(32))
const CPYTHON: [number | bigint, number[], number, number][] = [
  [0, [14, 0, 23, 18, 6, 5, 7, 10, 22, 20, 4, 2, 21, 3, 17, 11, 19, 9, 24, 15, 16, 8, 1, 13, 12], 0.7298317482601286, 3860481052],
  [1, [10, 20, 24, 21, 23, 5, 22, 13, 16, 9, 11, 17, 0, 7, 1, 6, 12, 19, 14, 15, 3, 8, 2, 18, 4], 0.022322111021323865, 2789779421],
  [42, [16, 12, 9, 19, 18, 6, 5, 10, 15, 21, 11, 17, 1, 14, 22, 13, 2, 23, 4, 24, 7, 8, 0, 3, 20], 0.5892656838759087, 3476477323],
  [2n ** 40n + 7n, [9, 10, 0, 1, 14, 21, 22, 24, 2, 17, 3, 5, 13, 7, 6, 11, 12, 16, 4, 8, 15, 18, 20, 23, 19], 0.07576808895819442, 1579007500],
];

describe('PythonRandom (CPython random, integer seeds)', () => {
  it.each(CPYTHON)('seed %s: shuffle, random() and getrandbits(32) match CPython', (seed, order, r, bits) => {
    const rng = new PythonRandom(seed);
    expect(rng.shuffle(Array.from({ length: 25 }, (_, i) => i))).toEqual(order);
    expect(rng.random()).toBe(r);
    expect(rng.getrandbits(32)).toBe(bits);
  });

  it('negative seeds use |seed| like CPython', () => {
    expect(new PythonRandom(-42).random()).toBe(new PythonRandom(42).random());
  });
});
