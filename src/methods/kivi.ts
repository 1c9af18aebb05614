import type { CacheGeometry } from '../engine/kv-block.js';
import { KiviStore, kiviOptionsProblem } from './kivi-store.js';
import { LayeredStoreMethod } from './layered-store-method.js';
import { RtnStore, rtnOptionsProblem } from './rtn-store.js';
import type { KVCacheMethod, MethodDiagnostics, MethodParams } from './types.js';
import type { QuantBits } from '../kernels/quantize.js';

/** KIVI: every layer's keys and values in their own KiviStore; diagnostics give the residual lengths. */
class KiviMethod extends LayeredStoreMethod {
  override diagnostics(): MethodDiagnostics {
    const k = this.keys[0] as KiviStore | undefined;
    const v = this.values[0] as KiviStore | undefined;
    return k && v ? { residual: { keys: k.residualLength, values: v.residualLength } } : {};
  }
}

/** params: bits (2|4|8), keyBits / valueBits (null → bits), groupSize, residual. */
export function createKivi(name: string, geometry: CacheGeometry, params: MethodParams): KVCacheMethod {
  const bits = params.bits;
  const keyBits = (params.keyBits ?? bits) as QuantBits;
  const valueBits = (params.valueBits ?? bits) as QuantBits;
  const groupSize = params.groupSize as number;
  const residual = params.residual as number;
  for (const [label, b] of [['keyBits', keyBits], ['valueBits', valueBits]] as const) {
    const problem = kiviOptionsProblem({ bits: b, groupSize, residual }, geometry.headDim);
    // A bits problem names the parameter that set these bits; group size and residual name themselves.
    const param = problem?.param !== 'bits' ? problem?.param : params[label] == null ? 'bits' : label;
    if (problem) throw new Error(`${name}: ${param}: ${problem.message}`);
  }
  return new KiviMethod(name, geometry, (shape, role, heap) =>
    new KiviStore(shape, role, { bits: role === 'key' ? keyBits : valueBits, groupSize, residual }, heap),
  );
}

/** params: bits, groupSize (per-token groups along channels for keys and values). */
export function createRtn(name: string, geometry: CacheGeometry, params: MethodParams): KVCacheMethod {
  const opts = { bits: params.bits as QuantBits, groupSize: params.groupSize as number };
  const problem = rtnOptionsProblem(opts, geometry.headDim);
  if (problem) throw new Error(`${name}: ${problem}`);
  return new LayeredStoreMethod(name, geometry, (shape, role, heap) => new RtnStore(shape, role, opts, heap));
}
