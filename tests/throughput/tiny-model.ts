/** A small random-weight llama2.c model (head dim 32, so KIVI's group 32 applies) on onnxruntime's CPU EP. */
import type { CacheGeometry } from '../../src/engine/kv-block.js';
import type { Tokenizer } from '../../src/engine/backend.js';
import type { Llama2cConfig, Llama2cModel } from '../../src/model/llama2c.js';
import type { CellSpec } from '../../src/results/record.js';
import { createMethod } from '../../src/methods/registry.js';
import type { WorkloadContext } from '../../src/runs/workload.js';
import { OrtBackend } from '../../runners/node/ort-backend.js';
import { OrtDeviceDecoder } from '../../runners/node/ort-gpu-decoder.js';
import { randomWeights } from '../model/llama2c-checkpoint.js';

export const TINY: Llama2cConfig = { dim: 64, hiddenDim: 96, layers: 4, heads: 2, kvHeads: 2, vocabSize: 96, seqLen: 256, headDim: 32, tiedClassifier: true };

export function tinyModel(): Llama2cModel {
  const weights = randomWeights(TINY, 11);
  const paramCount = Object.values(weights).reduce((a, w) => a + (w ? w.length : 0), 0);
  return { config: TINY, weights, fileDtype: 'float32', paramCount };
}

/** Prompts come from random token ids when no text is given; only vocabSize is read. */
export const stubTokenizer: Tokenizer = { vocabSize: TINY.vocabSize, encode: () => [], decode: () => '' };

export async function tinyBackends(): Promise<{ backend: OrtBackend; device: OrtDeviceDecoder }> {
  const m = tinyModel();
  const backend = await OrtBackend.fromLlama2c(m, { name: 'tiny', eos: [2] }, { ep: 'cpu', threads: 1 });
  const device = await OrtDeviceDecoder.fromLlama2c(m, backend.model, { ep: 'cpu', kvDtype: 'float16', threads: 1 });
  return { backend, device };
}

/** KIVI-based methods get a 32-token residual so that the short test lengths quantize something. */
export function cell(method: string, batch: number, workloadParams: Record<string, unknown>): CellSpec {
  const methodParams = method.includes('kivi') ? { residual: 32 } : {};
  return { model: 'tiny', method, methodParams, workload: 'sharegpt', workloadParams, batch, seed: 0, runner: 'node', ep: 'cpu' };
}

export function context(backend: OrtBackend, device: OrtDeviceDecoder | undefined, spec: CellSpec, extra: Partial<WorkloadContext> = {}): WorkloadContext {
  return {
    backend,
    tokenizer: stubTokenizer,
    cell: spec,
    createMethod: (g: CacheGeometry) => createMethod(spec.method, g, spec.methodParams),
    data: new Map(),
    repeats: 2,
    warmup: 1,
    ...(device ? { device: async () => device } : {}),
    ...extra,
  };
}
