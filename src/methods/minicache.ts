import type { CacheGeometry } from '../engine/kv-block.js';
import { CrossLayerMethod } from './cross-layer-method.js';
import { parseMeanMergeParams, parseMiniCacheParams } from './minicache-params.js';
import type { KVCacheMethod, MethodParams } from './types.js';

/** MiniCache (spec §2) over any inner store; `minicache+kivi4` is this with store 'kivi4'. */
export function createMiniCache(name: string, geometry: CacheGeometry, params: MethodParams): KVCacheMethod {
  return new CrossLayerMethod(name, geometry, parseMiniCacheParams(name, geometry, params));
}

/** The paper's "Mean" baseline: each pair stored as its average, no magnitudes, no retention. */
export function createMeanMerge(name: string, geometry: CacheGeometry, params: MethodParams): KVCacheMethod {
  return new CrossLayerMethod(name, geometry, parseMeanMergeParams(name, geometry, params));
}
