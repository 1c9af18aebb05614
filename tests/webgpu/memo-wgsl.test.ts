import { describe, expect, it } from 'vitest';
import { memoWgsl } from '../../src/webgpu/kernels/wgsl-common.js';
import { decodeMergeWgsl } from '../../src/webgpu/kernels/minicache.js';

describe('memoWgsl: a WGSL source made once per distinct arguments', () => {
  it('generates again only for arguments not seen before, and forgets everything past its limit', () => {
    let calls = 0;
    const gen = memoWgsl((s: { D: number; side: string }, f: number) => {
      calls++;
      return `// ${s.D} ${s.side} @${f}`;
    }, 3);
    expect(gen({ D: 64, side: 'prev' }, 0)).toBe('// 64 prev @0');
    expect(gen({ D: 64, side: 'prev' }, 0)).toBe('// 64 prev @0');
    expect(calls).toBe(1);
    // any field or argument that differs is another source
    expect(gen({ D: 64, side: 'cur' }, 0)).toBe('// 64 cur @0');
    expect(gen({ D: 64, side: 'prev' }, 1)).toBe('// 64 prev @1');
    expect(calls).toBe(3);
    // a fourth source clears the cache: the first is made again
    gen({ D: 128, side: 'prev' }, 0);
    gen({ D: 64, side: 'prev' }, 0);
    expect(calls).toBe(5);
  });

  it('gives what the generator gives (MiniCache decode merge)', () => {
    const shape = { batch: 2, kvHeads: 2, heads: 4, headDim: 64, cap: 80, t: 0.6, antiparallelEps: 0.05, mode: 'distinctBand' as const, gamma: 0.05, decodeRetention: 'threshold' as const, rule: 'slerp' as const };
    const memo = memoWgsl(decodeMergeWgsl);
    expect(memo(shape)).toBe(decodeMergeWgsl(shape));
    expect(memo({ ...shape, cap: 81 })).toBe(decodeMergeWgsl({ ...shape, cap: 81 }));
    expect(memo({ ...shape, cap: 81 })).not.toBe(memo(shape));
  });
});
