/**
 * GraphExec over onnxruntime-web: runs src/gpu's cache-op graphs (the device-resident cache
 * path shared with the Node runner) on the page's EP, one session per graph variant. On the
 * WebGPU EP every output stays in a GPU buffer and is fed straight into the next session; the
 * few tensors the host reads (MiniCache's retention flags, fences) are downloaded by read().
 * The twin of runners/node/ort-device-cache.ts.
 */
import * as ort from 'onnxruntime-web';
import type { DeviceTensor, GraphExec, GraphSpec } from '../../../src/gpu/device-types.js';
import type { KvDtype } from '../../../src/gpu/graph-kit.js';
import { decodeHalf } from '../../../src/kernels/half.js';
import type { BrowserEp } from '../protocol.js';
import { sessionOptions } from './web-backend.js';

export class WebGraphExec implements GraphExec {
  private readonly sessions = new Map<string, Promise<ort.InferenceSession>>();
  /** Session creations and runs, for diagnostics. */
  readonly stats = { sessions: 0, runs: 0 };

  constructor(
    readonly ep: BrowserEp,
    readonly kv: KvDtype,
  ) {}

  private session(spec: GraphSpec): Promise<ort.InferenceSession> {
    let s = this.sessions.get(spec.key);
    if (!s) {
      this.stats.sessions++;
      // Every output on the device (one setting for all: no need to know their names up front);
      // host outputs are tiny and come back through read().
      s = ort.InferenceSession.create(spec.build(), { ...sessionOptions(this.ep), ...(this.ep === 'webgpu' ? { preferredOutputLocation: 'gpu-buffer' as const } : {}) });
      this.sessions.set(spec.key, s);
    }
    return s;
  }

  async run(spec: GraphSpec, feeds: Readonly<Record<string, DeviceTensor>>): Promise<Record<string, DeviceTensor>> {
    const s = await this.session(spec);
    this.stats.runs++;
    return (await s.run(feeds as Record<string, ort.Tensor>)) as Record<string, DeviceTensor>;
  }

  upload(type: 'int32' | 'float32', data: Int32Array | Float32Array, dims: readonly number[]): DeviceTensor {
    return new ort.Tensor(type, data, dims);
  }

  /** A host copy; waits for the device work that produced the tensor (which is what fences rely on). */
  async read(t: DeviceTensor): Promise<Float32Array | Int32Array> {
    const x = t as ort.Tensor;
    const data = (x.location === 'cpu' ? x.data : await x.getData()) as ArrayLike<number> | Uint16Array;
    if (x.type === 'float16') {
      // ORT returns float16 as raw bits (Uint16Array), or as a Float16Array where the browser has one.
      if (data instanceof Uint16Array) {
        const f = new Float32Array(data.length);
        decodeHalf(data, f);
        return f;
      }
      return Float32Array.from(data as ArrayLike<number>);
    }
    return x.type === 'int32' ? Int32Array.from(data as ArrayLike<number>) : Float32Array.from(data as ArrayLike<number>);
  }

  async dispose(): Promise<void> {
    for (const s of this.sessions.values()) await (await s.catch(() => undefined))?.release().catch(() => {});
    this.sessions.clear();
  }
}
