/**
 * safetensors: an 8-byte little-endian header length N, N bytes of JSON
 * ({name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__"?: {...}}), then the tensors'
 * bytes (offsets relative to the end of the header). Only the header is read here; a tensor's
 * bytes are read on demand through the byte-range reader the runner injects (no I/O in src/), so
 * a 13.5 GB model streams one tensor at a time.
 */
import { encodeHalfBits, halfToFloat } from '../kernels/half.js';

export type ByteRangeReader = (offset: number, length: number) => Promise<Uint8Array>;

export type TensorDtype = 'F16' | 'BF16' | 'F32';
const ELEMENT_BYTES: Record<string, number> = { F16: 2, BF16: 2, F32: 4, F64: 8, I8: 1, U8: 1, I16: 2, U16: 2, I32: 4, U32: 4, I64: 8, U64: 8, BOOL: 1, F8_E4M3: 1, F8_E5M2: 1 };
/** Weight types the engine converts to fp16 on load. */
export const WEIGHT_DTYPES: readonly TensorDtype[] = ['F16', 'BF16', 'F32'];

export interface TensorEntry {
  name: string;
  dtype: string;
  shape: number[];
  /** The file holding it (for messages and for the reader). */
  file: string;
  /** Absolute byte range in the file. */
  begin: number;
  end: number;
}

/** Largest header accepted (the format's reference implementation uses 100 MB). */
const MAX_HEADER = 100_000_000;

/** Reads one file's header: its tensors, with absolute byte offsets checked against the file size. */
export async function readSafetensorsHeader(file: string, fileSize: number, read: ByteRangeReader): Promise<TensorEntry[]> {
  const bad = (msg: string): never => {
    throw new Error(`${file}: ${msg}`);
  };
  if (fileSize < 8) bad(`${fileSize} bytes is too short for a safetensors file`);
  const lenBytes = await read(0, 8);
  const n = Number(new DataView(lenBytes.buffer, lenBytes.byteOffset, 8).getBigUint64(0, true));
  if (n <= 0 || n > MAX_HEADER || 8 + n > fileSize) bad(`header length ${n} does not fit the file (${fileSize} bytes): not a safetensors file`);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder().decode(await read(8, n))) as Record<string, unknown>;
  } catch (e) {
    return bad(`header is not JSON (${(e as Error).message})`);
  }
  const dataStart = 8 + n;
  const out: TensorEntry[] = [];
  for (const [name, v] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const t = v as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const dtype = String(t?.dtype);
    const shape = t?.shape;
    const off = t?.data_offsets;
    if (!(dtype in ELEMENT_BYTES)) bad(`tensor ${name}: unknown dtype ${dtype}`);
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) bad(`tensor ${name}: shape must be a list of sizes`);
    if (!Array.isArray(off) || off.length !== 2 || !off.every((d) => Number.isInteger(d) && d >= 0) || off[1] < off[0]) bad(`tensor ${name}: data_offsets must be [begin, end]`);
    const [b, e] = off as [number, number];
    const count = (shape as number[]).reduce((a, d) => a * d, 1);
    if (e - b !== count * ELEMENT_BYTES[dtype]!) bad(`tensor ${name}: ${e - b} bytes for shape [${(shape as number[]).join(', ')}] of ${dtype}`);
    if (dataStart + e > fileSize) bad(`tensor ${name}: bytes ${dataStart + b}..${dataStart + e} lie past the end of the file (${fileSize} bytes; truncated download?)`);
    out.push({ name, dtype, shape: shape as number[], file, begin: dataStart + b, end: dataStart + e });
  }
  return out;
}

/** model.safetensors.index.json: tensor name → shard file name. */
export function parseSafetensorsIndex(text: string, file: string): Map<string, string> {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new Error(`${file}: not JSON (${(e as Error).message})`);
  }
  const map = (v as { weight_map?: unknown })?.weight_map;
  if (!map || typeof map !== 'object' || Array.isArray(map)) throw new Error(`${file}: weight_map: missing (a mapping of tensor name → shard file)`);
  const out = new Map<string, string>();
  for (const [k, f] of Object.entries(map as Record<string, unknown>)) {
    if (typeof f !== 'string' || !f) throw new Error(`${file}: weight_map.${k}: must be a file name`);
    out.set(k, f);
  }
  return out;
}

function copyAligned(bytes: Uint8Array): ArrayBuffer {
  // A fresh buffer: typed views need alignment, and the caller may drop the read buffer.
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}

/**
 * A tensor's bytes as fp16 bits (round to nearest even; bf16 and f32 values beyond fp16's range
 * become ±Inf, reported by the caller through countNonFinite).
 */
export function tensorToHalf(bytes: Uint8Array, dtype: string): Uint16Array {
  if (dtype === 'F16') return new Uint16Array(copyAligned(bytes));
  if (dtype === 'F32') {
    const bits = new Uint32Array(copyAligned(bytes));
    const out = new Uint16Array(bits.length);
    encodeHalfBits(bits, 0, out, 0, bits.length);
    return out;
  }
  if (dtype === 'BF16') {
    // bf16 is the top half of an f32: widen a chunk at a time, then round to fp16 in place
    const h = new Uint16Array(copyAligned(bytes));
    const chunk = new Uint32Array(Math.min(h.length, 1 << 16));
    for (let i = 0; i < h.length; i += chunk.length) {
      const n = Math.min(chunk.length, h.length - i);
      for (let j = 0; j < n; j++) chunk[j] = h[i + j]! << 16;
      encodeHalfBits(chunk, 0, h, i, n);
    }
    return h;
  }
  throw new Error(`dtype ${dtype} is not a weight type the engine reads (${WEIGHT_DTYPES.join(', ')})`);
}

/** A tensor's bytes as float32 (for norm vectors, which the engine keeps in f32). */
export function tensorToFloat(bytes: Uint8Array, dtype: string): Float32Array {
  if (dtype === 'F32') return new Float32Array(copyAligned(bytes));
  if (dtype === 'BF16') {
    const h = new Uint16Array(copyAligned(bytes));
    const out = new Uint32Array(h.length);
    for (let i = 0; i < h.length; i++) out[i] = h[i]! << 16;
    return new Float32Array(out.buffer);
  }
  if (dtype === 'F16') return Float32Array.from(new Uint16Array(copyAligned(bytes)), (x) => halfToFloat(x));
  throw new Error(`dtype ${dtype} is not a weight type the engine reads (${WEIGHT_DTYPES.join(', ')})`);
}

/** fp16 values that are Inf or NaN (a bf16/f32 weight out of fp16's range). */
export function countNonFiniteHalf(h: Uint16Array): number {
  let n = 0;
  for (let i = 0; i < h.length; i++) if ((h[i]! & 0x7c00) === 0x7c00) n++;
  return n;
}
