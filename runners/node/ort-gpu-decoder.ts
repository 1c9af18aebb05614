/**
 * The model on the device path: the llama2.c decoder built with an fp16 (or float32) KV
 * interface, its present.* outputs placed on the device ('gpu-buffer' on GPU EPs), logits on the
 * host. Past tensors come from the cache method's restore graph or are the method's own stored
 * tensors; nothing of the cache is copied through the host.
 */
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import type { ModelInfo } from '../../src/engine/backend.js';
import type { DeviceDecoder, DeviceForwardRequest, StepKV } from '../../src/gpu/device-types.js';
import type { KvDtype } from '../../src/gpu/graph-kit.js';
import { buildLlamaOnnx } from '../../src/model/build-llama-onnx.js';
import { lastPositionLogits } from '../../src/model/decoder-io.js';
import { HF_IO_NAMES as N } from '../../src/model/io-names.js';
import { DEVICE_KV_OUTPUTS, deviceForwardFeeds, deviceOutputLocations, forwardKvOutputs, presentOf } from '../../src/gpu/device-decoder-io.js';
import { parseLlama2c, type Llama2cModel } from '../../src/model/llama2c.js';
import { readModelCard } from './load-model.js';
import { OrtGraphExec, isDeviceEp, type OrtGraphExecOptions } from './ort-device-cache.js';
import { describeEp, explainEpFailure, sessionOptions, type OrtEp } from './ort-ep.js';

export interface DeviceDecoderOptions extends OrtGraphExecOptions {
  ep: OrtEp;
  /** 'auto': float16, except on a WebGPU adapter without shader-f16 support known here (SwiftShader): float32. */
  kvDtype?: KvDtype | 'auto';
}

/** MINICACHE_DEVICE_KV=float32|float16 overrides 'auto' (e.g. a GPU whose WebGPU adapter lacks shader-f16). */
export function resolveKvDtype(ep: OrtEp, want: KvDtype | 'auto' = 'auto'): KvDtype {
  if (want !== 'auto') return want;
  const env = process.env.MINICACHE_DEVICE_KV;
  if (env === 'float32' || env === 'float16') return env;
  return ep === 'webgpu' && describeEp('webgpu').adapter?.fallback ? 'float32' : 'float16';
}

export class OrtDeviceDecoder implements DeviceDecoder {
  readonly exec: OrtGraphExec;
  /** The decoder's variants by K/V outputs: 'both' made up front, 'new' (no present) on first use. */
  private readonly sessions = new Map<'both' | 'new', Promise<ort.InferenceSession>>();

  private constructor(
    readonly model: ModelInfo,
    readonly executionProvider: OrtEp,
    readonly kv: KvDtype,
    session: ort.InferenceSession,
    private readonly make: (kvOutputs: 'both' | 'new') => Promise<ort.InferenceSession>,
    options: DeviceDecoderOptions,
  ) {
    this.exec = new OrtGraphExec(options.ep, kv, options);
    this.sessions.set(DEVICE_KV_OUTPUTS, Promise.resolve(session));
  }

  static async fromLlama2c(
    weights: Llama2cModel,
    model: ModelInfo,
    opts: DeviceDecoderOptions & { ropeTheta?: number; rmsEps?: number },
  ): Promise<OrtDeviceDecoder> {
    const kv = resolveKvDtype(opts.ep, opts.kvDtype);
    const make = async (kvOutputs: 'both' | 'new') => {
      const bytes = buildLlamaOnnx(weights, { logits: 'last', kvOutputs, kvDtype: kv, ropeTheta: opts.ropeTheta, rmsEps: opts.rmsEps, name: model.name });
      const options = sessionOptions(opts.ep, opts);
      if (isDeviceEp(opts.ep)) options.preferredOutputLocation = deviceOutputLocations(model.layers, kvOutputs);
      try {
        return await ort.InferenceSession.create(bytes, options);
      } catch (e) {
        throw explainEpFailure(opts.ep, e);
      }
    };
    return new OrtDeviceDecoder(model, opts.ep, kv, await make(DEVICE_KV_OUTPUTS), make, opts);
  }

  /** From a model card (llama2.c cards only: the device graph is built from the weights). */
  static async fromCard(cardPath: string, model: ModelInfo, opts: DeviceDecoderOptions): Promise<OrtDeviceDecoder> {
    const card = readModelCard(cardPath);
    if (card.format !== 'llama2c') throw new Error(`the device-resident cache path needs a llama2.c model (the harness builds its fp16-KV graph); ${card.name} is ${card.format}`);
    const weights = parseLlama2c(new Uint8Array(readFileSync(card.path)), { dtype: card.dtype });
    return OrtDeviceDecoder.fromLlama2c(weights, model, { ...opts, ropeTheta: card.ropeTheta, rmsEps: card.rmsEps });
  }

  async forward(req: DeviceForwardRequest): Promise<{ logits: Float32Array; present: StepKV[] }> {
    const feeds = deviceForwardFeeds(req, this.model, this.kv, (type, data, dims) => new ort.Tensor(type, data, dims));
    const session = await this.session(forwardKvOutputs(req));
    const out = await session.run(feeds as Record<string, ort.Tensor>);
    const logitsT = out[N.logits]!;
    const logits = lastPositionLogits(logitsT.data as Float32Array, logitsT.dims, this.model.vocabSize);
    return { logits, present: presentOf(out, this.model.layers) };
  }

  async prepare(kvOutputs: 'both' | 'new'): Promise<void> {
    await this.session(kvOutputs);
  }

  private session(variant: 'both' | 'new'): Promise<ort.InferenceSession> {
    if (!this.sessions.has(variant)) this.sessions.set(variant, this.make(variant));
    return this.sessions.get(variant)!;
  }

  async dispose(): Promise<void> {
    for (const s of this.sessions.values()) await (await s).release();
    this.sessions.clear();
    await this.exec.dispose();
  }
}
