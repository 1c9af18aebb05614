import type { GenerateOptions, GenerateResult } from '../engine/generate.js';
import { generateForCell, type CellGeneration } from './generation.js';
import { generateOnDevice, type DeviceGenerateResult } from '../engine/generate-device.js';
import { createDeviceMethod, hasDeviceMethod } from '../gpu/device-registry.js';
import { getMethod } from '../methods/registry.js';
import type { DeviceDecoder } from '../gpu/device-types.js';
import { totalBytes } from '../methods/types.js';
import type { Metrics } from '../results/record.js';
import { decodeTpsCi } from './combine-repeats.js';
import { peakOf, type MemorySample } from './memory.js';
import { median, servingMetrics } from './serving-metrics.js';
import type { WorkloadContext, WorkloadOutput } from './workload.js';

/**
 * Where the KV cache lives between decode steps on onnxruntime: 'host' (generate(): JS stores,
 * restored through the host) or 'device' (cache-op graphs on the EP). On the WebGPU engine
 * 'device' (and 'auto') mean the engine's store, 'host' the host method (CellGeneration.cachePath).
 */
export type CachePath = 'host' | 'device';

/**
 * 'auto' picks the device path when the runner offers it, the EP is not the CPU and the method
 * has a device version; 'device' insists (and says why it cannot); 'host' never.
 */
export function resolveCachePath(ctx: WorkloadContext, want: unknown): CachePath {
  const choice = want ?? 'auto';
  if (choice !== 'auto' && choice !== 'host' && choice !== 'device') throw new Error(`cache must be auto, host or device, got ${JSON.stringify(want)}`);
  if (choice === 'host') return 'host';
  if (ctx.engine) return 'device';
  const possible = Boolean(ctx.device) && hasDeviceMethod(ctx.cell.method);
  if (choice === 'device') {
    if (!ctx.device) throw new Error('cache: device needs a runner that offers the device-resident cache path: the Node runner, or the browser runner on WebGPU with a llama2.c model');
    if (!hasDeviceMethod(ctx.cell.method)) throw new Error(`cache: device: method "${ctx.cell.method}" has no device-resident version`);
    return 'device';
  }
  return possible && ctx.cell.ep !== 'cpu' ? 'device' : 'host';
}

export interface TimedOptions extends Omit<GenerateOptions, 'createMethod'> {
  /** Cache path (default host). */
  cache?: CachePath;
  /**
   * Device path: finish each cache op's device work inside its own time (default true), so
   * cacheOpMsPerStep is its real cost; false lets the device pipeline cache ops with the model
   * (best throughput; cacheOpMsPerStep is then host dispatch time only).
   */
  fenceCacheOps?: boolean;
}

/**
 * Device-path warm-up length: enough decode steps to meet every cache-op graph variant once (a KIVI
 * store cycles through its variants within one residual window: flush, empty tail, eviction), so no
 * session is built inside a timed run; 4 tokens for methods without a residual.
 */
export function deviceWarmupTokens(methodParams: Record<string, unknown>, maxNew: number): number {
  const residual = typeof methodParams.residual === 'number' ? methodParams.residual : null;
  return Math.min(maxNew, residual === null ? 4 : residual + 2);
}

/**
 * Run the same generation warmup + repeats times; report the median repeat's serving metrics,
 * every repeat's headline figures, and the bytes of the last repeat (deterministic: identical
 * in every repeat).
 */
export async function timedGeneration(
  ctx: WorkloadContext,
  prompts: number[][],
  opts: TimedOptions,
): Promise<{ output: WorkloadOutput; last: GenerateResult }> {
  // on the engine a workload that names no cache path gets the device store
  const { cache = ctx.engine ? 'device' : 'host', fenceCacheOps = true, ...genOpts } = opts;
  const decoder: DeviceDecoder | undefined = cache === 'device' && !ctx.engine ? await ctx.device!() : undefined;
  const runs: CellGeneration[] = [];
  ctx.engine?.ctx.resetPeak();
  const memory: MemorySample[] = [];
  const total = ctx.warmup + ctx.repeats;
  for (let i = 0; i < total; i++) {
    // Warm-up runs create sessions and buffers, not to be timed. On the host path 4 tokens do; the
    // device path builds one graph per cache-op variant (key flush, value eviction, …), met within
    // one residual cycle (deviceWarmupTokens).
    const warm = i < ctx.warmup;
    const maxNew = typeof genOpts.maxNewTokens === 'number' ? genOpts.maxNewTokens : Math.max(...genOpts.maxNewTokens);
    const withDefaults = { ...getDefaults(ctx.cell.method), ...ctx.cell.methodParams };
    const common = {
      ...genOpts,
      ...(warm ? { maxNewTokens: decoder ? deviceWarmupTokens(withDefaults, maxNew) : 4 } : {}),
      ...(ctx.signal ? { signal: ctx.signal } : {}),
      onStep: (s: number, n: number) => ctx.onProgress?.(i * n + s, total * n, i < ctx.warmup ? 'warm-up' : ctx.repeats === 1 ? 'timed' : `repeat ${i - ctx.warmup + 1}/${ctx.repeats}`),
    };
    const r: CellGeneration = decoder
      ? {
          ...(await generateOnDevice(decoder, ctx.backend.model, prompts, {
            ...common,
            // Fenced: each cache op's device work finishes inside its own time (cacheOpMsPerStep is its cost).
            createMethod: (g) => createDeviceMethod(ctx.cell.method, g, ctx.cell.methodParams, decoder.exec, { fence: fenceCacheOps }),
          })),
          cachePath: 'device',
        }
      : // on the engine, cache 'host' keeps the host method even where a device store exists
        await generateForCell(ctx, prompts, common, { hostCache: cache === 'host' });
    if (ctx.memoryProbe) memory.push(await ctx.memoryProbe());
    if (!warm) runs.push(r);
  }
  const serving = runs.map(servingMetrics);
  const mid = serving.map((s) => s.decodeTokensPerSecond);
  const order = mid.map((v, i) => [v, i] as const).sort((a, b) => a[0] - b[0]);
  const pick = order[(order.length - 1) >> 1]![1];
  const s = serving[pick]!;
  const last = runs[runs.length - 1]!;
  const kvBytes = last.peakKvBytes;
  const metrics: Metrics = {
    kvBytes,
    kvBytesBaseline: last.kvBytesBaseline,
    compressionRatio: last.kvBytesBaseline / Math.max(1, totalBytes(last.bytes)),
    seqLen: last.seqLen,
    kvBytesByComponent: last.bytes,
    decodeTokensPerSecond: median(mid),
    prefillTokensPerSecond: median(serving.map((x) => x.prefillTokensPerSecond)),
    requestsPerSecond: median(serving.map((x) => x.requestsPerSecond)),
    ttftMs: s.ttft.mean,
    tpotMs: s.tpot.mean,
    ttft: s.ttft,
    tpot: s.tpot,
    itl: s.itl,
    e2e: s.e2e,
    // the engine runs a step's cache work inside the step's one command buffer: no separate figure
    ...(last.cachePath === 'engine' ? {} : { cacheOpMsPerStep: median(serving.map((x) => x.cacheOpMsPerStep)) }),
    modelMsPerStep: median(serving.map((x) => x.modelMsPerStep)),
    modelWeightBytes: ctx.backend.model.weightBytes,
    generatedTokens: last.tokens.reduce((a, t) => a + t.length, 0),
    repeats: {
      decodeTokensPerSecond: mid,
      prefillTokensPerSecond: serving.map((x) => x.prefillTokensPerSecond),
      ttftMs: serving.map((x) => x.ttft.mean),
      tpotMs: serving.map((x) => x.tpot.mean),
      ...(last.cachePath === 'engine' ? {} : { cacheOpMsPerStep: serving.map((x) => x.cacheOpMsPerStep) }),
      modelMsPerStep: serving.map((x) => x.modelMsPerStep),
    },
    batch: prompts.length,
    cachePath: last.cachePath,
    ...(decoder ? { cacheOpsFenced: fenceCacheOps } : {}),
    outputTokensPerSecond: median(serving.map((x) => x.outputTokensPerSecond)),
    totalTokensPerSecond: median(serving.map((x) => x.totalTokensPerSecond)),
  };
  // Median decode throughput over repeats with a seeded percentile-bootstrap 95% interval.
  const ci = decodeTpsCi(mid, ctx.cell.seed);
  if (ci) metrics.decodeTokensPerSecondCi = ci;
  const mem = peakOf(memory);
  if (mem.peakRssBytes !== undefined) metrics.peakRssBytes = mem.peakRssBytes;
  if (mem.deviceBytes !== undefined) {
    metrics.deviceMemoryBytes = mem.deviceBytes;
    metrics.deviceMemorySource = mem.deviceSource;
    if (mem.deviceStartBytes !== undefined) metrics.deviceMemoryAtStartBytes = mem.deviceStartBytes;
  }
  if (decoder) Object.assign(metrics, deviceMetrics(last as unknown as DeviceGenerateResult, decoder));
  if (ctx.engine) Object.assign(metrics, engineMetrics(runs, ctx));
  return {
    output: {
      metrics,
      diagnostics: last.diagnostics,
      sampleTokens: last.tokens.slice(0, 8),
      outputs: { tokens: last.tokens },
    },
    last,
  };
}

/**
 * Device-path memory facts: kvBytes is what the device held (tensor bytes); the packed
 * equivalent is the reference accounting of the same state (they differ only where payloads are
 * float32, e.g. SwiftShader without shader-f16). Transients are per-step working memory that a
 * cache restored in full costs on top of its storage: the restore graph's output and the model's
 * present outputs (past + 1 for every layer, fp16).
 */
function deviceMetrics(r: DeviceGenerateResult, decoder: DeviceDecoder): Partial<Metrics> {
  return {
    kvBytes: r.peakHeldBytes,
    kvBytesPackedEquivalent: r.peakPackedBytes,
    kvBytesHeldByComponent: r.bytesHeld,
    kvDeviceDtype: decoder.exec.kv,
    restoreTransientBytes: r.peakRestoreBytes,
    presentTransientBytes: r.presentBytes,
    executionProvider: decoder.executionProvider,
  };
}

/**
 * Engine facts: device bytes the engine allocated, by category, at the cell's peak (weights, the
 * KV store as allocated, scratch), the store's preallocated headroom beyond kvBytes, and steps
 * queued past a stop that the host saw only later.
 */
function engineMetrics(runs: CellGeneration[], ctx: WorkloadContext): Partial<Metrics> {
  const last = runs[runs.length - 1]!;
  const e = last.engine;
  return {
    engine: 'webgpu',
    deviceBytesByCategory: ctx.engine!.ctx.peakByCategory(),
    adapter: ctx.engine!.ctx.adapter,
    ...(e ? { kvHeadroomBytes: e.kvHeadroomBytes, kvStoreAllocatedBytes: totalBytes(e.bytesHeld) + e.kvHeadroomBytes, speculativeSteps: Math.max(...runs.map((r) => r.engine?.speculativeSteps ?? 0)) } : {}),
  };
}

function getDefaults(method: string): Record<string, unknown> {
  return getMethod(method)?.defaults ?? {};
}
