/**
 * InferenceBackend over onnxruntime-node. Two sources of graphs:
 *  - llama2.c weights, built into ONNX by src/model/build-llama-onnx.ts (a 'last'-logits graph
 *    up front, an 'all'-logits graph only when a request asks for every position);
 *  - a user's ONNX decoder with Hugging Face / optimum naming (names overridable).
 * Past K/V go in as zero-copy float32 tensors (converted when a user graph wants float16);
 * present outputs [B,H,P+T,D] are cut down to the T new tokens, as ForwardResult requires.
 * Graphs built here output only the new tokens' K/V (kvOutputs 'new'): the caller keeps the
 * cache, so copying the whole present out of onnxruntime every step would be wasted work.
 */
import * as ort from 'onnxruntime-node';
import type { ForwardRequest, ForwardResult, InferenceBackend, ModelInfo } from '../../src/engine/backend.js';
import type { KVBlock } from '../../src/engine/kv-block.js';
import { decodeHalf, encodeHalf } from '../../src/kernels/half.js';
import { buildLlamaOnnx, NEW_KV_NAMES, type BuildOptions, type LogitsMode } from '../../src/model/build-llama-onnx.js';
import { allPositionLogits, checkForwardRequest, lastPositionLogits, lastTokens } from '../../src/model/decoder-io.js';
import { HF_IO_NAMES, layerName, resolveIoNames, type DecoderIoNames } from '../../src/model/io-names.js';
import type { Llama2cModel } from '../../src/model/llama2c.js';
import { createSession, describeEp, type EpDescription, type OrtEp, type OrtSessionTuning } from './ort-ep.js';

export { describeEp, type EpDescription, type OrtEp } from './ort-ep.js';

export interface OrtBackendOptions extends OrtSessionTuning {
  ep?: OrtEp;
}

/** Input/output wiring of one session, discovered from its metadata. */
interface SessionIo {
  session: ort.InferenceSession;
  hasMask: boolean;
  hasPositions: boolean;
  hasCacheBranch: boolean;
  idsType: 'int64' | 'int32';
  kvType: 'float32' | 'float16';
  /** Output names of the K/V the forward returns: present (past + new, cut here) or new tokens only. */
  kvOut: { key: string; value: string; newOnly: boolean };
}

function tensorType(session: ort.InferenceSession, name: string): string | undefined {
  const m = session.inputMetadata.find((x) => x.name === name);
  return m && m.isTensor ? m.type : undefined;
}

function inspect(session: ort.InferenceSession, names: DecoderIoNames, layers: number, source: string): SessionIo {
  const inputs = new Set(session.inputNames);
  const outputs = new Set(session.outputNames);
  const newOnly = outputs.has(layerName(NEW_KV_NAMES.key, 0));
  const kvOut = newOnly ? { ...NEW_KV_NAMES, newOnly } : { key: names.presentKey, value: names.presentValue, newOnly };
  const missing: string[] = [];
  if (!inputs.has(names.inputIds)) missing.push(`input ${names.inputIds}`);
  if (!outputs.has(names.logits)) missing.push(`output ${names.logits}`);
  for (let i = 0; i < layers; i++) {
    for (const t of [names.pastKey, names.pastValue]) if (!inputs.has(layerName(t, i))) missing.push(`input ${layerName(t, i)}`);
    for (const t of [kvOut.key, kvOut.value]) if (!outputs.has(layerName(t, i))) missing.push(`output ${layerName(t, i)}`);
  }
  if (missing.length) {
    throw new Error(
      `${source}: the ONNX graph lacks ${missing.slice(0, 6).join(', ')}${missing.length > 6 ? ` and ${missing.length - 6} more` : ''}. ` +
        `It has inputs [${session.inputNames.join(', ')}] and outputs [${session.outputNames.slice(0, 8).join(', ')}${session.outputNames.length > 8 ? ', …' : ''}]; ` +
        'set inputNames in the model card if it uses other names (templates with {i} for the layer).',
    );
  }
  const kvType = tensorType(session, layerName(names.pastKey, 0)) ?? 'float32';
  if (kvType !== 'float32' && kvType !== 'float16') throw new Error(`${source}: past K/V of type ${kvType} are not supported (float32 or float16)`);
  const idsType = tensorType(session, names.inputIds) ?? 'int64';
  if (idsType !== 'int64' && idsType !== 'int32') throw new Error(`${source}: ${names.inputIds} of type ${idsType} is not supported (int64 or int32)`);
  return {
    session,
    hasMask: inputs.has(names.attentionMask),
    hasPositions: inputs.has(names.positionIds),
    hasCacheBranch: inputs.has(names.useCacheBranch),
    idsType,
    kvType,
    kvOut,
  };
}

type SessionFactory = (logits: LogitsMode) => Promise<SessionIo>;

export class OrtBackend implements InferenceBackend {
  private lastSession?: Promise<SessionIo>;
  private allSession?: Promise<SessionIo>;

  private constructor(
    readonly model: ModelInfo,
    readonly executionProvider: OrtEp,
    private readonly names: DecoderIoNames,
    private readonly factory: SessionFactory,
    /** User graphs have one session that serves both logits modes. */
    private readonly singleSession: boolean,
  ) {}

  /** Builds the ONNX graph from llama2.c weights. `info` supplies what the checkpoint lacks (name, BOS/EOS). */
  static async fromLlama2c(
    weights: Llama2cModel,
    info: { name: string; bos?: number; eos?: number[]; maxContext?: number },
    opts: OrtBackendOptions & Pick<BuildOptions, 'ropeTheta' | 'rmsEps'> = {},
  ): Promise<OrtBackend> {
    const c = weights.config;
    const ep = opts.ep ?? 'cpu';
    const model: ModelInfo = {
      name: info.name,
      layers: c.layers,
      heads: c.heads,
      kvHeads: c.kvHeads,
      headDim: c.headDim,
      vocabSize: c.vocabSize,
      maxContext: info.maxContext ?? c.seqLen,
      bos: info.bos ?? 1,
      eos: info.eos ?? [2],
      weightBytes: weights.paramCount * 4, // float32 in memory, whatever the file held
    };
    const factory: SessionFactory = async (logits) => {
      const bytes = buildLlamaOnnx(weights, { logits, ropeTheta: opts.ropeTheta, rmsEps: opts.rmsEps, name: info.name, kvOutputs: 'new' });
      return inspect(await createSession(bytes, ep, opts), HF_IO_NAMES, c.layers, info.name);
    };
    const backend = new OrtBackend(model, ep, HF_IO_NAMES, factory, false);
    await backend.session(false);
    return backend;
  }

  /** A user's ONNX decoder (path, so external data files resolve, or bytes). */
  static async fromOnnx(
    source: string | Uint8Array,
    model: ModelInfo,
    opts: OrtBackendOptions & { names?: Partial<DecoderIoNames> } = {},
  ): Promise<OrtBackend> {
    const ep = opts.ep ?? 'cpu';
    const names = resolveIoNames(opts.names);
    const label = typeof source === 'string' ? source : model.name;
    const factory: SessionFactory = async () => inspect(await createSession(source, ep, opts), names, model.layers, label);
    const backend = new OrtBackend(model, ep, names, factory, true);
    await backend.session(false);
    return backend;
  }

  private session(all: boolean): Promise<SessionIo> {
    if (!all || this.singleSession) return (this.lastSession ??= this.factory('last'));
    return (this.allSession ??= this.factory('all'));
  }

  /** Device facts for provenance. */
  describe(): EpDescription {
    return describeEp(this.executionProvider);
  }

  async forward(req: ForwardRequest): Promise<ForwardResult> {
    const m = this.model;
    const P = checkForwardRequest(req, m);
    const { batch: B, tokens: T } = req;
    const io = await this.session(req.allLogits === true);
    const n = this.names;
    const feeds: Record<string, ort.Tensor> = {};
    feeds[n.inputIds] =
      io.idsType === 'int64'
        ? new ort.Tensor('int64', req.inputIds, [B, T])
        : new ort.Tensor('int32', Int32Array.from(req.inputIds, Number), [B, T]);
    if (io.hasMask) feeds[n.attentionMask] = new ort.Tensor('int64', req.attentionMask, [B, P + T]);
    if (io.hasPositions) feeds[n.positionIds] = new ort.Tensor('int64', req.positionIds, [B, T]);
    if (io.hasCacheBranch) feeds[n.useCacheBranch] = new ort.Tensor('bool', Uint8Array.of(P > 0 ? 1 : 0), [1]);
    const kvDims = [B, m.kvHeads, P, m.headDim];
    req.past.forEach((blk, i) => {
      feeds[layerName(n.pastKey, i)] = this.kvTensor(blk.k, kvDims, io.kvType);
      feeds[layerName(n.pastValue, i)] = this.kvTensor(blk.v, kvDims, io.kvType);
    });

    const out = await io.session.run(feeds);

    const logitsT = out[n.logits]!;
    const logitsData = logitsT.data as Float32Array;
    const logits = req.allLogits ? allPositionLogits(logitsData, logitsT.dims, m.vocabSize) : lastPositionLogits(logitsData, logitsT.dims, m.vocabSize);
    const rows = B * m.kvHeads;
    const present: KVBlock[] = [];
    const { key, value, newOnly } = io.kvOut;
    for (let i = 0; i < m.layers; i++) {
      const kT = out[layerName(key, i)]!;
      const vT = out[layerName(value, i)]!;
      const total = kT.dims[2]!;
      const expect = newOnly ? T : P + T;
      if (total !== expect) throw new Error(`forward: ${layerName(key, i)} has ${total} tokens, expected ${newOnly ? `new ${T}` : `past ${P} + new ${T}`}`);
      present.push({
        k: newOnly ? this.floats(kT) : lastTokens(this.floats(kT), rows, total, T, m.headDim),
        v: newOnly ? this.floats(vT) : lastTokens(this.floats(vT), rows, total, T, m.headDim),
        tokens: T,
      });
    }
    return { logits, present };
  }

  private kvTensor(data: Float32Array, dims: number[], type: 'float32' | 'float16'): ort.Tensor {
    if (type === 'float32') return new ort.Tensor('float32', data, dims);
    const half = new Uint16Array(data.length);
    encodeHalf(data, half);
    return new ort.Tensor('float16', half, dims);
  }

  private floats(t: ort.Tensor): Float32Array {
    if (t.type === 'float32') return t.data as Float32Array;
    if (t.type === 'float16') {
      const out = new Float32Array(t.size);
      decodeHalf(t.data as Uint16Array, out);
      return out;
    }
    throw new Error(`forward: unexpected output type ${t.type}`);
  }

  async dispose(): Promise<void> {
    const sessions = [this.lastSession, this.allSession];
    this.lastSession = this.allSession = undefined;
    for (const s of sessions) if (s) await (await s).session.release();
  }
}
