/**
 * A llama2.c checkpoint (already parsed) as the engine's weight source and model config.
 * llama2.c rotates interleaved channel pairs, so the engine's RoPE runs in that layout.
 */
import type { Llama2cModel } from '../../model/llama2c.js';
import { llamaInvFreq } from '../kernels/rope.js';
import type { EngineModelConfig, GlobalTensor, LayerTensor, WeightSource } from '../model.js';

export function llama2cEngineConfig(m: Llama2cModel, card: { name: string; bos: number; eos: number[]; maxContext?: number; ropeTheta?: number; rmsEps?: number }): EngineModelConfig {
  const c = m.config;
  return {
    name: card.name,
    dim: c.dim,
    hiddenDim: c.hiddenDim,
    layers: c.layers,
    heads: c.heads,
    kvHeads: c.kvHeads,
    headDim: c.headDim,
    vocabSize: c.vocabSize,
    maxContext: card.maxContext ?? c.seqLen,
    rmsEps: card.rmsEps ?? 1e-5,
    ropeLayout: 'interleaved',
    invFreq: llamaInvFreq(c.headDim, card.ropeTheta ?? 10000),
    tiedClassifier: c.tiedClassifier,
    bos: card.bos,
    eos: card.eos,
  };
}

export function llama2cWeightSource(m: Llama2cModel): WeightSource {
  const c = m.config;
  const w = m.weights;
  const kvDim = c.kvHeads * c.headDim;
  const sizes: Record<LayerTensor, number> = {
    attnNorm: c.dim,
    wq: c.dim * c.dim,
    wk: kvDim * c.dim,
    wv: kvDim * c.dim,
    wo: c.dim * c.dim,
    ffnNorm: c.dim,
    w1: c.hiddenDim * c.dim,
    w2: c.dim * c.hiddenDim,
    w3: c.hiddenDim * c.dim,
  };
  const stacked: Record<LayerTensor, Float32Array> = {
    attnNorm: w.rmsAtt,
    wq: w.wq,
    wk: w.wk,
    wv: w.wv,
    wo: w.wo,
    ffnNorm: w.rmsFfn,
    w1: w.w1,
    w2: w.w2,
    w3: w.w3,
  };
  return {
    async global(name: GlobalTensor) {
      if (name === 'embed') return w.tokenEmbedding;
      if (name === 'norm') return w.rmsFinal;
      return w.wcls;
    },
    async layer(name: LayerTensor, l: number) {
      const n = sizes[name];
      return stacked[name].subarray(l * n, (l + 1) * n);
    },
  };
}
