import type { CacheGeometry } from '../engine/kv-block.js';
import { RETENTION_MODES, type RetentionMode } from '../kernels/retention.js';
import { defaultStartLayer } from './layer-pairs.js';
import type { DecodeRetention, MergeRule } from './merged-stream.js';
import { storeFactory } from './store-choice.js';
import type { MethodParams, StoreFactory } from './types.js';
import type { Granularity } from './vector-layout.js';

/** Registry defaults of `minicache` (spec decisions 1–5, 7); `minicache+kivi4` only changes `store`. */
export const MINICACHE_DEFAULTS = {
  /** null → floor(L/2). */
  startLayer: null,
  t: 0.6,
  gamma: 0.05,
  retentionMode: 'distinctBand',
  /** Fraction kept by retentionMode 'topRatio'. */
  retentionRatio: 0.05,
  decodeRetention: 'threshold',
  granularity: 'head',
  /** sin Ω below which a pair with cos < 0 counts as antiparallel and is always retained. */
  antiparallelEps: 0.01,
  /** Store of unmerged layers and merged directions: fp16 | kivi2 | kivi4 | kivi8 | rtn2 | rtn4 | rtn8. */
  store: 'fp16',
  /** KIVI/RTN group size and KIVI residual length, used when `store` quantizes. */
  groupSize: 32,
  residual: 128,
} as const satisfies MethodParams;

export const MEAN_MERGE_DEFAULTS = {
  startLayer: null,
  store: 'fp16',
  groupSize: 32,
  residual: 128,
} as const satisfies MethodParams;

/** Everything a cross-layer method needs, validated. */
export interface CrossLayerOptions {
  merge: MergeRule;
  startLayer: number;
  t: number;
  antiparallelEps: number;
  retention: { mode: RetentionMode; gamma: number; ratio: number };
  decodeRetention: DecodeRetention;
  granularity: Granularity;
  storeName: string;
  store: StoreFactory;
}

function fail(method: string, field: string, expected: string, got: unknown): never {
  throw new Error(`${method}: parameter ${field}: expected ${expected}, got ${JSON.stringify(got)}`);
}

function unitInterval(method: string, field: string, v: unknown): number {
  if (typeof v !== 'number' || !(v >= 0 && v <= 1)) fail(method, field, 'a number in [0, 1]', v);
  return v;
}

function oneOf<T extends string>(method: string, field: string, v: unknown, allowed: readonly T[]): T {
  if (!allowed.includes(v as T)) fail(method, field, `one of ${allowed.join(', ')}`, v);
  return v as T;
}

function startLayerOf(method: string, g: CacheGeometry, v: unknown): number {
  if (v === null || v === undefined) return defaultStartLayer(g.layers);
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > g.layers) fail(method, 'startLayer', `null or an integer in 0…${g.layers}`, v);
  return v;
}

function storeOf(method: string, g: CacheGeometry, p: MethodParams): StoreFactory {
  try {
    return storeFactory({ store: String(p.store), groupSize: p.groupSize as number, residual: p.residual as number }, g.headDim);
  } catch (e) {
    throw new Error(`${method}: ${(e as Error).message}`);
  }
}

export function parseMiniCacheParams(method: string, g: CacheGeometry, p: MethodParams): CrossLayerOptions {
  const antiparallelEps = p.antiparallelEps;
  if (typeof antiparallelEps !== 'number' || !(antiparallelEps >= 0 && antiparallelEps < 1)) fail(method, 'antiparallelEps', 'a number in [0, 1)', antiparallelEps);
  return {
    merge: 'slerp',
    startLayer: startLayerOf(method, g, p.startLayer),
    t: unitInterval(method, 't', p.t),
    antiparallelEps,
    retention: {
      mode: oneOf(method, 'retentionMode', p.retentionMode, RETENTION_MODES),
      gamma: unitInterval(method, 'gamma', p.gamma),
      ratio: unitInterval(method, 'retentionRatio', p.retentionRatio),
    },
    decodeRetention: oneOf(method, 'decodeRetention', p.decodeRetention, ['threshold', 'none'] as const),
    granularity: oneOf(method, 'granularity', p.granularity, ['head', 'token'] as const),
    storeName: String(p.store),
    store: storeOf(method, g, p),
  };
}

export function parseMeanMergeParams(method: string, g: CacheGeometry, p: MethodParams): CrossLayerOptions {
  return {
    merge: 'mean',
    startLayer: startLayerOf(method, g, p.startLayer),
    t: 0.5,
    antiparallelEps: 0,
    retention: { mode: 'distinctBand', gamma: 0, ratio: 0 },
    decodeRetention: 'none',
    granularity: 'head',
    storeName: String(p.store),
    store: storeOf(method, g, p),
  };
}
