import type { CellSpec } from './record.js';
import { canonicalJson, hash64 } from './canonical-json.js';

/**
 * Workload parameters that say where data lives, not what it is. A cell that carries the content
 * hash of its data (CellSpec.data) is identified by that hash instead, so a moved data folder
 * resumes and shards that read the data from different paths merge.
 */
export const LOCATION_PARAMS: readonly string[] = ['dataDir'];

/** Workload parameters without the location ones, when the data is identified by content. */
export function identityParams(params: Record<string, unknown>, identifiedByContent: boolean): Record<string, unknown> {
  if (!identifiedByContent) return params;
  const out = { ...params };
  for (const k of LOCATION_PARAMS) delete out[k];
  return out;
}

/**
 * The cell as it is identified: its spec, with data known by content instead of by path, and the
 * default engine (onnxruntime) left out, so cells planned before engines existed keep their ids.
 */
export function cellIdentity(cell: CellSpec): CellSpec {
  const { engine, ...rest } = cell;
  const base: CellSpec = engine === undefined || engine === 'onnxruntime' ? rest : cell;
  return base.data === undefined ? base : { ...base, workloadParams: identityParams(base.workloadParams, true) };
}

/** Deterministic id of a cell: the hash of its resolved spec (data by content). Resume, shard and merge key on it. */
export function cellId(cell: CellSpec): string {
  return hash64(canonicalJson(cellIdentity(cell)));
}
