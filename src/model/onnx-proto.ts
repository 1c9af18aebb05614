/**
 * A minimal ONNX protobuf writer: just the messages a decoder graph needs (ModelProto,
 * GraphProto, NodeProto, AttributeProto, TensorProto with raw_data, ValueInfoProto,
 * OperatorSetIdProto). Field numbers follow onnx.proto (checked against the generated
 * decoder shipped in onnxruntime-web, and by onnxruntime loading the result).
 *
 * Large tensor payloads are kept by reference until `encodeModel` copies everything once
 * into the final buffer, so a ~40 MB model costs one copy.
 */

/** TensorProto.DataType values used here. */
export const DataType = {
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  INT32: 6,
  INT64: 7,
  BOOL: 9,
  FLOAT16: 10,
} as const;
export type DataType = (typeof DataType)[keyof typeof DataType];

/** AttributeProto.AttributeType values. */
const AttrType = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, FLOATS: 6, INTS: 7, STRINGS: 8 } as const;

export interface TensorInit {
  name: string;
  dataType: DataType;
  dims: readonly number[];
  /** Little-endian element bytes, row-major. */
  rawData: Uint8Array;
}

export type AttributeInit =
  | { name: string; kind: 'float'; value: number }
  | { name: string; kind: 'int'; value: number }
  | { name: string; kind: 'string'; value: string }
  | { name: string; kind: 'tensor'; value: TensorInit }
  | { name: string; kind: 'floats'; value: readonly number[] }
  | { name: string; kind: 'ints'; value: readonly number[] }
  | { name: string; kind: 'strings'; value: readonly string[] };

export interface NodeInit {
  opType: string;
  inputs: readonly string[];
  outputs: readonly string[];
  name?: string;
  domain?: string;
  attributes?: readonly AttributeInit[];
}

/** A tensor-typed graph input or output; string dims are symbolic (dim_param). */
export interface ValueInfoInit {
  name: string;
  elemType: DataType;
  shape: readonly (number | string)[];
}

export interface GraphInit {
  name: string;
  nodes: readonly NodeInit[];
  initializers: readonly TensorInit[];
  inputs: readonly ValueInfoInit[];
  outputs: readonly ValueInfoInit[];
}

export interface ModelInit {
  irVersion: number;
  opsets: readonly { domain: string; version: number }[];
  producerName: string;
  producerVersion?: string;
  docString?: string;
  graph: GraphInit;
  /** ModelProto.metadata_props (string → string). */
  metadata?: Readonly<Record<string, string>>;
}

/** Convenience constructors for attributes. */
export const attr = {
  float: (name: string, value: number): AttributeInit => ({ name, kind: 'float', value }),
  int: (name: string, value: number): AttributeInit => ({ name, kind: 'int', value }),
  string: (name: string, value: string): AttributeInit => ({ name, kind: 'string', value }),
  tensor: (name: string, value: TensorInit): AttributeInit => ({ name, kind: 'tensor', value }),
  floats: (name: string, value: readonly number[]): AttributeInit => ({ name, kind: 'floats', value }),
  ints: (name: string, value: readonly number[]): AttributeInit => ({ name, kind: 'ints', value }),
  strings: (name: string, value: readonly string[]): AttributeInit => ({ name, kind: 'strings', value }),
};

const WIRE_VARINT = 0;
const WIRE_LEN = 2;
const WIRE_FIXED32 = 5;
const utf8 = new TextEncoder();

/**
 * Accumulates one message's bytes. Small fields go into a growing scratch buffer; big byte
 * payloads and nested messages are appended as parts, so nothing large is copied twice.
 */
class ProtoWriter {
  private readonly parts: (Uint8Array | ProtoWriter)[] = [];
  private scratch = new Uint8Array(64);
  private pos = 0;
  /** Total encoded length in bytes. */
  length = 0;

  private ensure(n: number): void {
    if (this.pos + n <= this.scratch.length) return;
    const next = new Uint8Array(Math.max(this.scratch.length * 2, this.pos + n));
    next.set(this.scratch.subarray(0, this.pos));
    this.scratch = next;
  }

  private flushScratch(): void {
    if (this.pos === 0) return;
    this.parts.push(this.scratch.subarray(0, this.pos));
    this.scratch = new Uint8Array(64);
    this.pos = 0;
  }

  /** Unsigned varint; negative numbers are written as 64-bit two's complement (10 bytes), as int64 requires. */
  varint(n: number | bigint): void {
    this.ensure(10);
    const start = this.pos;
    if (typeof n === 'number' && n >= 0 && Number.isSafeInteger(n)) {
      while (n >= 0x80) {
        this.scratch[this.pos++] = (n % 0x80) | 0x80;
        n = Math.floor(n / 0x80);
      }
      this.scratch[this.pos++] = n;
    } else {
      let b = BigInt.asUintN(64, BigInt(n));
      while (b >= 0x80n) {
        this.scratch[this.pos++] = Number(b & 0x7fn) | 0x80;
        b >>= 7n;
      }
      this.scratch[this.pos++] = Number(b);
    }
    this.length += this.pos - start;
  }

  tag(field: number, wire: number): void {
    this.varint((field << 3) | wire);
  }

  int(field: number, n: number): void {
    this.tag(field, WIRE_VARINT);
    this.varint(n);
  }

  float(field: number, x: number): void {
    this.tag(field, WIRE_FIXED32);
    this.ensure(4);
    new DataView(this.scratch.buffer, this.scratch.byteOffset).setFloat32(this.pos, x, true);
    this.pos += 4;
    this.length += 4;
  }

  bytes(field: number, data: Uint8Array): void {
    this.tag(field, WIRE_LEN);
    this.varint(data.length);
    if (data.length <= 256) {
      this.ensure(data.length);
      this.scratch.set(data, this.pos);
      this.pos += data.length;
    } else {
      this.flushScratch();
      this.parts.push(data);
    }
    this.length += data.length;
  }

  string(field: number, s: string): void {
    this.bytes(field, utf8.encode(s));
  }

  message(field: number, m: ProtoWriter): void {
    this.tag(field, WIRE_LEN);
    this.varint(m.length);
    this.flushScratch();
    this.parts.push(m);
    this.length += m.length;
  }

  /** Packed repeated varints (int64). */
  packedInts(field: number, values: readonly number[]): void {
    const inner = new ProtoWriter();
    for (const v of values) inner.varint(v);
    this.message(field, inner);
  }

  packedFloats(field: number, values: readonly number[]): void {
    const data = new Uint8Array(values.length * 4);
    const dv = new DataView(data.buffer);
    values.forEach((v, i) => dv.setFloat32(i * 4, v, true));
    this.bytes(field, data);
  }

  /** Copies every part into `out` at `offset`; returns the offset after the last byte. */
  writeTo(out: Uint8Array, offset: number): number {
    this.flushScratch();
    for (const p of this.parts) {
      if (p instanceof ProtoWriter) offset = p.writeTo(out, offset);
      else {
        out.set(p, offset);
        offset += p.length;
      }
    }
    return offset;
  }
}

function tensorProto(t: TensorInit): ProtoWriter {
  const w = new ProtoWriter();
  w.packedInts(1, t.dims); // dims
  w.int(2, t.dataType); // data_type
  w.string(8, t.name); // name
  w.bytes(9, t.rawData); // raw_data
  return w;
}

function attributeProto(a: AttributeInit): ProtoWriter {
  const w = new ProtoWriter();
  w.string(1, a.name);
  switch (a.kind) {
    case 'float':
      w.float(2, a.value);
      w.int(20, AttrType.FLOAT);
      break;
    case 'int':
      w.int(3, a.value);
      w.int(20, AttrType.INT);
      break;
    case 'string':
      w.string(4, a.value);
      w.int(20, AttrType.STRING);
      break;
    case 'tensor':
      w.message(5, tensorProto(a.value));
      w.int(20, AttrType.TENSOR);
      break;
    case 'floats':
      w.packedFloats(7, a.value);
      w.int(20, AttrType.FLOATS);
      break;
    case 'ints':
      w.packedInts(8, a.value);
      w.int(20, AttrType.INTS);
      break;
    case 'strings':
      for (const s of a.value) w.string(9, s);
      w.int(20, AttrType.STRINGS);
      break;
  }
  return w;
}

function nodeProto(n: NodeInit): ProtoWriter {
  const w = new ProtoWriter();
  for (const i of n.inputs) w.string(1, i);
  for (const o of n.outputs) w.string(2, o);
  if (n.name) w.string(3, n.name);
  w.string(4, n.opType);
  for (const a of n.attributes ?? []) w.message(5, attributeProto(a));
  if (n.domain) w.string(7, n.domain);
  return w;
}

function valueInfoProto(v: ValueInfoInit): ProtoWriter {
  const shape = new ProtoWriter();
  for (const d of v.shape) {
    const dim = new ProtoWriter();
    if (typeof d === 'number') dim.int(1, d); // dim_value
    else dim.string(2, d); // dim_param
    shape.message(1, dim);
  }
  const tensorType = new ProtoWriter();
  tensorType.int(1, v.elemType); // elem_type
  tensorType.message(2, shape);
  const type = new ProtoWriter();
  type.message(1, tensorType); // TypeProto.tensor_type
  const w = new ProtoWriter();
  w.string(1, v.name);
  w.message(2, type);
  return w;
}

function graphProto(g: GraphInit): ProtoWriter {
  const w = new ProtoWriter();
  for (const n of g.nodes) w.message(1, nodeProto(n));
  w.string(2, g.name);
  for (const t of g.initializers) w.message(5, tensorProto(t));
  for (const i of g.inputs) w.message(11, valueInfoProto(i));
  for (const o of g.outputs) w.message(12, valueInfoProto(o));
  return w;
}

/** Serialises a model to ONNX protobuf bytes. */
export function encodeModel(m: ModelInit): Uint8Array {
  const w = new ProtoWriter();
  w.int(1, m.irVersion);
  w.string(2, m.producerName);
  if (m.producerVersion) w.string(3, m.producerVersion);
  if (m.docString) w.string(6, m.docString);
  w.message(7, graphProto(m.graph));
  for (const o of m.opsets) {
    const op = new ProtoWriter();
    if (o.domain) op.string(1, o.domain);
    op.int(2, o.version);
    w.message(8, op);
  }
  for (const [key, value] of Object.entries(m.metadata ?? {})) {
    const e = new ProtoWriter();
    e.string(1, key);
    e.string(2, value);
    w.message(14, e);
  }
  const out = new Uint8Array(w.length);
  const end = w.writeTo(out, 0);
  if (end !== out.length) throw new Error(`onnx-proto: wrote ${end} bytes, expected ${out.length}`);
  return out;
}

/** Little-endian bytes of typed data, without copying. */
export function bytesOf(a: Float32Array | BigInt64Array | Int32Array | Uint16Array | Uint8Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

export function floatTensor(name: string, dims: readonly number[], data: Float32Array): TensorInit {
  checkCount(name, dims, data.length);
  return { name, dataType: DataType.FLOAT, dims, rawData: bytesOf(data) };
}

export function int64Tensor(name: string, dims: readonly number[], values: readonly number[]): TensorInit {
  checkCount(name, dims, values.length);
  return { name, dataType: DataType.INT64, dims, rawData: bytesOf(BigInt64Array.from(values, (v) => BigInt(v))) };
}

function checkCount(name: string, dims: readonly number[], n: number): void {
  const want = dims.reduce((a, b) => a * b, 1);
  if (want !== n) throw new Error(`onnx-proto: tensor ${name} has ${n} elements, dims [${dims.join(', ')}] need ${want}`);
}
