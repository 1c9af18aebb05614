/**
 * Which cache methods the WebGPU engine holds on the device, and how. A method without an entry
 * runs on the engine through the host fallback (EngineBackend: the host method keeps the cache,
 * the past is uploaded every step), which records say (metrics.cachePath 'engine-host').
 */
import { getMethod } from '../methods/registry.js';
import { fp16StoreFactory, type StoreFactory } from './engine.js';
import { kiviDeviceProblem } from './kernels/kivi.js';
import { KiviDeviceStore, type KiviParams } from './kivi-store.js';
import { miniCacheDeviceOptions, MiniCacheDeviceStore } from './minicache-store.js';

/** A method's device store for these parameters, or why there is none (the host path serves it). */
type Entry = (params: Record<string, unknown>, headDim: number) => StoreFactory | string;

const kivi: Entry = (p, headDim) => {
  const k: KiviParams = { bits: p.bits as KiviParams['bits'], groupSize: p.groupSize as number, residual: p.residual as number };
  const why = kiviDeviceProblem({ ...k, headDim });
  return why ?? ((ctx, g) => new KiviDeviceStore(ctx, g, k));
};

const crossLayer =
  (method: string): Entry =>
  (p, headDim) =>
    (ctx, g) => {
      const o = miniCacheDeviceOptions(method, p, { layers: g.layers, headDim });
      if (typeof o === 'string') throw new Error(o);
      return new MiniCacheDeviceStore(ctx, g, o, method);
    };

const STORES: Record<string, Entry> = {
  fp16: () => fp16StoreFactory,
  kivi,
  kivi2: kivi,
  kivi4: kivi,
  minicache: crossLayer('minicache'),
  'minicache+kivi4': crossLayer('minicache+kivi4'),
  'mean-merge': crossLayer('mean-merge'),
};

/** Why a method's parameters keep it off the device, or null. */
function deviceProblem(method: string, p: Record<string, unknown>, headDim: number): string | null {
  if (method === 'minicache' || method === 'minicache+kivi4' || method === 'mean-merge') {
    const o = miniCacheDeviceOptions(method, p, { layers: 1, headDim });
    return typeof o === 'string' ? o : null;
  }
  return null;
}

/** The device store of `method` with its parameters (defaults applied), or undefined: host fallback. */
export function engineStoreFor(method: string, params: Record<string, unknown>, headDim: number): StoreFactory | undefined {
  const entry = STORES[method];
  if (!entry) return undefined;
  const full = { ...getMethod(method)?.defaults, ...params };
  if (deviceProblem(method, full, headDim)) return undefined;
  const r = entry(full, headDim);
  return typeof r === 'string' ? undefined : r;
}

export function engineStoreNames(): string[] {
  return Object.keys(STORES);
}
