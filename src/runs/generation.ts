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

export async function generateForCell(ctx: WorkloadContext, prompts: number[][], opts: Omit<GenerateOptions, 'createMethod'>, how: { hostCache?: boolean } = {}): Promise<CellGeneration> {
  if (ctx.engine) {
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
