/**
 * One generation for a cell, wherever the cell runs: on the WebGPU engine's device store when the
 * engine holds the cell's method there, on the engine through the host method otherwise (the
 * method keeps the cache on the host, the engine runs the model: slow, recorded as such), or on
 * the cell's onnxruntime backend with the host method (the default engine).
 */
import { generate, type GenerateOptions, type GenerateResult } from '../engine/generate.js';
import { generateOnEngine, type EngineGenerateResult } from '../webgpu/generate-engine.js';
import { engineStoreFor } from '../webgpu/store-registry.js';
import type { WorkloadContext } from './workload.js';

/** Where a cell's cache lived: host (JS stores, onnxruntime), device (onnxruntime graphs on a GPU EP), engine (a WGSL store), engine-host (host stores, the engine running the model). */
export type CachePath = 'host' | 'device' | 'engine' | 'engine-host';

export type CellGeneration = GenerateResult & { cachePath: CachePath; engine?: EngineGenerateResult };

/**
 * Mistral attends over a sliding window of its last `sliding_window` tokens; the engine attends
 * over the whole context, which is the same only while prompt + output fit the window. A longer
 * generation is refused rather than run with attention the model was not trained with.
 */
export function checkSlidingWindow(window: number | undefined, prompts: readonly number[][], maxNewTokens: number | readonly number[]): void {
  if (window === undefined) return;
  const longest = Math.max(0, ...prompts.map((p, i) => p.length + (typeof maxNewTokens === 'number' ? maxNewTokens : (maxNewTokens[i] ?? 0))));
  if (longest > window) {
    throw new Error(`this model attends over a sliding window of ${window} tokens (config.json sliding_window), and the engine has no windowed attention: prompt + output reach ${longest} tokens; use shorter prompts or outputs (at most ${window} in all)`);
  }
}

export async function generateForCell(ctx: WorkloadContext, prompts: number[][], opts: Omit<GenerateOptions, 'createMethod'>, how: { hostCache?: boolean } = {}): Promise<CellGeneration> {
  if (ctx.engine) {
    checkSlidingWindow(ctx.engine.config.slidingWindow, prompts, opts.maxNewTokens);
    const store = how.hostCache ? undefined : engineStoreFor(ctx.cell.method, ctx.cell.methodParams, ctx.engine.config.headDim);
    if (store) {
      const r = await generateOnEngine(ctx.engine, prompts, { ...opts, store });
      return { ...r, cachePath: 'engine', engine: r };
    }
    const r = await generate(ctx.backend, prompts, { ...opts, createMethod: ctx.createMethod });
    return { ...r, cachePath: 'engine-host' };
  }
  const r = await generate(ctx.backend, prompts, { ...opts, createMethod: ctx.createMethod });
  return { ...r, cachePath: 'host' };
}
