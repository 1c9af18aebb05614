/**
 * Serving metrics by vLLM's definitions on a hand-made generation trace, percentiles as numpy
 * computes them (vLLM reports np.percentile), KV budgets and batch choice, and the cache-path rule.
 */
import { describe, expect, it } from 'vitest';
import type { GenerateResult } from '../../src/engine/generate.js';
import { deviceWarmupTokens, resolveCachePath } from '../../src/runs/assemble-metrics.js';
import { batchForBudget, fp16KvBytes, peakOf, resolveKvBudget } from '../../src/runs/memory.js';
import { latencyStats, percentile, servingMetrics } from '../../src/runs/serving-metrics.js';
import type { WorkloadContext } from '../../src/runs/workload.js';

function trace(): GenerateResult {
  // Two requests of 4 and 3 tokens; prompts of 10 and 6 tokens; prefill 20 ms.
  return {
    tokens: [[5, 6, 7, 8], [5, 6, 7]],
    tokenTimesMs: [
      [30, 40, 55, 60],
      [30, 40, 55],
    ],
    prefillMs: 20,
    stepMs: [10, 15, 5],
    modelMs: [8, 12, 4],
    cacheMs: [10, 2, 3, 1],
    promptTokens: [10, 6],
    seqLen: 13,
    bytes: {},
    peakKvBytes: 0,
    kvBytesBaseline: 0,
    diagnostics: {},
  };
}

describe('servingMetrics (vLLM definitions)', () => {
  const s = servingMetrics(trace());
  it('TTFT is the time to the first token; E2E to the last; TPOT (E2E − TTFT)/(n − 1) per request', () => {
    expect(s.ttft.mean).toBe(30);
    expect(s.e2e.mean).toBe((60 + 55) / 2);
    expect(s.tpot.mean).toBeCloseTo(((60 - 30) / 3 + (55 - 30) / 2) / 2, 12);
  });
  it('ITL is every gap between consecutive tokens of every request', () => {
    const gaps = [10, 15, 5, 10, 15];
    expect(s.itl.mean).toBeCloseTo(gaps.reduce((a, b) => a + b) / gaps.length, 12);
    expect(s.itl.median).toBe(10);
  });
  it('throughputs: decode over the decode steps, prefill over the prefill, requests/output/total over the batch duration', () => {
    expect(s.decodeTokensPerSecond).toBeCloseTo(((3 + 2) / 30) * 1000, 9);
    expect(s.prefillTokensPerSecond).toBeCloseTo((16 / 20) * 1000, 9);
    expect(s.requestsPerSecond).toBeCloseTo((2 / 60) * 1000, 9);
    expect(s.outputTokensPerSecond).toBeCloseTo((7 / 60) * 1000, 9);
    expect(s.totalTokensPerSecond).toBeCloseTo(((16 + 7) / 60) * 1000, 9);
    expect(s.cacheOpMsPerStep).toBe(2); // prefill's store excluded
    expect(s.modelMsPerStep).toBe(8);
  });
});

describe('percentiles as numpy.percentile (linear interpolation)', () => {
  it('matches numpy on small samples', () => {
    // np.percentile([1,2,3,4,10], [50, 90, 99]) = 3, 7.6, 9.76
    expect(percentile([4, 1, 10, 3, 2], 50)).toBe(3);
    expect(percentile([1, 2, 3, 4, 10], 90)).toBeCloseTo(7.6, 12);
    expect(percentile([1, 2, 3, 4, 10], 99)).toBeCloseTo(9.76, 12);
    expect(latencyStats([1, 2])).toEqual({ mean: 1.5, median: 1.5, p90: 1.9, p99: 1.99 });
    expect(percentile([], 50)).toBeNaN();
  });
});

describe('KV budgets', () => {
  const g = { layers: 12, kvHeads: 2, headDim: 64 };
  it('the default budget is FP16 at the cell batch: 2 (K,V) · layers · batch · kvHeads · tokens · headDim · 2 B', () => {
    expect(fp16KvBytes(g, 128, 497)).toBe(390_856_704);
    expect(resolveKvBudget({}, g, 128, 497)).toEqual({ bytes: 390_856_704, source: 'fp16 KV of batch 128 at 497 tokens' });
  });
  it('explicit bytes win over MiB, MiB over the default; bad values are named', () => {
    expect(resolveKvBudget({ kvBudgetBytes: 1000, kvBudgetMiB: 1 }, g, 1, 1).bytes).toBe(1000);
    expect(resolveKvBudget({ kvBudgetMiB: 1.5 }, g, 1, 1)).toEqual({ bytes: 1_572_864, source: 'kvBudgetMiB' });
    expect(() => resolveKvBudget({ kvBudgetMiB: -1 }, g, 1, 1)).toThrow(/kvBudgetMiB must be a positive number/);
  });
  it('batch for a budget: floor, capped, 0 when nothing fits', () => {
    expect(batchForBudget(1000, 300, 100)).toBe(3);
    expect(batchForBudget(1000, 3, 100)).toBe(100);
    expect(batchForBudget(100, 300, 100)).toBe(0);
  });
  it('peak of memory samples keeps the largest reading of each kind', () => {
    expect(peakOf([{ peakRssBytes: 5 }, { peakRssBytes: 7, deviceBytes: 3, deviceSource: 'x' }, { deviceBytes: 2, deviceSource: 'y' }])).toEqual({ peakRssBytes: 7, deviceBytes: 3, deviceSource: 'y' });
  });

  it('device memory at the start of a cell is the first interval\'s start, whatever later intervals began at', () => {
    const m = peakOf([
      { deviceBytes: 5e9, deviceSource: 'x', deviceStartBytes: 4e9 },
      { deviceBytes: 7e9, deviceSource: 'x', deviceStartBytes: 6e9 },
    ]);
    expect(m.deviceBytes).toBe(7e9);
    expect(m.deviceStartBytes).toBe(4e9);
  });
});

describe('cache path and device warm-up', () => {
  const ctx = (method: string, ep: string, device: boolean) =>
    ({ cell: { method, ep }, ...(device ? { device: async () => ({}) } : {}) }) as unknown as WorkloadContext;
  it('auto: device on GPU EPs when the runner offers it and the method has a device version; host otherwise', () => {
    expect(resolveCachePath(ctx('kivi2', 'webgpu', true), 'auto')).toBe('device');
    expect(resolveCachePath(ctx('kivi2', 'cpu', true), 'auto')).toBe('host');
    expect(resolveCachePath(ctx('rtn', 'webgpu', true), 'auto')).toBe('host');
    expect(resolveCachePath(ctx('kivi2', 'webgpu', false), undefined)).toBe('host');
  });
  it('device: insists, with the reason when it cannot', () => {
    expect(resolveCachePath(ctx('fp16', 'cpu', true), 'device')).toBe('device');
    expect(() => resolveCachePath(ctx('mean-merge', 'webgpu', true), 'device')).toThrow(/no device-resident version/);
    expect(() => resolveCachePath(ctx('fp16', 'webgpu', false), 'device')).toThrow(/runner that offers/);
    expect(() => resolveCachePath(ctx('fp16', 'webgpu', true), 'gpu')).toThrow(/auto, host or device/);
  });
  it('the device warm-up covers one residual cycle (every cache-op variant), or 4 tokens without a residual', () => {
    expect(deviceWarmupTokens({ residual: 128 }, 338)).toBe(130);
    expect(deviceWarmupTokens({ residual: 128 }, 20)).toBe(20);
    expect(deviceWarmupTokens({}, 338)).toBe(4);
  });
});
