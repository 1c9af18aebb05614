import { Fp16Store } from './fp16-store.js';
import { KiviStore, kiviOptionsProblem } from './kivi-store.js';
import { RtnStore, rtnOptionsProblem } from './rtn-store.js';
import type { StoreFactory } from './types.js';
import type { QuantBits } from '../kernels/quantize.js';

/**
 * Names of the stores a composed method (MiniCache, mean-merge) can keep its tensors in:
 * 'fp16', 'kivi2' | 'kivi4' | 'kivi8' (KIVI with groupSize/residual), 'rtn2' | 'rtn4' | 'rtn8'.
 */
export type StoreName = 'fp16' | `kivi${QuantBits}` | `rtn${QuantBits}`;

export interface StoreChoice {
  store: string;
  groupSize: number;
  residual: number;
}

const STORE_NAME = /^(fp16|kivi|rtn)(2|4|8)?$/;

/** A StoreFactory for the named store, or throws with what is wrong. */
export function storeFactory(choice: StoreChoice, headDim: number): StoreFactory {
  const m = STORE_NAME.exec(choice.store);
  const kind = m?.[1];
  const bits = m?.[2] ? (Number(m[2]) as QuantBits) : undefined;
  if (!m || (kind === 'fp16') !== (bits === undefined)) {
    throw new Error(`store must be one of fp16, kivi2, kivi4, kivi8, rtn2, rtn4, rtn8; got "${choice.store}"`);
  }
  if (kind === 'fp16') return (shape, role, heap) => new Fp16Store(shape, role, heap);
  if (kind === 'kivi') {
    const opts = { bits: bits!, groupSize: choice.groupSize, residual: choice.residual };
    const problem = kiviOptionsProblem(opts, headDim);
    if (problem) throw new Error(`store ${choice.store}: ${problem.param}: ${problem.message}`);
    return (shape, role, heap) => new KiviStore(shape, role, opts, heap);
  }
  const opts = { bits: bits!, groupSize: choice.groupSize };
  const problem = rtnOptionsProblem(opts, headDim);
  if (problem) throw new Error(`store ${choice.store}: ${problem}`);
  return (shape, role, heap) => new RtnStore(shape, role, opts, heap);
}
