/**
 * A Hugging Face folder (config.json + safetensors) as the engine's weight source and model
 * config. Each tensor's byte range is read only when the engine asks for it and converted to fp16
 * (bf16 and f32 round to nearest even; norm vectors stay f32), so host memory holds one tensor at
 * a time. Hugging Face rotates half-split channel pairs, so the engine's RoPE runs in that layout.
 * The runner checks the tensors against the config first (checkHfTensors) and injects the reader.
 */
import { hfTensorName, type HfModelConfig, type HfTensorRole } from '../../model/hf-config.js';
import { countNonFiniteHalf, tensorToFloat, tensorToHalf, type TensorEntry } from '../../model/safetensors.js';
import type { EngineModelConfig, GlobalTensor, LayerTensor, WeightSource } from '../model.js';

export function hfEngineConfig(c: HfModelConfig, name: string): EngineModelConfig {
  return {
    name,
    dim: c.dim,
    hiddenDim: c.hiddenDim,
    layers: c.layers,
    heads: c.heads,
    kvHeads: c.kvHeads,
    headDim: c.headDim,
    vocabSize: c.vocabSize,
    maxContext: c.maxContext,
    rmsEps: c.rmsEps,
    ropeLayout: 'half',
    invFreq: c.invFreq,
    tiedClassifier: c.tiedEmbeddings,
    bos: c.bos,
    eos: c.eos,
    ...(c.slidingWindow !== null ? { slidingWindow: c.slidingWindow } : {}),
  };
}

/** Reads a tensor's bytes (the runner opens the files; src/ does no I/O). */
export type TensorReader = (t: TensorEntry) => Promise<Uint8Array>;

export function hfWeightSource(c: HfModelConfig, tensors: ReadonlyMap<string, TensorEntry>, read: TensorReader, close?: () => Promise<void>): WeightSource {
  const load = async (role: HfTensorRole, layer?: number): Promise<Float32Array | Uint16Array> => {
    const name = hfTensorName(role, layer);
    const t = tensors.get(name);
    if (!t) throw new Error(`${name}: not in the model's safetensors`);
    const bytes = await read(t);
    if (t.shape.length === 1) return tensorToFloat(bytes, t.dtype);
    const h = tensorToHalf(bytes, t.dtype);
    const bad = countNonFiniteHalf(h);
    if (bad > 0) throw new Error(`${t.file}: tensor ${name} has ${bad} values that are Inf or NaN in fp16 (${t.dtype} values beyond ±65504?); the engine keeps weights in fp16`);
    return h;
  };
  return {
    global: (name: GlobalTensor) => (name === 'cls' && c.tiedEmbeddings ? Promise.resolve(null) : load(name)),
    layer: (name: LayerTensor, l: number) => load(name, l),
    ...(close ? { close } : {}),
  };
}
