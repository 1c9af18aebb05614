/**
 * Moves between the cache layout [B, H, T, D] and the token-major layout [B, T, H·D], in which
 * one row is one token with all its KV heads concatenated (MiniCache's `granularity: 'token'`).
 */
export function headsToTokens(src: Float32Array, batch: number, heads: number, tokens: number, headDim: number, dst: Float32Array): void {
  const width = heads * headDim;
  for (let b = 0; b < batch; b++) {
    for (let h = 0; h < heads; h++) {
      const s0 = (b * heads + h) * tokens * headDim;
      for (let i = 0; i < tokens; i++) {
        dst.set(src.subarray(s0 + i * headDim, s0 + (i + 1) * headDim), (b * tokens + i) * width + h * headDim);
      }
    }
  }
}

export function tokensToHeads(src: Float32Array, batch: number, heads: number, tokens: number, headDim: number, dst: Float32Array): void {
  const width = heads * headDim;
  for (let b = 0; b < batch; b++) {
    for (let h = 0; h < heads; h++) {
      const d0 = (b * heads + h) * tokens * headDim;
      for (let i = 0; i < tokens; i++) {
        const s = (b * tokens + i) * width + h * headDim;
        dst.set(src.subarray(s, s + headDim), d0 + i * headDim);
      }
    }
  }
}
