import type { CacheGeometry } from '../engine/kv-block.js';
import { Fp16Store } from './fp16-store.js';
import { LayeredStoreMethod } from './layered-store-method.js';
import type { KVCacheMethod } from './types.js';

/** The baseline: every layer's K and V stored as fp16, two bytes per element. */
export function createFp16(geometry: CacheGeometry): KVCacheMethod {
  return new LayeredStoreMethod('fp16', geometry, (shape, role, heap) => new Fp16Store(shape, role, heap));
}
