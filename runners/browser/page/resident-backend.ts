/**
 * The WebGPU backend that can keep the exact cache on the GPU between decode steps.
 *
 * Its session asks onnxruntime-web for the present.* outputs as GPU buffers
 * (`preferredOutputLocation: 'gpu-buffer'`). While a device-resident method is attached
 * (DeviceResidentMethod, which the page uses for `fp16` on this EP), every step feeds the
 * previous step's present tensors straight back as past_key_values: no byte of the cache
 * crosses to the host, only the logits come back. Otherwise (every compressed method, whose
 * compress/restore kernels run in the engine on the host) the present tensors are read back
 * and the past uploaded each step, as on the wasm EP: metrics.cacheLocation says 'host'.
 */
import * as ort from 'onnxruntime-web';
import type { ForwardRequest, ForwardResult, ModelInfo } from '../../../src/engine/backend.js';
import type { KVBlock } from '../../../src/engine/kv-block.js';
import { checkForwardRequest, lastTokens } from '../../../src/model/decoder-io.js';
import { layerName, type DecoderIoNames } from '../../../src/model/io-names.js';
import type { BrowserEp, CacheLocation } from '../protocol.js';
import { baseFeeds, floatsOf, kvTensor, pickLogits, WebBackend, type SessionFactory } from './web-backend.js';

/** What a device-resident method needs from the backend. */
export interface ResidentCacheHost {
  /** Starts a device-resident cache (drops any previous one); returns bytes per stored element. */
  attachResident(): number;
  detachResident(): void;
  /** Tokens per sequence the device holds. */
  readonly residentLength: number;
}

export class ResidentWebBackend extends WebBackend implements ResidentCacheHost {
  /** Device tensors of the current resident cache: [key, value] per layer. */
  private resident: [ort.Tensor, ort.Tensor][] | undefined;
  private attached = false;
  private usedDevice = false;
  residentLength = 0;

  constructor(model: ModelInfo, ep: BrowserEp, names: DecoderIoNames, factory: SessionFactory, singleSession: boolean) {
    super(model, ep, names, factory, singleSession);
  }

  protected override options(): ort.InferenceSession.SessionOptions {
    const location: Record<string, ort.Tensor.DataLocation> = {};
    for (let i = 0; i < this.model.layers; i++) {
      location[layerName(this.names.presentKey, i)] = 'gpu-buffer';
      location[layerName(this.names.presentValue, i)] = 'gpu-buffer';
    }
    return { ...super.options(), preferredOutputLocation: location };
  }

  /** Bytes per element of the graph's K/V (what the device holds per cached number). */
  attachResident(): number {
    this.disposeResident();
    this.attached = true;
    this.residentLength = 0;
    return this.kvType === 'float16' ? 2 : 4;
  }

  detachResident(): void {
    this.disposeResident();
    this.attached = false;
    this.residentLength = 0;
  }

  override beginCell(): void {
    this.usedDevice = false;
  }

  override cacheLocationOf(): CacheLocation {
    return this.usedDevice ? 'device' : 'host';
  }

  override async forward(req: ForwardRequest): Promise<ForwardResult> {
    if (!this.attached) return this.hostForward(req);
    const m = this.model;
    const P = checkForwardRequest(req, m);
    if (P !== this.residentLength) throw new Error(`forward: the device holds ${this.residentLength} cached tokens, the request says ${P}`);
    const io = await this.session(req.allLogits === true);
    const n = this.names;
    const feeds = baseFeeds(io, n, req, P);
    const empty = [req.batch, m.kvHeads, 0, m.headDim];
    for (let i = 0; i < m.layers; i++) {
      // The first forward (the prompt) starts from an empty past; later ones feed the device tensors.
      const [k, v] = this.resident?.[i] ?? [kvTensor(new Float32Array(0), empty, io.kvType), kvTensor(new Float32Array(0), empty, io.kvType)];
      feeds[layerName(n.pastKey, i)] = k;
      feeds[layerName(n.pastValue, i)] = v;
    }
    const out = await io.session.run(feeds);
    const logits = pickLogits(out, n, m, req.allLogits === true);
    this.usedDevice = true;
    this.disposeResident();
    this.resident = Array.from({ length: m.layers }, (_, i) => [out[layerName(n.presentKey, i)]!, out[layerName(n.presentValue, i)]!]);
    this.residentLength = P + req.tokens;
    // The engine's method is device-resident: it takes no host copy of the new K/V.
    const present: KVBlock[] = Array.from({ length: m.layers }, () => ({ k: new Float32Array(0), v: new Float32Array(0), tokens: req.tokens }));
    return { logits, present };
  }

  /** The host path on a gpu-buffer session: present tensors are read back, past uploaded. */
  private async hostForward(req: ForwardRequest): Promise<ForwardResult> {
    const m = this.model;
    const P = checkForwardRequest(req, m);
    const io = await this.session(req.allLogits === true);
    const n = this.names;
    const feeds = baseFeeds(io, n, req, P);
    const kvDims = [req.batch, m.kvHeads, P, m.headDim];
    req.past.forEach((blk, i) => {
      feeds[layerName(n.pastKey, i)] = kvTensor(blk.k, kvDims, io.kvType);
      feeds[layerName(n.pastValue, i)] = kvTensor(blk.v, kvDims, io.kvType);
    });
    const out = await io.session.run(feeds);
    const logits = pickLogits(out, n, m, req.allLogits === true);
    const rows = req.batch * m.kvHeads;
    const present: KVBlock[] = [];
    for (let i = 0; i < m.layers; i++) {
      const pair: KVBlock = { k: new Float32Array(0), v: new Float32Array(0), tokens: req.tokens };
      for (const [role, name] of [['k', n.presentKey], ['v', n.presentValue]] as const) {
        const t = out[layerName(name, i)]!;
        const total = t.dims[2]!;
        if (total !== P + req.tokens) throw new Error(`forward: ${layerName(name, i)} has ${total} tokens, expected past ${P} + new ${req.tokens}`);
        const host = t.location === 'gpu-buffer' ? new ort.Tensor(t.type as 'float32', (await t.getData(true)) as Float32Array, t.dims) : t;
        pair[role] = lastTokens(floatsOf(host), rows, total, req.tokens, m.headDim);
      }
      present.push(pair);
    }
    return { logits, present };
  }

  private disposeResident(): void {
    for (const [k, v] of this.resident ?? []) {
      k.dispose();
      v.dispose();
    }
    this.resident = undefined;
  }

  override async dispose(): Promise<void> {
    this.detachResident();
    await super.dispose();
  }
}

/** The backend for an EP: the resident-capable one on WebGPU, the plain one on WASM. */
export function makeBackend(model: ModelInfo, ep: BrowserEp, names: DecoderIoNames, factory: SessionFactory, singleSession: boolean): WebBackend {
  return ep === 'webgpu' ? new ResidentWebBackend(model, ep, names, factory, singleSession) : new WebBackend(model, ep, names, factory, singleSession);
}
