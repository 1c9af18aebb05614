/**
 * Which cache methods the WebGPU engine holds on the device, and how. A method without an entry
 * runs on the engine through the host fallback (EngineBackend: the host method keeps the cache,
 * the past is uploaded every step), which records say (metrics.cachePath 'engine-host').
 */
import { getMethod } from '../methods/registry.js';
import { fp16StoreFactory, type StoreFactory } from './engine.js';
import { kiviDeviceProblem } from './kernels/kivi.js';
import { KiviDeviceStore, type KiviParams } from './kivi-store.js';

/** A method's device store for these parameters, or why there is none (the host path serves it). */
type Entry = (params: Record<string, unknown>, headDim: number) => StoreFactory | string;

const kivi: Entry = (p, headDim) => {
  const k: KiviParams = { bits: p.bits as KiviParams['bits'], groupSize: p.groupSize as number, residual: p.residual as number };
  const why = kiviDeviceProblem({ ...k, headDim });
  return why ?? ((ctx, g) => new KiviDeviceStore(ctx, g, k));
};

const STORES: Record<string, Entry> = {
  fp16: () => fp16StoreFactory,
  kivi,
  kivi2: kivi,
  kivi4: kivi,
};

/** The device store of `method` with its parameters (defaults applied), or undefined: host fallback. */
export function engineStoreFor(method: string, params: Record<string, unknown>, headDim: number): StoreFactory | undefined {
  const entry = STORES[method];
  if (!entry) return undefined;
  const r = entry({ ...getMethod(method)?.defaults, ...params }, headDim);
  return typeof r === 'string' ? undefined : r;
}

export function engineStoreNames(): string[] {
  return Object.keys(STORES);
}
