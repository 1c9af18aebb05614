/**
 * How the split-K matmul divides K: enough splits that the 64 × 64 tiles fill a large GPU
 * (SPLIT_K_TARGET_GROUPS workgroups), every split with work, and one split (the plain tiled
 * kernel) where the tiles alone are enough. The kernel tests' shapes must really split.
 */
import { describe, expect, it } from 'vitest';
import { matmulGroups, parseMatmulChoice, sharedPartialBytes, pickMatmul, rowGroupThreads, splitPartialBytes, splitsFor, SPLIT_K_TARGET_GROUPS, type MatmulShape } from '../../src/webgpu/kernels/matmul.js';
import { engineKnobs } from '../../runners/node/webgpu-device.js';

const shape = (M: number, N: number, K: number): MatmulShape => ({ M, N, K, epilogue: 'store' });

describe('split-K plan', () => {
  it('7B decode at batch 32: 64 tiles of a 4,096-wide projection become 320 workgroups (5 splits of 26 or 25 steps)', () => {
    const s = shape(32, 4096, 4096);
    expect(splitsFor(s)).toBe(5);
    expect(matmulGroups(s, 'splitk')).toBe(320);
    expect(matmulGroups(s, 'splitk')).toBeGreaterThanOrEqual(SPLIT_K_TARGET_GROUPS);
    expect(splitPartialBytes(s)).toBe(5 * 32 * 4096 * 4);
  });

  it('enough tiles: one split, no partials', () => {
    const s = shape(512, 4096, 4096); // 8 × 64 tiles
    expect(splitsFor(s)).toBe(1);
    expect(splitPartialBytes(s)).toBe(0);
  });

  it('never more splits than 32-wide steps of K, nor more than 16, and none empty', () => {
    for (const [M, N, K] of [
      [1, 40, 64],
      [3, 130, 72],
      [8, 64, 256],
      [70, 96, 40],
      [16, 256, 576],
      [2, 64, 8192],
    ]) {
      const S = splitsFor(shape(M!, N!, K!));
      const steps = Math.ceil(K! / 32);
      expect(S).toBeGreaterThan(1); // the kernel tests' shapes split
      expect(S).toBeLessThanOrEqual(Math.min(16, steps));
      const per = Math.ceil(steps / S);
      expect((S - 1) * per).toBeLessThan(steps); // the last split has a step
    }
  });
});

describe('matmul kernel choice', () => {
  it('defaults (as timed on an H100): row4 to M = 8, splitk above, register on software adapters; a host choice overrides each side', () => {
    expect(pickMatmul(shape(8, 64, 64), false)).toBe('row4');
    expect(pickMatmul(shape(9, 64, 64), false)).toBe('splitk');
    expect(pickMatmul(shape(9, 64, 64), false, { large: 'tiled', small: 'row' })).toBe('tiled');
    expect(pickMatmul(shape(8, 64, 64), false, { large: 'tiled', small: 'row' })).toBe('row');
    expect(pickMatmul(shape(1, 64, 64), true, { small: 'row4' })).toBe('register');
    expect(pickMatmul(shape(1, 64, 64), false, { small: 'row8' })).toBe('row8');
    expect(pickMatmul(shape(32, 64, 64), false, { small: 'row8' })).toBe('splitk');
    expect(pickMatmul(shape(32, 64, 64), false, { large: 'splitk' })).toBe('splitk');
  });

  it('parses MINICACHE_MATMUL and names a bad part', () => {
    expect(parseMatmulChoice('small=row4, large=splitk')).toEqual({ small: 'row4', large: 'splitk' });
    expect(parseMatmulChoice('large=tiled')).toEqual({ large: 'tiled' });
    expect(() => parseMatmulChoice('small=tiled')).toThrow(/small=tiled/);
    expect(() => engineKnobs({ MINICACHE_MATMUL: 'big=row' })).toThrow(/MINICACHE_MATMUL: .*big=row/);
    expect(engineKnobs({ MINICACHE_MATMUL: 'small=row8', MINICACHE_WEBGPU_F16: '0' })).toEqual({ matmul: { small: 'row8' }, f16: false });
    expect(engineKnobs({})).toEqual({});
    expect(() => engineKnobs({ MINICACHE_WEBGPU_F16: 'no' })).toThrow(/MINICACHE_WEBGPU_F16/);
  });

  it('row groups: a workgroup per 4 or 8 weight rows, threads halved until the reduction fits 16 KiB', () => {
    expect(matmulGroups(shape(1, 4096, 4096), 'row4')).toBe(1024);
    expect(matmulGroups({ M: 1, N: 22016, K: 4096, epilogue: 'swiglu' }, 'row8')).toBe(2752);
    expect(matmulGroups(shape(1, 130, 64), 'row8')).toBe(17);
    expect(rowGroupThreads(shape(1, 64, 64), 4)).toBe(128);
    expect(rowGroupThreads(shape(8, 64, 64), 4)).toBe(128);
    expect(rowGroupThreads(shape(8, 64, 64), 8)).toBe(64);
  });
});

describe('one split-K buffer per session', () => {
  const gpu = { adapter: { vendor: '', architecture: '', fallback: false }, matmul: {} };
  it("sized for the largest need among the shapes that run 'splitk'; none where none does", () => {
    const s32 = shape(32, 4096, 4096); // 5 splits
    const w2 = { M: 32, N: 4096, K: 11008, epilogue: 'add' as const };
    const wide = shape(512, 4096, 4096); // enough tiles: tiled
    expect(sharedPartialBytes(gpu, [s32, w2, wide])).toBe(Math.max(splitPartialBytes(s32), splitPartialBytes(w2)));
    expect(sharedPartialBytes(gpu, [wide, shape(1, 4096, 4096)])).toBe(0); // tiled and row4
    expect(sharedPartialBytes({ ...gpu, matmul: { large: 'tiled' } }, [s32, w2])).toBe(0);
    expect(sharedPartialBytes({ ...gpu, adapter: { ...gpu.adapter, fallback: true } }, [s32])).toBe(0); // register
    // a host's larger workgroup target: more splits, a larger buffer (16 splits: 1,024 workgroups)
    expect(splitsFor(s32, 1056)).toBe(16);
    expect(matmulGroups(s32, 'splitk', 1056)).toBe(1024);
    expect(sharedPartialBytes({ ...gpu, matmul: { splitGroups: 1056 } }, [s32])).toBe(16 * 32 * 4096 * 4);
  });
});
