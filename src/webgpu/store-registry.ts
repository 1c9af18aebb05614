/**
 * Which cache methods the WebGPU engine holds on the device, and how. A method without an entry
 * runs on the engine through the host fallback (EngineBackend: the host method keeps the cache,
 * the past is uploaded every step), which records say (metrics.cachePath 'engine-host').
 */
import { fp16StoreFactory, type StoreFactory } from './engine.js';

const STORES: Record<string, (params: Record<string, unknown>) => StoreFactory> = {
  fp16: () => fp16StoreFactory,
};

export function engineStoreFor(method: string, params: Record<string, unknown>): StoreFactory | undefined {
  return STORES[method]?.(params);
}

export function engineStoreNames(): string[] {
  return Object.keys(STORES);
}
