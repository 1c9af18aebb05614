/**
 * Loads a model card onto the WebGPU engine in Node: the weights stream to the device tensor by
 * tensor (with progress), and the engine serves as the cell's backend too (EngineBackend), for
 * methods without a device store. The engine runs LLaMA-architecture llama2.c checkpoints (the
 * embedded model, stories260K, your llama2.c export), Hugging Face folders (LlamaForCausalLM,
 * MistralForCausalLM: config.json + safetensors), and hf cards with `weights: dummy`. A folder the
 * engine cannot run is refused before anything loads: config, tokenizer and every tensor's header
 * are checked first.
 */
import { readFileSync } from 'node:fs';
import type { Tokenizer } from '../../src/engine/backend.js';
import { HarnessError } from '../../src/errors.js';
import { parseLlama2c } from '../../src/model/llama2c.js';
import type { ModelCard } from '../../src/model/model-card.js';
import { WebGpuEngine } from '../../src/webgpu/engine.js';
import { EngineBackend } from '../../src/webgpu/engine-backend.js';
import type { EngineModelConfig, WeightSource } from '../../src/webgpu/model.js';
import { dummyWeightSource } from '../../src/webgpu/sources/dummy-source.js';
import { hfEngineConfig, hfWeightSource } from '../../src/webgpu/sources/hf-source.js';
import { llama2cEngineConfig, llama2cWeightSource } from '../../src/webgpu/sources/llama2c-source.js';
import { openHfWeights, readHfConfig } from './hf-folder.js';
import { loadTokenizer, readModelCard } from './load-model.js';
import { nodeGpu } from './webgpu-device.js';

export interface LoadedEngine {
  engine: WebGpuEngine;
  backend: EngineBackend;
  tokenizer: Tokenizer;
}

export interface LoadEngineOptions {
  /** Weight bytes on the device so far, of the total (a progress bar). */
  onProgress?: (done: number, total: number, note: string) => void;
}

const gb = (n: number) => `${(n / 1e9).toFixed(2)} GB`;

export async function loadEngine(cardPath: string, opts: LoadEngineOptions = {}): Promise<LoadedEngine> {
  const card = readModelCard(cardPath);
  if (card.format === 'hf') return loadHfEngine(card, opts);
  if (card.format !== 'llama2c') {
    throw new HarnessError('engine.model', `the webgpu engine runs llama2.c checkpoints and Hugging Face folders; ${card.name} is ${card.format}`, { file: card.file, field: 'format' }, 'run this model with --engine onnxruntime');
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
  const engine = await WebGpuEngine.load(ctx, cfg, llama2cWeightSource(parsed), progress(opts));
  return { engine, backend: new EngineBackend(engine), tokenizer };
}

function progress(opts: LoadEngineOptions): ((done: number, total: number) => void) | undefined {
  const on = opts.onProgress;
  return on ? (d, t) => on(d, t, `weights to the device ${gb(d)} of ${gb(t)}`) : undefined;
}

/** A Hugging Face folder, or its config with dummy weights: everything is checked before the device is touched. */
async function loadHfEngine(card: ModelCard, opts: LoadEngineOptions): Promise<LoadedEngine> {
  const { config, file } = readHfConfig(card.path);
  const dummy = card.weights === 'dummy';
  const cfg: EngineModelConfig = {
    ...hfEngineConfig(config, card.name),
    bos: card.bos,
    eos: card.eos,
    maxContext: card.maxContext ?? config.maxContext,
    ...(dummy ? { weights: 'dummy' as const } : {}),
  };
  const tokenizer = loadTokenizer(card, config.vocabSize);
  let src: WeightSource;
  if (dummy) src = dummyWeightSource(card.seed ?? 0);
  else {
    const w = await openHfWeights(card.path, config, file);
    src = hfWeightSource(config, w.tensors, w.read, w.close);
  }
  let engine: WebGpuEngine;
  try {
    engine = await WebGpuEngine.load(await nodeGpu(), cfg, src, progress(opts));
  } catch (e) {
    await src.close?.();
    throw e;
  }
  return { engine, backend: new EngineBackend(engine), tokenizer };
}
