/**
 * Loads a model described by a card (file, folder holding one, or a card object) into an
 * OrtBackend plus its tokenizer. Relative paths in a card resolve against the card's folder
 * (against the working directory for a card object without `file`).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import type { Tokenizer } from '../../src/engine/backend.js';
import { HarnessError } from '../../src/errors.js';
import { parseLlama2c, type Llama2cModel } from '../../src/model/llama2c.js';
import { parseModelCard, validateModelCard, type ModelCard } from '../../src/model/model-card.js';
import { ByteTokenizer } from '../../src/model/tokenizer-bytes.js';
import { JsonTokenizer } from '../../src/model/tokenizer-json.js';
import { HF_CONFIG, hfFolderName, isHfFolder, readHfConfig } from './hf-folder.js';
import { Llama2cTokenizer } from '../../src/model/tokenizer-llama2c.js';
import { OrtBackend } from './ort-backend.js';
import type { OrtEp, OrtSessionTuning } from './ort-ep.js';

import { CARD_FILE_NAMES } from './suite-files.js';
export { CARD_FILE_NAMES };

export interface LoadModelOptions extends OrtSessionTuning {
  ep?: OrtEp;
  /** Folder that relative paths of a card *object* resolve against (default: the working directory). */
  baseDir?: string;
}

export interface LoadedModel {
  backend: OrtBackend;
  tokenizer: Tokenizer;
  /** The card with paths resolved to absolute ones. */
  card: ModelCard;
}

function findCardFile(pathOrDir: string): string {
  if (!existsSync(pathOrDir)) throw new HarnessError('model-card', `no model card or folder at ${pathOrDir}`, { file: pathOrDir });
  if (!statSync(pathOrDir).isDirectory()) return pathOrDir;
  const hit = CARD_FILE_NAMES.map((n) => join(pathOrDir, n)).find((p) => existsSync(p));
  if (hit) return hit;
  // A Hugging Face folder needs no card: its config.json stands for one.
  if (isHfFolder(pathOrDir)) return join(pathOrDir, HF_CONFIG);
  throw new HarnessError('model-card', `the folder has no model card`, { file: pathOrDir }, `add one of ${CARD_FILE_NAMES.join(', ')}, or give a Hugging Face folder (config.json, safetensors, tokenizer.json)`);
}

/** Reads and validates a card; its paths come back absolute. */
export function readModelCard(card: string | Record<string, unknown>, baseDir = process.cwd()): ModelCard {
  let parsed: ModelCard;
  let base: string;
  if (typeof card === 'string') {
    const file = findCardFile(card);
    // A Hugging Face folder given as itself (its config.json): a card with the folder's defaults.
    parsed = basename(file) === HF_CONFIG ? validateModelCard({ format: 'hf', path: '.' }, file) : parseModelCard(readFileSync(file, 'utf8'), file);
    base = dirname(resolve(file));
  } else {
    parsed = validateModelCard(card, typeof card.file === 'string' ? card.file : '<model card object>');
    base = typeof card.file === 'string' ? dirname(resolve(card.file)) : baseDir;
  }
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(base, p));
  if (parsed.format === 'hf') return resolveHfCard(parsed, abs(parsed.path), abs);
  const out = { ...parsed, path: abs(parsed.path), tokenizer: abs(parsed.tokenizer) };
  const field = parsed.format === 'llama2c' ? 'weights' : 'path';
  if (!existsSync(out.path)) throw new HarnessError('model-card', `model file not found: ${out.path}`, { file: parsed.file, field });
  if (!existsSync(out.tokenizer)) throw new HarnessError('model-card', `tokenizer file not found: ${out.tokenizer}`, { file: parsed.file, field: 'tokenizer' });
  return out;
}

/** tokenizer_config.json beside a tokenizer.json (its chat template and decode settings), when there is one. */
export function readTokenizerConfig(tokenizerPath: string): Record<string, unknown> | undefined {
  const file = join(dirname(tokenizerPath), 'tokenizer_config.json');
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new HarnessError('model-card', `tokenizer_config.json is not valid JSON: ${(e as Error).message}`, { file });
  }
}

/**
 * An hf card with its folder read: name, BOS/EOS and context from config.json unless the card sets
 * them, the folder's tokenizer.json unless the card names one (none: dummy weights only).
 */
function resolveHfCard(card: ModelCard, dir: string, abs: (p: string) => string): ModelCard {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new HarnessError('model-card', `no model folder at ${dir}`, { file: card.file, field: 'path' });
  const { config, file } = readHfConfig(dir);
  const dummy = card.weights === 'dummy';
  let tokenizer = card.tokenizer ? abs(card.tokenizer) : join(dir, 'tokenizer.json');
  let tokenizerFormat = card.tokenizerFormat;
  if (!existsSync(tokenizer)) {
    if (card.tokenizer) throw new HarnessError('model-card', `tokenizer file not found: ${tokenizer}`, { file: card.file, field: 'tokenizer' });
    if (!dummy) throw new HarnessError('model-card', `the model folder has no tokenizer.json: ${tokenizer}`, { file: card.file, field: 'tokenizer' }, 'copy the model\'s tokenizer.json (and tokenizer_config.json) into the folder, or name one with "tokenizer" in a model card');
    tokenizer = '';
    tokenizerFormat = 'bytes';
  }
  if (card.maxContext !== undefined && card.maxContext > config.maxContext) throw new HarnessError('model-card', `"maxContext" ${card.maxContext} exceeds config.json's max_position_embeddings ${config.maxContext}`, { file: card.file, field: 'maxContext' });
  const geometry: Record<string, number> = { layers: config.layers, heads: config.heads, kvHeads: config.kvHeads, headDim: config.headDim, vocabSize: config.vocabSize, dim: config.dim, hiddenDim: config.hiddenDim };
  for (const [k, v] of Object.entries(geometry)) {
    const given = card[k as keyof ModelCard];
    if (given !== undefined && given !== v) throw new HarnessError('model-card', `"${k}" is ${String(given)} but ${file} says ${v}`, { file: card.file, field: k });
  }
  return {
    ...card,
    name: card.name || hfFolderName(dir),
    path: dir,
    tokenizer,
    tokenizerFormat,
    ...geometry,
    maxContext: card.maxContext ?? config.maxContext,
    ...(card.idsFromConfig ? { bos: config.bos, eos: config.eos } : {}),
  };
}

export function loadTokenizer(card: ModelCard, vocabSize: number): Tokenizer {
  if (card.tokenizerFormat === 'bytes') return new ByteTokenizer(vocabSize, card.bos);
  const bytes = readFileSync(card.tokenizer);
  try {
    const tok: Tokenizer =
      card.tokenizerFormat === 'llama2c'
        ? Llama2cTokenizer.fromBytes(new Uint8Array(bytes), vocabSize, { bos: card.bos, eos: card.eos[0] })
        : new JsonTokenizer(bytes.toString('utf8'), { bos: card.bos, eos: card.eos[0], config: readTokenizerConfig(card.tokenizer) });
    if (tok.vocabSize > vocabSize) throw new Error(`the tokenizer has ${tok.vocabSize} tokens, more than the model's vocabulary of ${vocabSize}`);
    return tok;
  } catch (e) {
    if (e instanceof HarnessError) throw e;
    throw new HarnessError('model-card', `cannot load tokenizer ${basename(card.tokenizer)}: ${(e as Error).message}`, { file: card.file, field: 'tokenizer' });
  }
}

/** The card's geometry fields must agree with the checkpoint header when given. */
function checkAgainstHeader(card: ModelCard, m: Llama2cModel): void {
  const c = m.config;
  const header: Record<string, number> = { layers: c.layers, heads: c.heads, kvHeads: c.kvHeads, headDim: c.headDim, vocabSize: c.vocabSize, dim: c.dim, hiddenDim: c.hiddenDim };
  for (const [k, v] of Object.entries(header)) {
    const given = card[k as keyof ModelCard];
    if (given !== undefined && given !== v) throw new HarnessError('model-card', `"${k}" is ${String(given)} but the checkpoint says ${v}`, { file: card.file, field: k });
  }
}

/** Bytes of an ONNX model: the graph file plus external-data files beside it that share its name. */
function onnxWeightBytes(path: string): number {
  let n = statSync(path).size;
  for (const extra of [`${path}.data`, `${path}_data`]) if (existsSync(extra)) n += statSync(extra).size;
  return n;
}

export async function loadModel(card: string | Record<string, unknown>, opts: LoadModelOptions = {}): Promise<LoadedModel> {
  const c = readModelCard(card, opts.baseDir);
  if (c.format === 'hf') {
    throw new HarnessError('engine.model', `${c.name} is a Hugging Face folder${c.weights === 'dummy' ? ' with dummy weights' : ''}: it runs on the webgpu engine`, { file: c.file, field: 'format' }, 'run it with --engine webgpu (suite: engine: webgpu), or export an ONNX decoder for onnxruntime (README, Models)');
  }
  const tuning = { ep: opts.ep ?? 'cpu', threads: opts.threads, logSeverityLevel: opts.logSeverityLevel } as const;
  if (c.format === 'llama2c') {
    let weights: Llama2cModel;
    try {
      weights = parseLlama2c(new Uint8Array(readFileSync(c.path)), { dtype: c.dtype });
    } catch (e) {
      throw new HarnessError('model-card', (e as Error).message, { file: c.file, field: 'weights' });
    }
    checkAgainstHeader(c, weights);
    const tokenizer = loadTokenizer(c, weights.config.vocabSize);
    const backend = await OrtBackend.fromLlama2c(
      weights,
      { name: c.name, bos: c.bos, eos: c.eos, maxContext: c.maxContext },
      { ...tuning, ropeTheta: c.ropeTheta, rmsEps: c.rmsEps },
    );
    return { backend, tokenizer, card: c };
  }
  const tokenizer = loadTokenizer(c, c.vocabSize!);
  const backend = await OrtBackend.fromOnnx(
    c.path,
    {
      name: c.name,
      layers: c.layers!,
      heads: c.heads ?? c.kvHeads!,
      kvHeads: c.kvHeads!,
      headDim: c.headDim!,
      vocabSize: c.vocabSize!,
      maxContext: c.maxContext!,
      bos: c.bos,
      eos: c.eos,
      weightBytes: onnxWeightBytes(c.path),
    },
    { ...tuning, names: c.inputNames },
  );
  return { backend, tokenizer, card: c };
}
