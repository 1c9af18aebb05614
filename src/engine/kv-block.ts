/**
 * The unit of KV data exchanged between the engine and a cache method.
 * Layout of `k` and `v`: [batch, kvHeads, tokens, headDim], float32, row-major.
 * Every sequence of a batch holds the same number of token slots (prompts are left-padded),
 * so one `tokens` count describes the block.
 */
export interface KVBlock {
  k: Float32Array;
  v: Float32Array;
  tokens: number;
}

/** Shape of a model's KV cache, shared by every layer. */
export interface CacheGeometry {
  layers: number;
  batch: number;
  kvHeads: number;
  headDim: number;
}

/** Number of floats one block of `tokens` tokens holds for one of K or V. */
export function blockSize(g: CacheGeometry, tokens: number): number {
  return g.batch * g.kvHeads * tokens * g.headDim;
}

export function allocBlock(g: CacheGeometry, tokens: number): KVBlock {
  const n = blockSize(g, tokens);
  return { k: new Float32Array(n), v: new Float32Array(n), tokens };
}
