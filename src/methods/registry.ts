import type { CacheGeometry } from '../engine/kv-block.js';
import { createFp16 } from './fp16.js';
import { createKivi, createRtn } from './kivi.js';
import { createMeanMerge, createMiniCache } from './minicache.js';
import { MEAN_MERGE_DEFAULTS, MINICACHE_DEFAULTS } from './minicache-params.js';
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

// ── Compression methods (issue 4) ──────────────────────────────────────────────────────────
const KIVI_DEFAULTS = { bits: 2, keyBits: null, valueBits: null, groupSize: 32, residual: 128 };

registerMethod('kivi', {
  description: 'KIVI: per-channel key / per-token value quantization with an fp16 residual window (spec §3)',
  defaults: KIVI_DEFAULTS,
  create: (g, p) => createKivi('kivi', g, p),
});
registerMethod('kivi2', {
  description: 'KIVI-2: 2-bit keys and values, group 32, residual 128',
  defaults: { ...KIVI_DEFAULTS, bits: 2 },
  create: (g, p) => createKivi('kivi2', g, p),
});
registerMethod('kivi4', {
  description: 'KIVI-4: 4-bit keys and values, group 32, residual 128',
  defaults: { ...KIVI_DEFAULTS, bits: 4 },
  create: (g, p) => createKivi('kivi4', g, p),
});
registerMethod('rtn', {
  description: "Round-to-nearest of every token (per-token groups along channels, no residual): the paper's RTN row",
  defaults: { bits: 4, groupSize: 32 },
  create: (g, p) => createRtn('rtn', g, p),
});
registerMethod('minicache', {
  description: 'MiniCache: SLERP cross-layer merging of adjacent layer pairs from the start layer, with token retention (spec §2)',
  defaults: { ...MINICACHE_DEFAULTS },
  create: (g, p) => createMiniCache('minicache', g, p),
});
registerMethod('minicache+kivi4', {
  description: '"4-bit MiniCache": MiniCache with unmerged layers and merged directions in KIVI-4 (group 32, residual 128)',
  defaults: { ...MINICACHE_DEFAULTS, store: 'kivi4' },
  create: (g, p) => createMiniCache('minicache+kivi4', g, p),
});
registerMethod('mean-merge', {
  description: "Mean merging: each layer pair from the start layer stored as its average (the paper's Mean baseline)",
  defaults: { ...MEAN_MERGE_DEFAULTS },
  create: (g, p) => createMeanMerge('mean-merge', g, p),
});
