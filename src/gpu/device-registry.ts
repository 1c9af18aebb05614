/**
 * Device-resident versions of the registry's methods, from the same names and parameters
 * (defaults and validation come from src/methods/registry.ts, so a suite cell means the same
 * method on both paths). Methods without a device version say so.
 */
import type { CacheGeometry } from '../engine/kv-block.js';
import { parseMiniCacheParams } from '../methods/minicache-params.js';
import { resolveMethodParams } from '../methods/registry.js';
import type { MethodParams } from '../methods/types.js';
import type { DeviceCacheMethod, GraphExec } from './device-types.js';
import { kiviFactory, LayeredDeviceMethod, plainFactory, type StreamFactory } from './layered-device-method.js';
import { MiniCacheDeviceMethod } from './minicache-device.js';

export const DEVICE_METHODS = ['fp16', 'kivi', 'kivi2', 'kivi4', 'minicache', 'minicache+kivi4'] as const;

export interface DeviceMethodOptions {
  /** Make each cache op wait for its device work, so its time is measured as its own (see OpCache). */
  fence?: boolean;
  /** Largest full-size tensor a restore chunk may make (default CHUNK_BYTES; tests lower it to exercise chunking). */
  chunkBytes?: number;
}

function bitsOf(v: unknown): 2 | 4 | 8 {
  if (v === 2 || v === 4 || v === 8) return v;
  throw new Error(`bits must be 2, 4 or 8, got ${String(v)}`);
}

function storeFactory(name: string, store: string, p: MethodParams, exec: GraphExec): StreamFactory {
  if (store === 'fp16') return plainFactory(exec.kv);
  const m = /^kivi(2|4|8)$/.exec(store);
  if (!m) throw new Error(`${name}: store "${store}" has no device version (fp16, kivi2, kivi4, kivi8)`);
  return kiviFactory(exec.kv, { bits: bitsOf(Number(m[1])), groupSize: p.groupSize as number, residual: p.residual as number });
}

export function hasDeviceMethod(name: string): boolean {
  return (DEVICE_METHODS as readonly string[]).includes(name);
}

export function createDeviceMethod(name: string, geometry: CacheGeometry, params: MethodParams, exec: GraphExec, opts: DeviceMethodOptions = {}): DeviceCacheMethod {
  const fence = opts.fence ?? false;
  if (!hasDeviceMethod(name)) throw new Error(`method "${name}" has no device-resident version (device methods: ${DEVICE_METHODS.join(', ')}); run it with cache: host`);
  const p = resolveMethodParams(name, params);
  const scope = JSON.stringify([name, p, geometry.layers, geometry.batch, geometry.kvHeads, geometry.headDim]);
  if (name === 'fp16') return new LayeredDeviceMethod(name, geometry, exec, plainFactory(exec.kv), fence, scope, opts.chunkBytes);
  if (name.startsWith('kivi')) {
    if (p.keyBits != null || p.valueBits != null) throw new Error(`${name}: separate keyBits/valueBits are not implemented on the device path`);
    const factory = kiviFactory(exec.kv, { bits: bitsOf(p.bits), groupSize: p.groupSize as number, residual: p.residual as number });
    return new LayeredDeviceMethod(name, geometry, exec, factory, fence, scope, opts.chunkBytes);
  }
  const options = parseMiniCacheParams(name, geometry, p);
  return new MiniCacheDeviceMethod(name, geometry, exec, options, storeFactory(name, options.storeName, p, exec), fence, scope, opts.chunkBytes);
}
