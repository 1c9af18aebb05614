import type { CacheGeometry, KVBlock } from '../engine/kv-block.js';
import type { KernelHeap } from '../kernels/wasm/heap.js';

/**
 * Components a method's held bytes are reported by. Every byte a method holds for the cache
 * belongs to exactly one component; `compressionRatio` is computed from their sum.
 *  - data: stored K/V payload (fp16 values, packed quantized codes, merged directions)
 *  - scales / zeroPoints: quantization group parameters
 *  - residual: full-precision (fp16) residual windows of a quantizer
 *  - magnitudes: per-token norms kept by MiniCache
 *  - retained: original fp16 vectors kept unmerged by MiniCache
 *  - indices: int32 positions of retained tokens
 */
export type ByteComponent = 'data' | 'scales' | 'zeroPoints' | 'residual' | 'magnitudes' | 'retained' | 'indices';
export type ByteBreakdown = Partial<Record<ByteComponent, number>>;

export function totalBytes(b: ByteBreakdown): number {
  let s = 0;
  for (const v of Object.values(b)) s += v ?? 0;
  return s;
}

export function addBytes(into: ByteBreakdown, from: ByteBreakdown): ByteBreakdown {
  for (const [k, v] of Object.entries(from) as [ByteComponent, number][]) into[k] = (into[k] ?? 0) + v;
  return into;
}

/** Per merged layer pair diagnostics (MiniCache and mean-merge). */
export interface PairDiagnostics {
  /** [shallower, deeper] layer indices. */
  pair: [number, number];
  /** Mean cosine similarity of the pair's key / value vectors over all tokens, heads, sequences. */
  cosK: number;
  cosV: number;
  /** Fraction of (token, head, sequence) vectors kept unmerged. */
  retainedFracK: number;
  retainedFracV: number;
  /** Summary of the angular distance d = Ω/π over all merged vectors of the pair (K and V together). */
  angle: { mean: number; p10: number; p50: number; p90: number; max: number };
}

export interface MethodDiagnostics {
  pairs?: PairDiagnostics[];
  /** KIVI: current fp16 residual lengths (tokens) of keys and values. */
  residual?: { keys: number; values: number };
  [extra: string]: unknown;
}

/**
 * A KV-cache compression method. It sees all layers at once (cross-layer methods need it),
 * owns its storage, and reports the exact bytes it holds.
 *
 * Life cycle: prefill(prompt K/V of every layer) once, then for every decode step
 * restore(into buffers) → the model runs on the restored past plus the new token's exact K/V →
 * append(new token's K/V of every layer).
 */
export interface KVCacheMethod {
  readonly name: string;
  readonly geometry: CacheGeometry;
  /** Token slots held per sequence. */
  readonly length: number;
  /** Exact K/V of the prompt for every layer (blocks indexed by layer). */
  prefill(layers: readonly KVBlock[]): void;
  /** Exact K/V of one new token (tokens = 1) for every layer. */
  append(layers: readonly KVBlock[]): void;
  /**
   * Write the restored past of every layer into `out` (one block per layer, each with
   * tokens = this.length and arrays of exactly that size).
   */
  restore(out: readonly KVBlock[]): void;
  /**
   * Optional: restore the past into buffers the method owns (sized for `capacity` tokens per
   * sequence on first use) and return views of them (tokens = this.length). The views stay
   * valid until the method's next call. Lets the kernels write where they compute (the
   * method's WebAssembly heap) with no copy out; the engine prefers it to restore().
   */
  restoreOwned?(capacity: number): KVBlock[];
  bytes(): ByteBreakdown;
  diagnostics(): MethodDiagnostics;
  dispose(): void;
}

export type MethodParams = Record<string, unknown>;
export type MethodFactory = (geometry: CacheGeometry, params: MethodParams) => KVCacheMethod;

/**
 * One growing stream of vectors (the keys or the values of one layer), layout [B, H, n, D].
 * Methods compose through stores: MiniCache keeps its merged directions and unmerged layers in
 * an inner store (fp16 by default, KIVI-4 for "4-bit MiniCache").
 */
export interface TensorStore {
  readonly role: 'key' | 'value';
  readonly length: number;
  /** Append `tokens` tokens given as [B, H, tokens, D]. */
  append(block: Float32Array, tokens: number): void;
  /** Write all `length` tokens as [B, H, length, D] into out (exact size). */
  read(out: Float32Array): void;
  /** The same into the store's kernel heap at byte offset `out`. */
  readPtr(out: number): void;
  readonly heap: KernelHeap;
  bytes(): ByteBreakdown;
  diagnostics?(): Record<string, unknown>;
}

export interface StoreShape {
  batch: number;
  heads: number;
  headDim: number;
}
/** Creates a store whose buffers live in `heap` (the method's kernel heap). */
export type StoreFactory = (shape: StoreShape, role: 'key' | 'value', heap: KernelHeap) => TensorStore;
