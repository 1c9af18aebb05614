/**
 * The WebGPU device for engine tests: the machine's GPU adapter if it has one, else SwiftShader
 * (Debian's chromium ships it; the Vulkan loader comes from libvulkan1). Missing parts fail with
 * what to install, never skip: CI installs both.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseLlama2c, type Llama2cModel } from '../../src/model/llama2c.js';
import type { GpuContext } from '../../src/webgpu/gpu-context.js';
import { WebGpuEngine } from '../../src/webgpu/engine.js';
import { llama2cEngineConfig, llama2cWeightSource } from '../../src/webgpu/sources/llama2c-source.js';
import { nodeGpu } from '../../runners/node/webgpu-device.js';

/** WebGPU errors (validation, out of memory) the device reported; tests assert it stays empty. */
export const gpuErrors: string[] = [];
let listening = false;

export async function gpu(): Promise<GpuContext> {
  try {
    const ctx = await nodeGpu();
    if (!listening) {
      listening = true;
      ctx.device.addEventListener('uncapturederror', (e) => gpuErrors.push((e as GPUUncapturedErrorEvent).error.message));
    }
    return ctx;
  } catch (e) {
    throw new Error(`engine tests need a WebGPU adapter: ${(e as Error).message}. On Debian: apt-get install chromium libvulkan1 (SwiftShader).`);
  }
}

export const EMBEDDED_DIR = fileURLToPath(new URL('../../models/minillama-12l/', import.meta.url));

let embedded: Llama2cModel | undefined;
export function embeddedModel(): Llama2cModel {
  embedded ??= parseLlama2c(new Uint8Array(readFileSync(`${EMBEDDED_DIR}model.bin`)));
  return embedded;
}

export async function embeddedEngine(ctx: GpuContext): Promise<WebGpuEngine> {
  const m = embeddedModel();
  const card = JSON.parse(readFileSync(`${EMBEDDED_DIR}model.json`, 'utf8')) as { name: string; maxContext: number };
  return WebGpuEngine.load(ctx, llama2cEngineConfig(m, { name: card.name, bos: 1, eos: [2], maxContext: card.maxContext }), llama2cWeightSource(m));
}

/** Seeded uniform floats in [-a, a). */
export function randomFloats(n: number, seed: number, a = 1): Float32Array {
  let s = seed >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    out[i] = ((s / 4294967296) * 2 - 1) * a;
  }
  return out;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  if (a.length !== b.length) return Infinity;
  return m;
}

/** Max |a − b| / max(1, max |b|): tolerance relative to the output's scale. */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let scale = 1;
  for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i]!));
  return maxAbsDiff(a, b) / scale;
}
