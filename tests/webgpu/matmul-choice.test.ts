/**
 * The matmul bench's pick (bench/matmul-choice.ts), on the timings the H100 gave in session 23
 * (results/h100-engine-fig5/matmul.json): the kernels with the least total time, split-K that does
 * not split counted as the tiled kernel it is, and a split-K target as MINICACHE_MATMUL spells it.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fastestChoice, type Timed } from '../../bench/matmul-choice.js';
import { parseMatmulChoice } from '../../src/webgpu/kernels/matmul.js';

const h100 = (JSON.parse(readFileSync(new URL('../../results/h100-engine-fig5/matmul.json', import.meta.url), 'utf8')) as { rows: Timed[] }).rows;

describe('matmul choice from the bench', () => {
  it('the H100 rows: row4 for small M, split-K for large', () => {
    const choice = fastestChoice(h100)!;
    expect(choice).toBe('small=row4,large=splitk');
    expect(parseMatmulChoice(choice)).toEqual({ small: 'row4', large: 'splitk' });
  });

  it('a split-K target that wins becomes splitGroups; where it splits as the default, it counts the default\'s time', () => {
    const rows: Timed[] = [
      { shape: 'a', M: 32, kernel: 'tiled', ms: 1 },
      { shape: 'a', M: 32, kernel: 'splitk', ms: 0.6 },
      { shape: 'a', M: 32, kernel: 'splitk@1056', ms: 0.4 },
      // here the 1056 target splits as the default does: timed once, as 'splitk'
      { shape: 'b', M: 128, kernel: 'tiled', ms: 1 },
      { shape: 'b', M: 128, kernel: 'splitk', ms: 0.9 },
      // no split at all: every split-K variant is the tiled kernel
      { shape: 'c', M: 512, kernel: 'tiled', ms: 2 },
    ];
    expect(fastestChoice(rows)).toBe('large=splitk,splitGroups=1056');
    expect(parseMatmulChoice('large=splitk,splitGroups=1056')).toEqual({ large: 'splitk', splitGroups: 1056 });
    // slower at the larger target: the default stays
    rows[2]!.ms = 0.7;
    expect(fastestChoice(rows)).toBe('large=splitk');
    // tiled fastest in total
    expect(fastestChoice([{ shape: 'a', M: 32, kernel: 'tiled', ms: 0.5 }, { shape: 'a', M: 32, kernel: 'splitk', ms: 0.6 }])).toBe('large=tiled');
  });

  it('nothing timed: no choice', () => {
    expect(fastestChoice([])).toBeUndefined();
  });
});
