/**
 * The model on the device-resident cache path in the browser (WebGPU EP): the llama2.c decoder
 * built with the cache's K/V type — float16 where the adapter has `shader-f16`, float32
 * otherwise (SwiftShader) — its present.* outputs kept in GPU buffers and fed back through the
 * cache method's graphs, only the logits read back. The twin of runners/node/ort-gpu-decoder.ts.
 */
import * as ort from 'onnxruntime-web';
import type { ModelInfo } from '../../../src/engine/backend.js';
import type { DeviceDecoder, DeviceForwardRequest, StepKV } from '../../../src/gpu/device-types.js';
import type { KvDtype } from '../../../src/gpu/graph-kit.js';
import { buildLlamaOnnx } from '../../../src/model/build-llama-onnx.js';
import { lastPositionLogits } from '../../../src/model/decoder-io.js';
import { HF_IO_NAMES as N } from '../../../src/model/io-names.js';
import { DEVICE_KV_OUTPUTS, deviceForwardFeeds, deviceOutputLocations, presentOf } from '../../../src/gpu/device-decoder-io.js';
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
    const bytes = buildLlamaOnnx(weights, { logits: 'last', kvOutputs: DEVICE_KV_OUTPUTS, kvDtype: opts.kv, ropeTheta: opts.ropeTheta, rmsEps: opts.rmsEps, name: model.name });
    const session = await ort.InferenceSession.create(bytes, { ...sessionOptions(opts.ep), preferredOutputLocation: deviceOutputLocations(model.layers) });
    return new WebDeviceDecoder(model, opts.ep, opts.kv, session);
  }

  /** Always the 'both' variant (req.kvOutputs is a hint): a second model session in the page is not worth its memory. */
  async forward(req: DeviceForwardRequest): Promise<{ logits: Float32Array; present: StepKV[] }> {
    const feeds = deviceForwardFeeds(req, this.model, this.kv, (type, data, dims) => new ort.Tensor(type, data, dims));
    const out = await this.session.run(feeds as Record<string, ort.Tensor>);
    const logitsT = out[N.logits]!;
    const logits = lastPositionLogits(floatsOf(logitsT), logitsT.dims, this.model.vocabSize);
    return { logits, present: presentOf(out, this.model.layers) };
  }

  async dispose(): Promise<void> {
    await this.session.release();
    await this.exec.dispose();
  }
}
