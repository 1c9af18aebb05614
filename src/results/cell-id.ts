import type { CellSpec } from './record.js';
import { canonicalJson, hash64 } from './canonical-json.js';

/** Deterministic id of a cell: the hash of its resolved spec. Resume, shard and merge key on it. */
export function cellId(cell: CellSpec): string {
  return hash64(canonicalJson(cell));
}
