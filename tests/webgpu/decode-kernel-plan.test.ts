import { describe, expect, it } from 'vitest';
import { defaultDecodeKernel, fp16PastReader, rowsPlan, type PastReader } from '../../src/webgpu/kernels/attention.js';
import { engineKnobs } from '../../runners/node/webgpu-device.js';

const reader = (D: number, extra: Partial<PastReader> = {}): PastReader => ({ ...fp16PastReader({ kvHeads: 1, headDim: D, cap: 64 }), ...extra });

describe("decode attention: which split kernel serves a shape", () => {
  it("the 'rows' family for the shapes the project runs, with the partials and slices the kernel assumes", () => {
    // embedded model: 4 heads over 2, D 64: a key row read by 8 threads, one 16-byte chunk each
    expect(rowsPlan({ heads: 4, kvHeads: 2, headDim: 64, reader: reader(64) })).toEqual({ tpr: 8, np: 2, vpr: 8, slices: 8, scratch: 1024 });
    // LLaMA-2-7B (32 over 32, D 128): 16 threads a row; LLaMA-3-8B / Mistral (32 over 8): 4, four chunks each
    expect(rowsPlan({ heads: 32, kvHeads: 32, headDim: 128, reader: reader(128) })).toMatchObject({ tpr: 16, np: 1, vpr: 16, slices: 4 });
    expect(rowsPlan({ heads: 32, kvHeads: 8, headDim: 128, reader: reader(128) })).toMatchObject({ tpr: 4, np: 4, slices: 4, scratch: 2048 });
    // MiniCache's merged reader sums two squared norms per slot too
    expect(rowsPlan({ heads: 4, kvHeads: 2, headDim: 64, reader: reader(64, { scales: true, retained: true }) })).toMatchObject({ tpr: 4, np: 4 });
    // the fp16 cache prefers 'rowsu' (timed fastest on it); a reader that names none gets 'rows'
    for (const s of [
      { heads: 4, kvHeads: 2, headDim: 64 },
      { heads: 32, kvHeads: 8, headDim: 128 },
    ]) {
      expect(defaultDecodeKernel({ ...s, reader: reader(s.headDim) })).toBe('rowsu');
      expect(defaultDecodeKernel({ ...s, reader: reader(s.headDim, { preferred: undefined }) })).toBe('rows');
    }
  });

  it("'slots' where the rows kernel cannot serve, with the reason", () => {
    // D/8 must divide the 64 threads (Phi-2's head dim 80 does not)
    expect(rowsPlan({ heads: 32, kvHeads: 32, headDim: 80, reader: reader(80) })).toEqual({ reason: 'head dim 80: D/8 must divide 64' });
    expect(defaultDecodeKernel({ heads: 32, kvHeads: 32, headDim: 80, reader: reader(80) })).toBe('slots');
    // 8 query heads per KV head at D 256: the p·V slices alone need 16 KiB of workgroup memory
    const big = rowsPlan({ heads: 64, kvHeads: 8, headDim: 256, reader: reader(256) });
    expect('reason' in big && big.reason).toMatch(/bytes of workgroup memory \(over 16 KiB\)/);
    expect(defaultDecodeKernel({ heads: 64, kvHeads: 8, headDim: 256, reader: reader(256) })).toBe('slots');
  });

  it("a host's preference where it serves the shape: 'rowsp' needs what 'rows' needs, 'slots' serves any", () => {
    const fits = { heads: 4, kvHeads: 2, headDim: 64, reader: reader(64) };
    const not = { heads: 32, kvHeads: 32, headDim: 80, reader: reader(80) };
    expect(defaultDecodeKernel(fits, 'rowsp')).toBe('rowsp');
    expect(defaultDecodeKernel(fits, 'slots')).toBe('slots');
    expect(defaultDecodeKernel(not, 'rowsp')).toBe('slots');
    expect(defaultDecodeKernel(not, 'rows')).toBe('slots');
    expect(engineKnobs({ MINICACHE_ATTENTION: 'rowsp' })).toEqual({ decodeKernel: 'rowsp' });
    expect(() => engineKnobs({ MINICACHE_ATTENTION: 'fast' })).toThrow(/MINICACHE_ATTENTION: "fast"/);
  });
});
