/**
 * Loads a model card onto the WebGPU engine in Node: the checkpoint is parsed, streamed to the
 * device tensor by tensor, and the engine serves as the cell's backend too (EngineBackend), for
 * methods without a device store. The engine runs LLaMA-architecture llama2.c checkpoints (the
 * embedded model, stories260K, your llama2.c export).
 */
import { readFileSync } from 'node:fs';
import type { Tokenizer } from '../../src/engine/backend.js';
import { HarnessError } from '../../src/errors.js';
import { parseLlama2c } from '../../src/model/llama2c.js';
import { WebGpuEngine } from '../../src/webgpu/engine.js';
import { EngineBackend } from '../../src/webgpu/engine-backend.js';
import { llama2cEngineConfig, llama2cWeightSource } from '../../src/webgpu/sources/llama2c-source.js';
import { loadTokenizer, readModelCard } from './load-model.js';
import { nodeGpu } from './webgpu-device.js';

export interface LoadedEngine {
  engine: WebGpuEngine;
  backend: EngineBackend;
  tokenizer: Tokenizer;
}

export async function loadEngine(cardPath: string): Promise<LoadedEngine> {
  const card = readModelCard(cardPath);
  if (card.format !== 'llama2c') {
    throw new HarnessError('engine.model', `the webgpu engine runs llama2.c checkpoints; ${card.name} is ${card.format}`, { file: card.file, field: 'format' }, 'run this model with --engine onnxruntime');
  }
  let parsed;
  try {
    parsed = parseLlama2c(new Uint8Array(readFileSync(card.path)), { dtype: card.dtype });
  } catch (e) {
    throw new HarnessError('model-card', (e as Error).message, { file: card.file, field: 'weights' });
  }
  const tokenizer = loadTokenizer(card, parsed.config.vocabSize);
  const ctx = await nodeGpu();
  const cfg = llama2cEngineConfig(parsed, { name: card.name, bos: card.bos, eos: card.eos, maxContext: card.maxContext, ropeTheta: card.ropeTheta, rmsEps: card.rmsEps });
  const engine = await WebGpuEngine.load(ctx, cfg, llama2cWeightSource(parsed));
  return { engine, backend: new EngineBackend(engine), tokenizer };
}
