/**
 * GraphExec over onnxruntime-node: runs the cache-op graphs of src/gpu on the model's EP, one
 * InferenceSession per graph variant, outputs kept where the cache lives: 'gpu-buffer' on the
 * WebGPU EP (fed straight into the next session without a host copy), host memory on the CPU EP.
 *
 * Reading a gpu-buffer tensor back: onnxruntime-node 1.30 aborts the process in
 * Tensor.getData() for WebGPU buffers, so `read` runs an Identity session whose output is
 * placed on the host instead (tests and MiniCache's small retention flags only).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { decodeHalf } from '../../src/kernels/half.js';
import type { DeviceTensor, GraphExec, GraphSpec } from '../../src/gpu/device-types.js';
import { GraphKit, type KvDtype } from '../../src/gpu/graph-kit.js';
import { DataType } from '../../src/model/onnx-graph.js';
import { explainEpFailure, sessionOptions, type OrtEp, type OrtSessionTuning } from './ort-ep.js';

export interface OrtGraphExecOptions extends OrtSessionTuning {
  /** Refuse any node the EP cannot run (onnxruntime's session.disable_cpu_ep_fallback): proves a graph runs on the device. */
  strictPlacement?: boolean;
}

/** True where tensors can live off the host (the EPs with a device). */
export function isDeviceEp(ep: OrtEp): boolean {
  return ep !== 'cpu';
}

/** MINICACHE_DUMP_GRAPHS=dir: writes every cache-op graph as dir/<n>.onnx (+ its key), to read a profile's node names against. */
let dumped = 0;
function dumpGraph(key: string, bytes: Uint8Array): void {
  const dir = process.env.MINICACHE_DUMP_GRAPHS;
  if (!dir) return;
  mkdirSync(dir, { recursive: true });
  const n = String(dumped++).padStart(3, '0');
  writeFileSync(join(dir, `${n}.onnx`), bytes);
  writeFileSync(join(dir, `${n}.key.txt`), key);
}

export class OrtGraphExec implements GraphExec {
  private readonly sessions = new Map<string, Promise<ort.InferenceSession>>();
  /** Session creations and runs, for diagnostics. */
  readonly stats = { sessions: 0, runs: 0 };

  constructor(
    readonly ep: OrtEp,
    readonly kv: KvDtype,
    private readonly options: OrtGraphExecOptions = {},
  ) {}

  private location(spec: GraphSpec, outputs: readonly string[]): ort.InferenceSession.SessionOptions['preferredOutputLocation'] {
    if (!isDeviceEp(this.ep)) return undefined;
    const host = new Set(spec.hostOutputs ?? []);
    const loc: Record<string, ort.Tensor.DataLocation> = {};
    for (const o of outputs) loc[o] = host.has(o) ? 'cpu' : 'gpu-buffer';
    return loc;
  }

  session(spec: GraphSpec): Promise<ort.InferenceSession> {
    let s = this.sessions.get(spec.key);
    if (!s) {
      s = this.create(spec);
      this.sessions.set(spec.key, s);
    }
    return s;
  }

  private async create(spec: GraphSpec): Promise<ort.InferenceSession> {
    const bytes = spec.build();
    dumpGraph(spec.key, bytes);
    const base = sessionOptions(this.ep, this.options);
    // Per-output locations need the output names before the session exists: read them from the bytes.
    const options: ort.InferenceSession.SessionOptions = { ...base };
    if (this.options.strictPlacement && isDeviceEp(this.ep)) options.extra = { session: { disable_cpu_ep_fallback: '1' } };
    try {
      if (isDeviceEp(this.ep)) {
        const names = outputNamesOf(bytes);
        options.preferredOutputLocation = this.location(spec, names);
      }
      this.stats.sessions++;
      return await ort.InferenceSession.create(bytes, options);
    } catch (e) {
      throw explainEpFailure(this.ep, e);
    }
  }

  async run(spec: GraphSpec, feeds: Readonly<Record<string, DeviceTensor>>): Promise<Record<string, DeviceTensor>> {
    const s = await this.session(spec);
    this.stats.runs++;
    return (await s.run(feeds as Record<string, ort.Tensor>)) as Record<string, DeviceTensor>;
  }

  upload(type: 'int32' | 'float32', data: Int32Array | Float32Array, dims: readonly number[]): DeviceTensor {
    return new ort.Tensor(type, data, dims);
  }

  async read(t: DeviceTensor): Promise<Float32Array | Int32Array> {
    let x = t as ort.Tensor;
    let temp: ort.Tensor | undefined;
    if (x.location !== 'cpu') {
      const type = x.type === 'float16' ? DataType.FLOAT16 : x.type === 'int32' ? DataType.INT32 : DataType.FLOAT;
      const shape = x.dims.map((_, i) => `d${i}`);
      const spec: GraphSpec = {
        key: `__read_${x.type}_${x.dims.length}`,
        hostOutputs: ['y'],
        build: () => {
          const g = new GraphKit(this.kv);
          g.input('x', type, shape);
          g.output('y', g.op('Identity', ['x']), type, shape);
          return g.encode('read');
        },
      };
      const out = await this.run(spec, { x });
      temp = out.y as ort.Tensor;
      x = temp;
    }
    if (x.type === 'float16') {
      const src = x.data as Uint16Array;
      const f = new Float32Array(src.length);
      decodeHalf(src, f);
      temp?.dispose();
      return f;
    }
    const data = (x.data as Float32Array | Int32Array).slice();
    temp?.dispose();
    return data;
  }

  async dispose(): Promise<void> {
    for (const s of this.sessions.values()) await (await s).release().catch(() => {});
    this.sessions.clear();
  }
}

/** Graph output names of an encoded model, read from the ONNX bytes (GraphProto.output ValueInfo names). */
export function outputNamesOf(bytes: Uint8Array): string[] {
  // ModelProto.graph = field 7; GraphProto.output = field 12; ValueInfoProto.name = field 1.
  const graph = field(bytes, 7)[0];
  if (!graph) return [];
  return field(graph, 12).map((vi) => new TextDecoder().decode(field(vi, 1)[0] ?? new Uint8Array()));
}

function field(buf: Uint8Array, num: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  let i = 0;
  const varint = (): number => {
    let v = 0;
    let mul = 1;
    for (;;) {
      const b = buf[i++]!;
      v += (b & 0x7f) * mul;
      if (b < 0x80) return v;
      mul *= 128;
    }
  };
  while (i < buf.length) {
    const key = varint();
    const wire = key & 7;
    const f = Math.floor(key / 8);
    if (wire === 0) varint();
    else if (wire === 1) i += 8;
    else if (wire === 5) i += 4;
    else if (wire === 2) {
      const len = varint();
      if (f === num) out.push(buf.subarray(i, i + len));
      i += len;
    } else throw new Error(`outputNamesOf: unsupported wire type ${wire}`);
  }
  return out;
}

