/**
 * Loads a model in the page from a card whose paths are URLs of the local server: the page's
 * counterpart of runners/node/load-model.ts (the host already resolved and checked the card).
 * llama2.c checkpoints are built into ONNX here by the same builder the Node runner uses.
 */
import * as ort from 'onnxruntime-web';
import type { ModelInfo, Tokenizer } from '../../../src/engine/backend.js';
import { buildLlamaOnnx } from '../../../src/model/build-llama-onnx.js';
import { HF_IO_NAMES, resolveIoNames } from '../../../src/model/io-names.js';
import { parseLlama2c, type Llama2cModel } from '../../../src/model/llama2c.js';
import type { ModelCard } from '../../../src/model/model-card.js';
import { JsonTokenizer } from '../../../src/model/tokenizer-json.js';
import { Llama2cTokenizer } from '../../../src/model/tokenizer-llama2c.js';
import type { BrowserEp, PageModelSource } from '../protocol.js';
import { fetchBytes } from './fetch-bytes.js';
import { WebBackend, type SessionFactory } from './web-backend.js';

export interface PageModel {
  backend: WebBackend;
  tokenizer: Tokenizer;
  /** llama2.c weights, kept for the device-resident path's decoder (built on first use). */
  weights?: Llama2cModel;
}

async function loadTokenizer(card: ModelCard, vocabSize: number): Promise<Tokenizer> {
  const bytes = await fetchBytes(card.tokenizer);
  const tok: Tokenizer =
    card.tokenizerFormat === 'llama2c'
      ? Llama2cTokenizer.fromBytes(bytes, vocabSize, { bos: card.bos, eos: card.eos[0] })
      : new JsonTokenizer(new TextDecoder().decode(bytes), { bos: card.bos, eos: card.eos[0] });
  if (tok.vocabSize > vocabSize) throw new Error(`${card.file}: the tokenizer has ${tok.vocabSize} tokens, more than the model's vocabulary of ${vocabSize}`);
  return tok;
}

/** The card's geometry fields must agree with the checkpoint header when given (as in the Node loader). */
function checkAgainstHeader(card: ModelCard, m: Llama2cModel): void {
  const c = m.config;
  const header: Record<string, number> = { layers: c.layers, heads: c.heads, kvHeads: c.kvHeads, headDim: c.headDim, vocabSize: c.vocabSize };
  for (const [k, v] of Object.entries(header)) {
    const given = card[k as keyof ModelCard];
    if (given !== undefined && given !== v) throw new Error(`${card.file} ${k}: "${k}" is ${String(given)} but the checkpoint says ${v}`);
  }
}

export async function loadPageModel(src: PageModelSource, ep: BrowserEp): Promise<PageModel> {
  const card = src.card;
  if (card.format === 'llama2c') {
    const weights = parseLlama2c(await fetchBytes(card.path), { dtype: card.dtype });
    checkAgainstHeader(card, weights);
    const c = weights.config;
    const model: ModelInfo = {
      name: card.name,
      layers: c.layers,
      heads: c.heads,
      kvHeads: c.kvHeads,
      headDim: c.headDim,
      vocabSize: c.vocabSize,
      maxContext: card.maxContext ?? c.seqLen,
      bos: card.bos,
      eos: card.eos,
      weightBytes: weights.paramCount * 4, // float32 in memory, as the Node runner counts it
    };
    const graphs = new Map<string, Uint8Array>();
    const factory: SessionFactory = (logits, options) => {
      // The built graph is kept so a page reload is the only thing that rebuilds it.
      if (!graphs.has(logits)) graphs.set(logits, buildLlamaOnnx(weights, { logits, ropeTheta: card.ropeTheta, rmsEps: card.rmsEps, name: card.name }));
      return ort.InferenceSession.create(graphs.get(logits)!, options);
    };
    const backend = await new WebBackend(model, ep, HF_IO_NAMES, factory, false).ready();
    return { backend, tokenizer: await loadTokenizer(card, c.vocabSize), weights };
  }
  const model: ModelInfo = {
    name: card.name,
    layers: card.layers!,
    heads: card.heads ?? card.kvHeads!,
    kvHeads: card.kvHeads!,
    headDim: card.headDim!,
    vocabSize: card.vocabSize!,
    maxContext: card.maxContext!,
    bos: card.bos,
    eos: card.eos,
    weightBytes: src.fileBytes,
  };
  const graph = await fetchBytes(card.path);
  const factory: SessionFactory = (_logits, options) =>
    ort.InferenceSession.create(graph, { ...options, ...(src.externalData?.length ? { externalData: src.externalData.map((d) => ({ path: d.path, data: d.url })) } : {}) });
  const backend = await new WebBackend(model, ep, resolveIoNames(card.inputNames), factory, true).ready();
  return { backend, tokenizer: await loadTokenizer(card, model.vocabSize) };
}
