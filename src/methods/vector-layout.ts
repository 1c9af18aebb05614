/**
 * How MiniCache cuts a [B, H, n, D] stream into state vectors (spec §2.2):
 *  - 'head' (default): one vector per (sequence, head, token), width D; a retention scope is
 *    one (sequence, head), so scopes = B·H and the cache layout is already [scope, n, width];
 *  - 'token': all heads of a token concatenated, width H·D; a scope is one sequence.
 */
export type Granularity = 'head' | 'token';

export interface VectorLayout {
  granularity: Granularity;
  batch: number;
  heads: number;
  headDim: number;
  /** Retention scopes (B·H or B). */
  scopes: number;
  /** Floats per state vector (D or H·D). */
  width: number;
}

export function vectorLayout(granularity: Granularity, batch: number, heads: number, headDim: number): VectorLayout {
  return granularity === 'head'
    ? { granularity, batch, heads, headDim, scopes: batch * heads, width: headDim }
    : { granularity, batch, heads, headDim, scopes: batch, width: heads * headDim };
}

/** Offset in a [B, H, n, D] array of the part of vector (scope, token) that belongs to its k-th head. */
export function vectorPartOffset(layout: VectorLayout, scope: number, token: number, part: number, n: number): number {
  const { heads, headDim } = layout;
  const row = layout.granularity === 'head' ? scope : scope * heads + part;
  return (row * n + token) * headDim;
}

/** Heads a vector spans (1 or H). */
export function partsPerVector(layout: VectorLayout): number {
  return layout.granularity === 'head' ? 1 : layout.heads;
}
