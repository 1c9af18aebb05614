/**
 * The sharegpt workload on a real (small, random-weight) model on onnxruntime's CPU EP:
 *  - memory-budget mode picks, for each method, the largest batch whose measured peak KV bytes fit
 *    the budget (exactly the largest for FP16 and KIVI, whose bytes are linear in the batch), and
 *    records the choice in the metrics the report reads;
 *  - fixed mode on the host and device cache paths gives the same KV bytes and the same first tokens;
 *  - every serving metric is present, with a bootstrap interval over the repeats and memory probes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fp16KvBytes } from '../../src/runs/memory.js';
import { RETAINED_MARGIN, sharegptWorkload } from '../../src/runs/workloads/sharegpt.js';
import type { OrtBackend } from '../../runners/node/ort-backend.js';
import type { OrtDeviceDecoder } from '../../runners/node/ort-gpu-decoder.js';
import { cell, context, TINY, tinyBackends } from './tiny-model.js';

const LENGTHS = { promptLen: 40, outputLen: 12 };
const SEQ = LENGTHS.promptLen + LENGTHS.outputLen - 1;
const params = (p: Record<string, unknown>) => ({ ...sharegptWorkload.defaults, ...LENGTHS, ...p });

let backend: OrtBackend;
let device: OrtDeviceDecoder;
beforeAll(async () => {
  ({ backend, device } = await tinyBackends());
});
afterAll(async () => {
  await device.dispose();
  await backend.dispose();
});

describe('memory-budget mode', () => {
  it('FP16 at the default budget (its own cache at the cell batch) runs exactly that batch', async () => {
    const spec = cell('fp16', 6, params({ mode: 'memory-budget', cache: 'host', calibrationBatch: 2 }));
    const out = await sharegptWorkload.run(context(backend, undefined, spec, { repeats: 1, warmup: 0 }));
    const m = out.metrics;
    expect(m.kvBudgetBytes).toBe(fp16KvBytes(TINY, 6, SEQ));
    expect(m.batchChosen).toBe(6);
    expect(m.kvBytes).toBe(m.kvBudgetBytes);
    expect(m.kvBudgetFits).toBe(true);
    expect(m.batch).toBe(6);
  });

  it.each(['kivi2', 'minicache+kivi4', 'minicache'])('%s: largest batch within the budget, bigger than FP16 (host path)', async (method) => {
    const budget = fp16KvBytes(TINY, 4, SEQ);
    const spec = cell(method, 4, params({ mode: 'memory-budget', cache: 'host', calibrationBatch: 2, kvBudgetBytes: budget }));
    const out = await sharegptWorkload.run(context(backend, undefined, spec, { repeats: 1, warmup: 0 }));
    const m = out.metrics;
    const chosen = m.batchChosen as number;
    expect(m.kvBudgetBytes).toBe(budget);
    expect(m.kvBytes).toBeLessThanOrEqual(budget);
    expect(chosen).toBeGreaterThan(4);
    const { bytesPerSequence: perSeq, aimBytes } = m.calibration as { bytesPerSequence: number; aimBytes: number };
    // MiniCache's retained rows make its bytes data-dependent: it aims a margin under the budget.
    expect(aimBytes).toBe(method.startsWith('minicache') ? Math.floor(budget * (1 - RETAINED_MARGIN)) : budget);
    // Largest: one more sequence would not fit the aim (by the calibrated bytes per sequence).
    expect((chosen + 1) * perSeq).toBeGreaterThan(aimBytes);
    expect(chosen * perSeq).toBeLessThanOrEqual(aimBytes);
    if (method === 'kivi2') expect(m.kvBytes).toBe(chosen * perSeq); // exactly linear in the batch
  });

  it('the device path chooses the same batch as the host path for the same budget and method', async () => {
    const budget = fp16KvBytes(TINY, 4, SEQ);
    const p = params({ mode: 'memory-budget', calibrationBatch: 2, kvBudgetBytes: budget });
    const host = await sharegptWorkload.run(context(backend, device, cell('kivi4', 4, { ...p, cache: 'host' }), { repeats: 1, warmup: 0 }));
    const dev = await sharegptWorkload.run(context(backend, device, cell('kivi4', 4, { ...p, cache: 'device' }), { repeats: 1, warmup: 0 }));
    expect(dev.metrics.batchChosen).toBe(host.metrics.batchChosen);
    expect(dev.metrics.kvBytes).toBe(host.metrics.kvBytes);
    expect(dev.metrics.cachePath).toBe('device');
  });

  it('a budget that holds one MiniCache sequence, but not the margin under it, runs batch 1', async () => {
    const one = await sharegptWorkload.run(context(backend, undefined, cell('minicache', 1, params({ cache: 'host' })), { repeats: 1, warmup: 0 }));
    const budget = one.metrics.kvBytes as number;
    const spec = cell('minicache', 1, params({ mode: 'memory-budget', cache: 'host', calibrationBatch: 1, kvBudgetBytes: budget }));
    const m = (await sharegptWorkload.run(context(backend, undefined, spec, { repeats: 1, warmup: 0 }))).metrics;
    expect((m.calibration as { aimBytes: number }).aimBytes).toBeLessThan(budget);
    expect(m.batchChosen).toBe(1);
    expect(m.kvBudgetFits).toBe(true);
    expect(m.kvBytes).toBe(budget);
  });

  it('says so when the budget holds no sequence at all', async () => {
    const spec = cell('fp16', 4, params({ mode: 'memory-budget', cache: 'host', calibrationBatch: 1, kvBudgetBytes: 1000 }));
    await expect(sharegptWorkload.run(context(backend, undefined, spec, { repeats: 1, warmup: 0 }))).rejects.toThrow(/not even one sequence fits/);
  });
});

describe('fixed mode, host and device cache paths', () => {
  it.each(['fp16', 'kivi2', 'minicache+kivi4'])('%s: same bytes and first tokens on both paths; every serving metric', async (method) => {
    const probes: number[] = [];
    const probe = () => {
      probes.push(1);
      return { peakRssBytes: 123456789, deviceBytes: 42, deviceSource: 'test' };
    };
    const host = await sharegptWorkload.run(context(backend, device, cell(method, 3, params({ cache: 'host' })), { memoryProbe: probe }));
    const dev = await sharegptWorkload.run(context(backend, device, cell(method, 3, params({ cache: 'device' })), { memoryProbe: probe }));
    expect(dev.metrics.kvBytes).toBe(host.metrics.kvBytes);
    expect(dev.metrics.kvBytesPackedEquivalent).toBe(host.metrics.kvBytes);
    expect(dev.metrics.compressionRatio).toBeCloseTo(host.metrics.compressionRatio, 12);
    // Prefill is exact on both paths: the first generated token of every request agrees.
    expect(dev.sampleTokens!.map((t) => t[0])).toEqual(host.sampleTokens!.map((t) => t[0]));
    for (const m of [host.metrics, dev.metrics]) {
      for (const k of ['ttft', 'tpot', 'itl', 'e2e']) expect(Object.keys(m[k] as object).sort()).toEqual(['mean', 'median', 'p90', 'p99']);
      for (const k of ['decodeTokensPerSecond', 'prefillTokensPerSecond', 'requestsPerSecond', 'outputTokensPerSecond', 'totalTokensPerSecond', 'cacheOpMsPerStep', 'modelMsPerStep']) {
        expect(m[k], k).toBeGreaterThan(0);
      }
      const ci = m.decodeTokensPerSecondCi as { lo: number; hi: number; n: number };
      expect(ci.n).toBe(2);
      expect(ci.lo).toBeLessThanOrEqual(m.decodeTokensPerSecond!);
      expect(ci.hi).toBeGreaterThanOrEqual(m.decodeTokensPerSecond!);
      expect(m.peakRssBytes).toBe(123456789);
      expect(m.deviceMemoryBytes).toBe(42);
      expect(m.modelWeightBytes).toBe(backend.model.weightBytes);
      expect(m.generatedTokens).toBe(3 * LENGTHS.outputLen);
    }
    expect(host.metrics.cachePath).toBe('host');
    expect(dev.metrics.kvDeviceDtype).toBe('float16');
    // warm-up + 2 repeats, each probed, on both paths
    expect(probes.length).toBe(6);
  });
});
