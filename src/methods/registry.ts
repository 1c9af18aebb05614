import type { CacheGeometry } from '../engine/kv-block.js';
import { createFp16 } from './fp16.js';
import type { KVCacheMethod, MethodFactory, MethodParams } from './types.js';

export interface MethodEntry {
  /** What the method is, for --help and reports. */
  description: string;
  /** Parameter defaults; suites may override any of them and nothing else. */
  defaults: MethodParams;
  create: MethodFactory;
}

const registry = new Map<string, MethodEntry>();

export function registerMethod(name: string, entry: MethodEntry): void {
  registry.set(name, entry);
}

export function methodNames(): string[] {
  return [...registry.keys()];
}

export function getMethod(name: string): MethodEntry | undefined {
  return registry.get(name);
}

/** Parameters with defaults applied; unknown keys are an error (caught earlier by suite validation). */
export function resolveMethodParams(name: string, params: MethodParams = {}): MethodParams {
  const entry = registry.get(name);
  if (!entry) throw new Error(`unknown method "${name}" (known: ${methodNames().join(', ')})`);
  for (const k of Object.keys(params)) {
    if (!(k in entry.defaults)) throw new Error(`method "${name}" has no parameter "${k}" (known: ${Object.keys(entry.defaults).join(', ') || 'none'})`);
  }
  return { ...entry.defaults, ...params };
}

export function createMethod(name: string, geometry: CacheGeometry, params: MethodParams = {}): KVCacheMethod {
  const entry = registry.get(name);
  if (!entry) throw new Error(`unknown method "${name}" (known: ${methodNames().join(', ')})`);
  return entry.create(geometry, resolveMethodParams(name, params));
}

registerMethod('fp16', {
  description: 'FP16 baseline: every layer stored in fp16',
  defaults: {},
  create: (g) => createFp16(g),
});
