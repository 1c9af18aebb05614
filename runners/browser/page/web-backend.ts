/**
 * InferenceBackend over onnxruntime-web, the browser twin of runners/node/ort-backend.ts:
 * the same graphs (llama2.c weights built into ONNX by src/model, or a user's ONNX decoder with
 * Hugging Face naming), the same I/O checks and output slicing (src/model/decoder-io.ts), on
 * the `wasm` or `webgpu` execution provider.
 *
 * This is the host cache path (generate(): the method's stores live in JavaScript, the past is
 * uploaded every step and the new token's K/V come back). The device-resident path, where the
 * cache stays in GPU buffers, is WebDeviceDecoder + WebGraphExec (src/gpu's cache-op graphs).
 */
import * as ort from 'onnxruntime-web';
import type { ForwardRequest, ForwardResult, InferenceBackend, ModelInfo } from '../../../src/engine/backend.js';
import type { KVBlock } from '../../../src/engine/kv-block.js';
import { decodeHalf, encodeHalf } from '../../../src/kernels/half.js';
import { allPositionLogits, checkForwardRequest, lastPositionLogits, lastTokens } from '../../../src/model/decoder-io.js';
import { layerName, type DecoderIoNames } from '../../../src/model/io-names.js';
import type { LogitsMode } from '../../../src/model/build-llama-onnx.js';
import type { BrowserEp } from '../protocol.js';

/** Input/output wiring of one session, discovered from its metadata. */
export interface SessionIo {
  session: ort.InferenceSession;
  hasMask: boolean;
  hasPositions: boolean;
  hasCacheBranch: boolean;
  idsType: 'int64' | 'int32';
  kvType: 'float32' | 'float16';
}

/** Creates the session for a logits mode; user graphs ignore the mode (one session serves both). */
export type SessionFactory = (logits: LogitsMode, options: ort.InferenceSession.SessionOptions) => Promise<ort.InferenceSession>;

function tensorType(session: ort.InferenceSession, name: string): string | undefined {
  const m = session.inputMetadata.find((x) => x.name === name);
  return m && m.isTensor ? m.type : undefined;
}

/** Checks that a graph has the decoder's inputs and outputs; the message lists what it has instead. */
export function inspectSession(session: ort.InferenceSession, names: DecoderIoNames, layers: number, source: string): SessionIo {
  const inputs = new Set(session.inputNames);
  const outputs = new Set(session.outputNames);
  const missing: string[] = [];
  if (!inputs.has(names.inputIds)) missing.push(`input ${names.inputIds}`);
  if (!outputs.has(names.logits)) missing.push(`output ${names.logits}`);
  for (let i = 0; i < layers; i++) {
    for (const t of [names.pastKey, names.pastValue]) if (!inputs.has(layerName(t, i))) missing.push(`input ${layerName(t, i)}`);
    for (const t of [names.presentKey, names.presentValue]) if (!outputs.has(layerName(t, i))) missing.push(`output ${layerName(t, i)}`);
  }
  if (missing.length) {
    throw new Error(
      `${source}: the ONNX graph lacks ${missing.slice(0, 6).join(', ')}${missing.length > 6 ? ` and ${missing.length - 6} more` : ''}; ` +
        `it has inputs [${session.inputNames.join(', ')}]. Set inputNames in the model card if it uses other names.`,
    );
  }
  const kvType = tensorType(session, layerName(names.pastKey, 0)) ?? 'float32';
  if (kvType !== 'float32' && kvType !== 'float16') throw new Error(`${source}: past K/V of type ${kvType} are not supported (float32 or float16)`);
  const idsType = tensorType(session, names.inputIds) ?? 'int64';
  if (idsType !== 'int64' && idsType !== 'int32') throw new Error(`${source}: ${names.inputIds} of type ${idsType} is not supported (int64 or int32)`);
  return { session, hasMask: inputs.has(names.attentionMask), hasPositions: inputs.has(names.positionIds), hasCacheBranch: inputs.has(names.useCacheBranch), idsType, kvType };
}

export function sessionOptions(ep: BrowserEp): ort.InferenceSession.SessionOptions {
  return { executionProviders: [ep], graphOptimizationLevel: 'all', logSeverityLevel: 3 };
}

/** Feeds that do not depend on the cache: ids, mask, positions, optimum's cache-branch flag. */
export function baseFeeds(io: SessionIo, n: DecoderIoNames, req: ForwardRequest, P: number): Record<string, ort.Tensor> {
  const { batch: B, tokens: T } = req;
  const feeds: Record<string, ort.Tensor> = {};
  feeds[n.inputIds] =
    io.idsType === 'int64' ? new ort.Tensor('int64', req.inputIds, [B, T]) : new ort.Tensor('int32', Int32Array.from(req.inputIds, Number), [B, T]);
  if (io.hasMask) feeds[n.attentionMask] = new ort.Tensor('int64', req.attentionMask, [B, P + T]);
  if (io.hasPositions) feeds[n.positionIds] = new ort.Tensor('int64', req.positionIds, [B, T]);
  if (io.hasCacheBranch) feeds[n.useCacheBranch] = new ort.Tensor('bool', Uint8Array.of(P > 0 ? 1 : 0), [1]);
  return feeds;
}

export function kvTensor(data: Float32Array, dims: number[], type: 'float32' | 'float16'): ort.Tensor {
  if (type === 'float32') return new ort.Tensor('float32', data, dims);
  const half = new Uint16Array(data.length);
  encodeHalf(data, half);
  return new ort.Tensor('float16', half, dims);
}

export function floatsOf(t: ort.Tensor): Float32Array {
  if (t.type === 'float32') return t.data as Float32Array;
  if (t.type === 'float16') {
    const out = new Float32Array(t.size);
    decodeHalf(t.data as Uint16Array, out);
    return out;
  }
  throw new Error(`forward: unexpected output type ${t.type}`);
}

export function pickLogits(out: ort.InferenceSession.OnnxValueMapType, n: DecoderIoNames, m: ModelInfo, all: boolean): Float32Array {
  const t = out[n.logits]!;
  const data = floatsOf(t);
  return all ? allPositionLogits(data, t.dims, m.vocabSize) : lastPositionLogits(data, t.dims, m.vocabSize);
}

export class WebBackend implements InferenceBackend {
  private lastSession?: Promise<SessionIo>;
  private allSession?: Promise<SessionIo>;

  constructor(
    readonly model: ModelInfo,
    readonly executionProvider: BrowserEp,
    private readonly names: DecoderIoNames,
    private readonly factory: SessionFactory,
    /** User graphs have one session that serves both logits modes. */
    private readonly singleSession: boolean,
  ) {}

  private session(all: boolean): Promise<SessionIo> {
    const make = (mode: LogitsMode) => this.factory(mode, sessionOptions(this.executionProvider)).then((s) => inspectSession(s, this.names, this.model.layers, this.model.name));
    if (!all || this.singleSession) return (this.lastSession ??= make('last'));
    return (this.allSession ??= make('all'));
  }

  /** Creates the first session now, so load errors surface at load time. */
  async ready(): Promise<this> {
    await this.session(false);
    if (this.executionProvider === 'wasm') await this.compileKernels();
    return this;
  }

  /**
   * WASM EP: V8 compiles each of ORT's WASM functions at its first call (TurboFan under
   * --no-liftoff, about 1.5 s in all), which otherwise lands in the first cell's timed prefill and
   * decode. One untimed prefill and decode step here, while the model loads, compiles them.
   */
  private async compileKernels(): Promise<void> {
    const ids = (n: number) => BigInt64Array.from({ length: n }, () => BigInt(this.model.bos));
    const positions = (from: number, n: number) => BigInt64Array.from({ length: n }, (_, i) => BigInt(from + i));
    const prefill = await this.forward({ batch: 1, tokens: 2, inputIds: ids(2), attentionMask: ids(2).fill(1n), positionIds: positions(0, 2), past: this.emptyPast() });
    await this.forward({ batch: 1, tokens: 1, inputIds: ids(1), attentionMask: ids(3).fill(1n), positionIds: positions(2, 1), past: prefill.present });
  }

  private emptyPast(): KVBlock[] {
    return Array.from({ length: this.model.layers }, () => ({ k: new Float32Array(0), v: new Float32Array(0), tokens: 0 }));
  }

  async forward(req: ForwardRequest): Promise<ForwardResult> {
    const m = this.model;
    const P = checkForwardRequest(req, m);
    const { batch: B, tokens: T } = req;
    const io = await this.session(req.allLogits === true);
    const n = this.names;
    const feeds = baseFeeds(io, n, req, P);
    const kvDims = [B, m.kvHeads, P, m.headDim];
    req.past.forEach((blk, i) => {
      feeds[layerName(n.pastKey, i)] = kvTensor(blk.k, kvDims, io.kvType);
      feeds[layerName(n.pastValue, i)] = kvTensor(blk.v, kvDims, io.kvType);
    });
    const out = await io.session.run(feeds);
    const logits = pickLogits(out, n, m, req.allLogits === true);
    const rows = B * m.kvHeads;
    const present: KVBlock[] = [];
    for (let i = 0; i < m.layers; i++) {
      const kT = out[layerName(n.presentKey, i)]!;
      const vT = out[layerName(n.presentValue, i)]!;
      const total = kT.dims[2]!;
      if (total !== P + T) throw new Error(`forward: ${layerName(n.presentKey, i)} has ${total} tokens, expected past ${P} + new ${T}`);
      present.push({ k: lastTokens(floatsOf(kT), rows, total, T, m.headDim), v: lastTokens(floatsOf(vT), rows, total, T, m.headDim), tokens: T });
    }
    return { logits, present };
  }

  async dispose(): Promise<void> {
    const sessions = [this.lastSession, this.allSession];
    this.lastSession = this.allSession = undefined;
    for (const s of sessions) if (s) await (await s.catch(() => undefined))?.session.release();
  }
}
