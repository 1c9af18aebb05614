/**
 * Helpers for the cache-op graphs: a GraphBuilder plus the handful of idioms they all need.
 *
 * Every graph here must run entirely on onnxruntime's WebGPU EP (checked in tests by creating
 * sessions with session.disable_cpu_ep_fallback). That EP lacks several ONNX ops, so the idioms
 * avoid them on purpose:
 *  - no Round (ties-to-even is built from Floor), no Mod / BitwiseAnd / BitShift (code packing
 *    uses int32 Div/Mul/Add, unpacking a Gather from a table of 16-bit halves), no Or / Not /
 *    IsNaN, no NonZero;
 *  - no uint8 or int64 tensors of data (int32 and floats only; int64 only for constant shapes and
 *    the ScatterND indices, made by a Cast in the graph);
 *  - no Slice of int32 tensors, and no Shape-driven arithmetic (slices use constant starts).
 */
import { encodeHalf } from '../kernels/half.js';
import { bytesOf } from '../model/onnx-proto.js';
import { DataType, GraphBuilder } from '../model/onnx-graph.js';
import { attr, type NodeInit } from '../model/onnx-proto.js';

/** Storage dtype of K/V payloads (fp16 on GPUs with shader-f16; float32 where f16 is missing, e.g. SwiftShader). */
export type KvDtype = 'float16' | 'float32';

export const CACHE_OPSET = 17;

/** Most inputs (Concat) or outputs (Split) per node: with the other side, within 8 storage buffers per shader. */
export const MAX_FANOUT = 6;

export function kvDataType(t: KvDtype): DataType {
  return t === 'float16' ? DataType.FLOAT16 : DataType.FLOAT;
}

export function kvElementBytes(t: KvDtype): number {
  return t === 'float16' ? 2 : 4;
}

/** A graph under construction. Names are plain strings, as in GraphBuilder. */
export class GraphKit {
  readonly b = new GraphBuilder();
  private readonly i32Cache = new Map<string, string>();

  constructor(readonly kv: KvDtype) {}

  get kvType(): DataType {
    return kvDataType(this.kv);
  }

  op(type: string, inputs: readonly string[], attributes?: Parameters<GraphBuilder['op']>[2], out?: string): string {
    return this.b.op(type, inputs, attributes, out);
  }

  f(value: number): string {
    return this.b.float([value], []);
  }

  i64(values: readonly number[], dims?: readonly number[]): string {
    return this.b.int64(values, dims);
  }

  /** An int32 scalar constant (WebGPU keeps int32 on the device; int64 data would fall back to the CPU). */
  i32(value: number): string {
    const key = String(value);
    const hit = this.i32Cache.get(key);
    if (hit) return hit;
    const name = `const_i32_${this.i32Cache.size}`;
    this.b.initializers.push({ name, dataType: DataType.INT32, dims: [], rawData: bytesOf(Int32Array.of(value)) });
    this.i32Cache.set(key, name);
    return name;
  }

  cast(x: string, to: DataType): string {
    return this.op('Cast', [x], [attr.int('to', to)]);
  }

  toF32(x: string): string {
    return this.cast(x, DataType.FLOAT);
  }

  toKv(x: string): string {
    return this.kv === 'float32' ? x : this.cast(x, DataType.FLOAT16);
  }

  /** x rounded through the storage dtype and back to float32 (what storing then reading yields). */
  throughKv(x: string): string {
    return this.kv === 'float32' ? x : this.toF32(this.toKv(x));
  }

  reshape(x: string, dims: readonly number[]): string {
    return this.op('Reshape', [x, this.i64(dims)]);
  }

  /**
   * Concat, nested in groups of at most MAX_FANOUT inputs: a WebGPU shader binds every input and
   * output as a storage buffer, and browsers allow 8 per shader stage by default.
   */
  concat(xs: readonly string[], axis: number): string {
    if (xs.length === 1) return xs[0]!;
    if (xs.length <= MAX_FANOUT) return this.op('Concat', xs, [attr.int('axis', axis)]);
    const groups: string[] = [];
    for (let i = 0; i < xs.length; i += MAX_FANOUT) groups.push(this.concat(xs.slice(i, i + MAX_FANOUT), axis));
    return this.concat(groups, axis);
  }

  /** Split along `axis` into parts of the given sizes, nested like concat (at most MAX_FANOUT outputs per node). */
  split(x: string, sizes: readonly number[], axis: number): string[] {
    if (sizes.length === 1) return [x];
    if (sizes.length <= MAX_FANOUT) return this.b.opN('Split', [x, this.i64(sizes)], sizes.length, [attr.int('axis', axis)]);
    const groups: number[][] = [];
    for (let i = 0; i < sizes.length; i += MAX_FANOUT) groups.push(sizes.slice(i, i + MAX_FANOUT));
    const parts = this.split(x, groups.map((g) => g.reduce((a, b) => a + b, 0)), axis);
    return groups.flatMap((g, i) => this.split(parts[i]!, g, axis));
  }

  /** x[..., start:end] along `axis`, constant bounds (end may be a large number meaning "to the end"). */
  slice(x: string, axis: number, start: number, end: number): string {
    return this.op('Slice', [x, this.i64([start]), this.i64([end]), this.i64([axis])]);
  }

  reduce(type: 'ReduceMin' | 'ReduceMax' | 'ReduceSumSquare', x: string, axis: number, keepdims = true): string {
    return this.op(type, [x], [attr.ints('axes', [axis]), attr.int('keepdims', keepdims ? 1 : 0)]);
  }

  reduceSum(x: string, axis: number, keepdims = true): string {
    return this.op('ReduceSum', [x, this.i64([axis])], [attr.int('keepdims', keepdims ? 1 : 0)]);
  }

  where(cond: string, a: string, b: string): string {
    return this.op('Where', [cond, a, b]);
  }

  /** Round half to even (torch.round) for x ≥ 0, from Floor: WebGPU has no Round. */
  roundHalfEven(x: string): string {
    const f = this.op('Floor', [this.op('Add', [x, this.f(0.5)])]);
    const tie = this.op('Equal', [this.op('Sub', [f, x]), this.f(0.5)]);
    const half = this.op('Floor', [this.op('Mul', [f, this.f(0.5)])]);
    const odd = this.op('Equal', [this.op('Sub', [f, this.op('Mul', [half, this.f(2)])]), this.f(1)]);
    return this.where(this.op('And', [tie, odd]), this.op('Sub', [f, this.f(1)]), f);
  }

  input(name: string, type: DataType, shape: readonly (number | string)[]): string {
    return this.b.input(name, type, shape);
  }

  /**
   * Drops the Identity nodes that output() adds to rename an intermediate as a graph output: the
   * producing node writes the output name itself. On the WebGPU EP an Identity is a device copy of
   * the whole tensor, and a restore names every layer's past this way. An Identity stays when its
   * source is a graph input, an initializer, another graph output or already renamed.
   */
  private foldOutputIdentities(): void {
    const nodes = this.b.nodes;
    const outputs = new Set(this.b.outputs.map((o) => o.name));
    const external = new Set([...this.b.inputs.map((i) => i.name), ...this.b.initializers.map((i) => i.name)]);
    const produced = new Set(nodes.flatMap((n) => n.outputs));
    const rename = new Map<string, string>();
    const drop = new Set<NodeInit>();
    for (const n of nodes) {
      if (n.opType !== 'Identity') continue;
      const [src, dst] = [n.inputs[0]!, n.outputs[0]!];
      if (!outputs.has(dst) || outputs.has(src) || external.has(src) || !produced.has(src) || rename.has(src)) continue;
      rename.set(src, dst);
      drop.add(n);
    }
    if (drop.size === 0) return;
    const r = (x: string) => rename.get(x) ?? x;
    const kept = nodes.filter((n) => !drop.has(n)).map((n) => ({ ...n, inputs: n.inputs.map(r), outputs: n.outputs.map(r) }));
    nodes.splice(0, nodes.length, ...kept);
  }

  /** Marks `value` as graph output `name` (an Identity when the names differ; folded away on encode). */
  output(name: string, value: string, type: DataType, shape: readonly (number | string)[]): void {
    if (value !== name) this.op('Identity', [value], undefined, name);
    this.b.output(name, type, shape);
  }

  encode(graphName: string): Uint8Array {
    this.foldOutputIdentities();
    return this.b.encode({ irVersion: 8, opsets: [{ domain: '', version: CACHE_OPSET }], producerName: 'minicache-bench', graphName });
  }
}

/**
 * Packing of b-bit codes (floats 0…2^b−1 on the last axis, 32/b of them) into one int32 word,
 * element j at bit offset b·j, lowest bits first: the word format of the reference kernels'
 * Uint32 words (spec §3.2), so the device holds exactly the packed bytes (which codes share a word
 * is the caller's layout: see kivi-graph.ts).
 *
 * WebGPU has no shifts or bitwise ops, so the word is built from two exact 16-bit halves:
 * half = Σ c_j·2^(b·j) over 16/b codes (exact in float32), then
 * word = lo + hi_signed·65536 in int32 (hi_signed = hi − 65536 when hi ≥ 32768: no overflow).
 */
export function packWords(g: GraphKit, codes: string, bits: number, dims: readonly number[]): string {
  const perHalf = 16 / bits;
  // [..., 32/b] → [..., 2, 16/b]
  const halves = g.reshape(codes, [...dims, 2, perHalf]);
  const weights = Array.from({ length: perHalf }, (_, j) => 2 ** (bits * j));
  const sums = g.reduceSum(g.op('Mul', [halves, g.b.float(weights)]), -1, false); // [..., 2]
  const [lo, hi] = g.b.opN('Split', [sums, g.i64([1, 1])], 2, [attr.int('axis', -1)]) as [string, string];
  const hiSigned = g.where(g.op('GreaterOrEqual', [hi, g.f(32768)]), g.op('Sub', [hi, g.f(65536)]), hi);
  const loI = g.cast(lo, DataType.INT32);
  const hiI = g.cast(hiSigned, DataType.INT32);
  const word = g.op('Add', [loI, g.op('Mul', [hiI, g.i32(65536)])]);
  return g.reshape(word, dims); // drop the trailing 1
}

/** Row h (0…65535) holds the 16/b codes of the 16-bit half h, lowest bits first, as raw float32 or fp16 bytes (made once per bits and dtype). */
const codeTables = new Map<string, Uint8Array>();
function halfCodeTable(bits: number, type: DataType): Uint8Array {
  const key = `${bits}:${type}`;
  let bytes = codeTables.get(key);
  if (!bytes) {
    const perHalf = 16 / bits;
    const mask = 2 ** bits - 1;
    const t = new Float32Array(65536 * perHalf);
    for (let h = 0; h < 65536; h++) for (let j = 0; j < perHalf; j++) t[h * perHalf + j] = (h >>> (bits * j)) & mask;
    if (type === DataType.FLOAT) bytes = bytesOf(t);
    else {
      const half = new Uint16Array(t.length);
      encodeHalf(t, half);
      bytes = bytesOf(half);
    }
    codeTables.set(key, bytes);
  }
  return bytes;
}

/**
 * Inverse of packWords: int32 words [...dims] → float codes [...dims, 32/b].
 *
 * The codes come from one Gather over a 65536-row table indexed by the word's two 16-bit halves,
 * so the only full-size tensor is the Gather's output (float arithmetic on the halves made six).
 * Int32 Div truncates toward zero: lo = w − trunc(w/65536)·65536 lies in (−65536, 65536), and the
 * unsigned high half is trunc(w/65536) − 1 when lo < 0. A negative index counts from the table's
 * end in Gather, which is exactly the unsigned wrap (−k → 65536 − k), so no sign fix-up is needed.
 */
export function unpackWords(g: GraphKit, words: string, bits: number, dims: readonly number[], type: DataType = DataType.FLOAT): string {
  return gatherCodes(g, halfIndices(g, words), bits, dims, type);
}

/**
 * The Gather indices of unpackWords: int32 words [...] → int32 [..., 2] (low half, high half). A
 * chunked read computes them once over all its words and splits them, rather than once per chunk:
 * six small dispatches per chunk saved.
 */
export function halfIndices(g: GraphKit, words: string): string {
  const h = g.op('Div', [words, g.i32(65536)]);
  const lo = g.op('Sub', [words, g.op('Mul', [h, g.i32(65536)])]);
  const hi = g.op('Sub', [h, g.cast(g.op('Less', [lo, g.i32(0)]), DataType.INT32)]);
  return g.op('Concat', [g.op('Unsqueeze', [lo, g.i64([-1])]), g.op('Unsqueeze', [hi, g.i64([-1])])], [attr.int('axis', -1)]); // [..., 2]
}

/** Codes from halfIndices' output: [...dims, 32/b] in `type`. */
export function gatherCodes(g: GraphKit, idx: string, bits: number, dims: readonly number[], type: DataType = DataType.FLOAT): string {
  const perHalf = 16 / bits;
  // Codes are small integers: exact in fp16 too, so the table can be in the dtype the caller computes in.
  const table = `half_codes_${bits}_${type}`;
  if (!g.b.initializers.some((i) => i.name === table)) g.b.initializers.push({ name: table, dataType: type, dims: [65536, perHalf], rawData: halfCodeTable(bits, type) });
  const codes = g.op('Gather', [table, idx], [attr.int('axis', 0)]); // [..., 2, 16/b]
  return g.reshape(codes, [...dims, 32 / bits]);
}

export { DataType, attr };
