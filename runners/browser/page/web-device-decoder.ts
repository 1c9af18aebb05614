/**
 * The model on the device-resident cache path in the browser (WebGPU EP): the llama2.c decoder
 * built with the cache's K/V type — float16 where the adapter has `shader-f16`, float32
 * otherwise (SwiftShader) — its present.* outputs kept in GPU buffers and fed back through the
 * cache method's graphs, only the logits read back. The twin of runners/node/ort-gpu-decoder.ts.
 */
import * as ort from 'onnxruntime-web';
import type { ModelInfo } from '../../../src/engine/backend.js';
import type { DeviceDecoder, DeviceForwardRequest, DeviceKV } from '../../../src/gpu/device-types.js';
import type { KvDtype } from '../../../src/gpu/graph-kit.js';
import { buildLlamaOnnx } from '../../../src/model/build-llama-onnx.js';
import { lastPositionLogits } from '../../../src/model/decoder-io.js';
import { HF_IO_NAMES as N, layerName } from '../../../src/model/io-names.js';
import type { Llama2cModel } from '../../../src/model/llama2c.js';
import type { BrowserEp } from '../protocol.js';
import { floatsOf, sessionOptions } from './web-backend.js';
import { WebGraphExec } from './web-graph-exec.js';

/** float16 needs the adapter's shader-f16 feature; without it onnxruntime-web would run fp16 ops on the CPU. */
export function kvDtypeFor(adapterFeatures: readonly string[]): KvDtype {
  return adapterFeatures.includes('shader-f16') ? 'float16' : 'float32';
}

export class WebDeviceDecoder implements DeviceDecoder {
  readonly exec: WebGraphExec;

  private constructor(
    readonly model: ModelInfo,
    readonly executionProvider: BrowserEp,
    readonly kv: KvDtype,
    private readonly session: ort.InferenceSession,
  ) {
    this.exec = new WebGraphExec(executionProvider, kv);
  }

  static async fromLlama2c(
    weights: Llama2cModel,
    model: ModelInfo,
    opts: { ep: BrowserEp; kv: KvDtype; ropeTheta?: number; rmsEps?: number },
  ): Promise<WebDeviceDecoder> {
    const bytes = buildLlamaOnnx(weights, { logits: 'last', kvDtype: opts.kv, ropeTheta: opts.ropeTheta, rmsEps: opts.rmsEps, name: model.name });
    const loc: Record<string, ort.Tensor.DataLocation> = { [N.logits]: 'cpu' };
    for (let i = 0; i < model.layers; i++) {
      loc[layerName(N.presentKey, i)] = 'gpu-buffer';
      loc[layerName(N.presentValue, i)] = 'gpu-buffer';
    }
    const session = await ort.InferenceSession.create(bytes, { ...sessionOptions(opts.ep), preferredOutputLocation: loc });
    return new WebDeviceDecoder(model, opts.ep, opts.kv, session);
  }

  async forward(req: DeviceForwardRequest): Promise<{ logits: Float32Array; present: DeviceKV[] }> {
    const m = this.model;
    const { batch: B, tokens: T } = req;
    const P = req.past ? req.past[0]!.k.dims[2]! : 0;
    const feeds: Record<string, ort.Tensor> = {
      [N.inputIds]: new ort.Tensor('int64', req.inputIds, [B, T]),
      [N.attentionMask]: new ort.Tensor('int64', req.attentionMask, [B, P + T]),
      [N.positionIds]: new ort.Tensor('int64', req.positionIds, [B, T]),
    };
    const dims = [B, m.kvHeads, 0, m.headDim];
    const empty = req.past ? null : this.kv === 'float16' ? new ort.Tensor('float16', new Uint16Array(0), dims) : new ort.Tensor('float32', new Float32Array(0), dims);
    for (let i = 0; i < m.layers; i++) {
      feeds[layerName(N.pastKey, i)] = (req.past ? req.past[i]!.k : empty) as ort.Tensor;
      feeds[layerName(N.pastValue, i)] = (req.past ? req.past[i]!.v : empty) as ort.Tensor;
    }
    const out = await this.session.run(feeds);
    const logitsT = out[N.logits]!;
    const logits = lastPositionLogits(floatsOf(logitsT), logitsT.dims, m.vocabSize);
    const present: DeviceKV[] = [];
    for (let i = 0; i < m.layers; i++) present.push({ k: out[layerName(N.presentKey, i)]!, v: out[layerName(N.presentValue, i)]! });
    return { logits, present };
  }

  async dispose(): Promise<void> {
    await this.session.release();
    await this.exec.dispose();
  }
}
