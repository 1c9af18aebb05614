/**
 * Parser for llama2.c checkpoints (legacy "v0" layout: no magic number).
 *
 * Header: 7 × int32 = dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len;
 * a negative vocab_size means the classifier is NOT tied to the token embedding.
 * Then the weight arrays (all matrices [out, in]) in a fixed order. Two element types:
 *  - float32 (karpathy's export): after rms_final come seq_len*head_dim floats of RoPE
 *    tables (ignored here: RoPE is computed in the graph), then wcls when untied;
 *  - float16 (this project's own export): same order, IEEE binary16, no RoPE tables.
 * float16 weights are upcast to float32 here; float32 weights are zero-copy views when aligned.
 */
import { decodeHalf } from '../kernels/half.js';

export interface Llama2cConfig {
  dim: number;
  hiddenDim: number;
  layers: number;
  heads: number;
  kvHeads: number;
  vocabSize: number;
  /** Training context length. */
  seqLen: number;
  headDim: number;
  tiedClassifier: boolean;
}

/** Flat float32 arrays; per-layer tensors are stacked along a leading [layers] axis. */
export interface Llama2cWeights {
  tokenEmbedding: Float32Array; // [vocab, dim]
  rmsAtt: Float32Array; // [L, dim]
  wq: Float32Array; // [L, dim, dim]
  wk: Float32Array; // [L, kvDim, dim]
  wv: Float32Array; // [L, kvDim, dim]
  wo: Float32Array; // [L, dim, dim]
  rmsFfn: Float32Array; // [L, dim]
  w1: Float32Array; // [L, hidden, dim]
  w2: Float32Array; // [L, dim, hidden]
  w3: Float32Array; // [L, hidden, dim]
  rmsFinal: Float32Array; // [dim]
  /** [vocab, dim]; null when tied to tokenEmbedding. */
  wcls: Float32Array | null;
}

export type Llama2cDtype = 'float32' | 'float16';

export interface Llama2cModel {
  config: Llama2cConfig;
  weights: Llama2cWeights;
  /** Element type of the file (weights are float32 in memory either way). */
  fileDtype: Llama2cDtype;
  /** Number of weight parameters (classifier counted once when tied). */
  paramCount: number;
}

export interface Llama2cOptions {
  /** 'auto' (default) picks the layout whose size matches the file exactly. */
  dtype?: Llama2cDtype | 'auto';
}

const HEADER_BYTES = 7 * 4;

/** Element counts of the arrays, in file order (RoPE tables and wcls placed per dtype). */
function layout(c: Llama2cConfig, dtype: Llama2cDtype): [keyof Llama2cWeights | 'rope', number][] {
  const { dim, hiddenDim: h, layers: L, vocabSize: V, headDim } = c;
  const kvDim = c.kvHeads * headDim;
  const parts: [keyof Llama2cWeights | 'rope', number][] = [
    ['tokenEmbedding', V * dim],
    ['rmsAtt', L * dim],
    ['wq', L * dim * dim],
    ['wk', L * kvDim * dim],
    ['wv', L * kvDim * dim],
    ['wo', L * dim * dim],
    ['rmsFfn', L * dim],
    ['w1', L * h * dim],
    ['w2', L * dim * h],
    ['w3', L * h * dim],
    ['rmsFinal', dim],
  ];
  if (dtype === 'float32') parts.push(['rope', c.seqLen * headDim]);
  if (!c.tiedClassifier) parts.push(['wcls', V * dim]);
  return parts;
}

function expectedBytes(c: Llama2cConfig, dtype: Llama2cDtype): number {
  const n = layout(c, dtype).reduce((a, [, k]) => a + k, 0);
  return HEADER_BYTES + n * (dtype === 'float32' ? 4 : 2);
}

export function readLlama2cConfig(bytes: Uint8Array): Llama2cConfig {
  if (bytes.byteLength < HEADER_BYTES) throw new Error(`llama2.c checkpoint: ${bytes.byteLength} bytes is shorter than the 28-byte header`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, HEADER_BYTES);
  const h = Array.from({ length: 7 }, (_, i) => dv.getInt32(i * 4, true));
  const [dim, hiddenDim, layers, heads, kvHeads, vocab, seqLen] = h as [number, number, number, number, number, number, number];
  const c: Llama2cConfig = {
    dim,
    hiddenDim,
    layers,
    heads,
    kvHeads,
    vocabSize: Math.abs(vocab),
    seqLen,
    headDim: heads > 0 ? dim / heads : NaN,
    tiedClassifier: vocab > 0,
  };
  const bad =
    [dim, hiddenDim, layers, heads, kvHeads, seqLen].some((x) => !(x > 0 && x < 1 << 20)) ||
    c.vocabSize === 0 ||
    !Number.isInteger(c.headDim) ||
    heads % kvHeads !== 0;
  if (bad) throw new Error(`llama2.c checkpoint: implausible header [${h.join(', ')}] (dim, hidden, layers, heads, kv_heads, vocab, seq_len); is this a llama2.c v0 file?`);
  return c;
}

export function parseLlama2c(data: ArrayBuffer | Uint8Array, opts: Llama2cOptions = {}): Llama2cModel {
  const bytes = data instanceof Uint8Array ? data : new Uint8Array(data);
  const config = readLlama2cConfig(bytes);
  const want = opts.dtype ?? 'auto';
  const sizes = { float32: expectedBytes(config, 'float32'), float16: expectedBytes(config, 'float16') };
  let dtype: Llama2cDtype;
  if (want === 'auto') {
    const match = (['float32', 'float16'] as const).find((d) => sizes[d] === bytes.byteLength);
    if (!match) {
      throw new Error(
        `llama2.c checkpoint: ${bytes.byteLength} bytes matches neither layout for this header (float32 with RoPE tables: ${sizes.float32}, float16: ${sizes.float16})`,
      );
    }
    dtype = match;
  } else {
    dtype = want;
    if (sizes[dtype] !== bytes.byteLength) {
      throw new Error(`llama2.c checkpoint: ${bytes.byteLength} bytes, but a ${dtype} file with this header has ${sizes[dtype]}`);
    }
  }

  const parts = layout(config, dtype);
  const total = parts.reduce((a, [, n]) => a + n, 0);
  const payload = bytes.subarray(HEADER_BYTES);
  let floats: Float32Array;
  if (dtype === 'float32') {
    const aligned = payload.byteOffset % 4 === 0;
    floats = aligned
      ? new Float32Array(payload.buffer, payload.byteOffset, total)
      : new Float32Array(payload.slice(0, total * 4).buffer);
  } else {
    const src = payload.byteOffset % 2 === 0 ? new Uint16Array(payload.buffer, payload.byteOffset, total) : new Uint16Array(payload.slice(0, total * 2).buffer);
    floats = new Float32Array(total);
    decodeHalf(src, floats);
  }

  const w: Partial<Record<keyof Llama2cWeights, Float32Array>> = {};
  let off = 0;
  for (const [name, n] of parts) {
    if (name !== 'rope') w[name] = floats.subarray(off, off + n);
    off += n;
  }
  const weights = { ...(w as Omit<Llama2cWeights, 'wcls'>), wcls: w.wcls ?? null } as Llama2cWeights;
  const ropeFloats = dtype === 'float32' ? config.seqLen * config.headDim : 0;
  return { config, weights, fileDtype: dtype, paramCount: total - ropeFloats };
}
