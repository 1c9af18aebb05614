/** Writes llama2.c checkpoints in code, for tests of the parser and builder (float32 v0 or the project's float16). */
import { encodeHalf } from '../../src/kernels/half.js';
import type { Llama2cConfig, Llama2cWeights } from '../../src/model/llama2c.js';

const ORDER: (keyof Llama2cWeights)[] = ['tokenEmbedding', 'rmsAtt', 'wq', 'wk', 'wv', 'wo', 'rmsFfn', 'w1', 'w2', 'w3', 'rmsFinal'];

export function writeLlama2c(c: Llama2cConfig, w: Llama2cWeights, dtype: 'float32' | 'float16'): Uint8Array {
  const arrays = ORDER.map((k) => w[k] as Float32Array);
  if (dtype === 'float32') arrays.push(new Float32Array(c.seqLen * c.headDim)); // RoPE tables (unused)
  if (!c.tiedClassifier) arrays.push(w.wcls!);
  const n = arrays.reduce((a, x) => a + x.length, 0);
  const el = dtype === 'float32' ? 4 : 2;
  const out = new Uint8Array(28 + n * el);
  const header = new Int32Array(out.buffer, 0, 7);
  header.set([c.dim, c.hiddenDim, c.layers, c.heads, c.kvHeads, c.tiedClassifier ? c.vocabSize : -c.vocabSize, c.seqLen]);
  let off = 28;
  for (const a of arrays) {
    if (dtype === 'float32') new Float32Array(out.buffer, off, a.length).set(a);
    else encodeHalf(a, new Uint16Array(out.buffer, off, a.length));
    off += a.length * el;
  }
  return out;
}

/** Deterministic small random weights (xorshift) for a given geometry. */
export function randomWeights(c: Llama2cConfig, seed = 1): Llama2cWeights {
  let s = seed >>> 0 || 1;
  const rnd = () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return ((s >>> 0) / 2 ** 32 - 0.5) * 0.1;
  };
  const f = (n: number, fill?: number) => Float32Array.from({ length: n }, () => fill ?? rnd());
  const { dim, hiddenDim: h, layers: L, vocabSize: V } = c;
  const kv = c.kvHeads * c.headDim;
  return {
    tokenEmbedding: f(V * dim),
    rmsAtt: f(L * dim, 1),
    wq: f(L * dim * dim),
    wk: f(L * kv * dim),
    wv: f(L * kv * dim),
    wo: f(L * dim * dim),
    rmsFfn: f(L * dim, 1),
    w1: f(L * h * dim),
    w2: f(L * dim * h),
    w3: f(L * h * dim),
    rmsFinal: f(dim, 1),
    wcls: c.tiedClassifier ? null : f(V * dim),
  };
}
