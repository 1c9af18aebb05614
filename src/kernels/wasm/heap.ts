/**
 * The kernel heap: one WebAssembly.Memory per cache method from which its stores allocate
 * their fp16 / code / parameter buffers, its scratch and the restore outputs the model reads,
 * so the WebAssembly SIMD kernels (wasm/kernels.ts) run where the data already lives, with no
 * copy in or out. Every kernel also has its TypeScript reference (src/kernels/*.ts), used when
 * WebAssembly is unavailable (or forced by setKernelBackend) and as the test oracle; both give
 * the same bits.
 *
 * Buffers are addressed by byte offsets ("pointers"), which stay valid forever; typed-array
 * views of the memory are re-derived after any allocation, because growing a (non-shared)
 * memory detaches the previous views. That rule, rather than a shared memory, is what keeps
 * views valid: it needs no SharedArrayBuffer (no cross-origin isolation in the browser), and a
 * caller only ever holds views between two allocations (restoreOwned's result, see types.ts).
 */
import { decodeHalf, encodeHalfBits } from '../half.js';
import {
  dequantizeAlongChannels,
  dequantizeAlongTokens,
  quantizeAlongChannels,
  quantizeAlongTokens,
  type QuantBits,
} from '../quantize.js';
import { restoreRows } from '../restore.js';
import { slerpMergeRows, slerpWeightsRows, type MergeRows, type SlerpOptions } from '../slerp.js';
import { KERNELS_WASM_BASE64 } from './kernels-wasm.gen.js';

interface WasmKernels {
  decodeHalfRows(src: number, srcStride: number, dst: number, dstStride: number, rows: number, count: number): void;
  encodeHalfRows(src: number, srcStride: number, dst: number, dstStride: number, rows: number, count: number): void;
  restoreRows(dir: number, dirIsHalf: number, magPrev: number, magCur: number, rows: number, width: number, outPrev: number, outCur: number): void;
  mergeSums(prev: number, cur: number, rows: number, width: number, sums: number): void;
  mergeWrite(prev: number, cur: number, rows: number, width: number, w: number, dir: number): void;
  quantTokens(src: number, tiles: number, srcTileStride: number, width: number, G: number, bits: number, codes: number, codeTileStride: number, scales: number, mins: number, paramTileStride: number): void;
  quantChannels(src: number, rows: number, srcStride: number, width: number, G: number, bits: number, codes: number, codeStride: number, scales: number, mins: number, paramStride: number): void;
  dequantTokens(codes: number, tiles: number, codeTileStride: number, scales: number, mins: number, paramTileStride: number, width: number, G: number, bits: number, out: number, outTileStride: number, tmp: number): void;
  dequantChannels(codes: number, rows: number, codeStride: number, scales: number, mins: number, paramStride: number, width: number, G: number, bits: number, out: number, outStride: number): void;
  // Roofline probes (bench/kernels.bench.ts).
  probeStore(dst: number, n: number): void;
  probeDequant(blk: number, dst: number, n: number): void;
  probeMinMax(src: number, n: number): void;
}

export type KernelBackend = 'wasm' | 'ts';

let compiled: WebAssembly.Module | null | undefined;
let forced: KernelBackend | null = null;

function wasmModule(): WebAssembly.Module | null {
  if (compiled === undefined) {
    try {
      const bin = atob(KERNELS_WASM_BASE64);
      const bytes = new Uint8Array(bin.length);
      for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
      compiled = new WebAssembly.Module(bytes);
    } catch {
      // No WebAssembly SIMD (or synchronous compilation refused): the TypeScript kernels.
      compiled = null;
    }
  }
  return compiled;
}

/** Which kernels new heaps use: 'wasm' when it compiles (default), or force one (tests, benches). */
export function setKernelBackend(backend: KernelBackend | null): void {
  forced = backend;
}

export function defaultKernelBackend(): KernelBackend {
  return forced ?? (wasmModule() ? 'wasm' : 'ts');
}

const PAGE = 65536;
/** Smallest block; also the alignment of every block (whole cache lines for SIMD). */
const MIN_BLOCK = 64;
const MAX_BYTES = 65536 * PAGE - PAGE;

/** Block size class of a request: powers of two, so a store's doubling reuses freed blocks. */
function sizeClass(bytes: number): number {
  return Math.max(MIN_BLOCK, 2 ** Math.ceil(Math.log2(Math.max(1, bytes))));
}

export class KernelHeap {
  readonly memory: WebAssembly.Memory;
  readonly backend: KernelBackend;
  /** The module instance's exports (null on the TypeScript backend); for tests and benches. */
  readonly wasm: WasmKernels | null;
  private top = MIN_BLOCK; // offset 0 stays unused, so 0 is never a valid pointer
  private readonly freeLists = new Map<number, number[]>();
  private readonly sizes = new Map<number, number>();
  private readonly scratch = new Map<string, { ptr: number; bytes: number }>();
  private buf: ArrayBuffer;
  private f32v: Float32Array;
  private f64v: Float64Array;
  private u16v: Uint16Array;
  private u32v: Uint32Array;
  private i32v: Int32Array;

  constructor(backend: KernelBackend = defaultKernelBackend()) {
    this.memory = new WebAssembly.Memory({ initial: 1 });
    const mod = backend === 'wasm' ? wasmModule() : null;
    if (backend === 'wasm' && !mod) throw new Error('kernel heap: WebAssembly kernels are not available here');
    this.backend = backend;
    this.wasm = mod ? (new WebAssembly.Instance(mod, { env: { memory: this.memory } }).exports as unknown as WasmKernels) : null;
    this.buf = this.memory.buffer;
    this.f32v = new Float32Array(this.buf);
    this.f64v = new Float64Array(this.buf);
    this.u16v = new Uint16Array(this.buf);
    this.u32v = new Uint32Array(this.buf);
    this.i32v = new Int32Array(this.buf);
  }

  // ── memory ──────────────────────────────────────────────────────────────────────────────

  /** A block of at least `bytes` bytes, 64-byte aligned, contents unspecified. */
  alloc(bytes: number): number {
    const size = sizeClass(bytes);
    const list = this.freeLists.get(size);
    let ptr = list?.pop();
    if (ptr === undefined) {
      ptr = this.top;
      if (ptr + size > MAX_BYTES) throw new Error(`kernel heap: out of memory (${ptr + size} bytes needed, the WebAssembly limit is 4 GiB)`);
      const have = this.memory.buffer.byteLength;
      if (ptr + size > have) {
        // Grow by at least half again, so the number of grows stays logarithmic.
        const want = Math.min(MAX_BYTES, Math.max(ptr + size, Math.floor(have * 1.5)));
        this.memory.grow(Math.ceil((want - have) / PAGE));
      }
      this.top += size;
    }
    this.sizes.set(ptr, size);
    return ptr;
  }

  /** A zero-filled block. */
  calloc(bytes: number): number {
    const ptr = this.alloc(bytes);
    this.u8(ptr, sizeClass(bytes)).fill(0);
    return ptr;
  }

  free(ptr: number): void {
    const size = this.sizes.get(ptr);
    if (size === undefined) throw new Error(`kernel heap: free of an unknown block ${ptr}`);
    this.sizes.delete(ptr);
    let list = this.freeLists.get(size);
    if (!list) this.freeLists.set(size, (list = []));
    list.push(ptr);
  }

  /** A named work buffer of at least `bytes` bytes, reused (and grown) across calls. */
  scratchPtr(name: string, bytes: number): number {
    const s = this.scratch.get(name);
    if (s && s.bytes >= bytes) return s.ptr;
    if (s) this.free(s.ptr);
    const grown = Math.max(bytes, s ? s.bytes * 2 : 0);
    const ptr = this.alloc(grown);
    this.scratch.set(name, { ptr, bytes: sizeClass(grown) });
    return ptr;
  }

  /**
   * Scratch for kernels that stage per-channel parameters: 4·width floats. Stores reserve it at
   * construction (QuantRows), so a kernel call never grows the memory.
   */
  kernelTmp(width: number): number {
    return this.scratchPtr('kernel.tmp', width * 16);
  }

  /** Bytes of linear memory (held blocks, free blocks and slack together). */
  get size(): number {
    return this.memory.buffer.byteLength;
  }

  /** Whether `a` is a view of this heap's memory (so kernels can use it in place). */
  owns(a: ArrayBufferView): boolean {
    return a.buffer === this.memory.buffer;
  }

  /** Pointer to `a`'s data in the heap: in place when owned, else copied into scratch `name`. */
  stageF32(name: string, a: Float32Array): number {
    if (this.owns(a)) return a.byteOffset;
    const ptr = this.scratchPtr(name, a.length * 4);
    this.f32.set(a, ptr >> 2);
    return ptr;
  }

  /**
   * Where a kernel should write the `out.length` floats meant for `out`: out itself when the
   * heap owns it, else scratch `name` (copied to out by commit).
   */
  target(name: string, out: Float32Array): number {
    return this.owns(out) ? out.byteOffset : this.scratchPtr(name, out.length * 4);
  }

  /** Completes target(): copies scratch to `out` when out is not in the heap. */
  commit(ptr: number, out: Float32Array): void {
    if (!this.owns(out)) out.set(this.f32At(ptr, out.length));
  }

  private refresh(): void {
    if (this.buf === this.memory.buffer) return;
    this.buf = this.memory.buffer;
    this.f32v = new Float32Array(this.buf);
    this.f64v = new Float64Array(this.buf);
    this.u16v = new Uint16Array(this.buf);
    this.u32v = new Uint32Array(this.buf);
    this.i32v = new Int32Array(this.buf);
  }

  /** Whole-memory views; valid until the next allocation. */
  get f32(): Float32Array {
    this.refresh();
    return this.f32v;
  }
  get f64(): Float64Array {
    this.refresh();
    return this.f64v;
  }
  get u16(): Uint16Array {
    this.refresh();
    return this.u16v;
  }
  get u32(): Uint32Array {
    this.refresh();
    return this.u32v;
  }
  get i32(): Int32Array {
    this.refresh();
    return this.i32v;
  }

  /** Views of one block region; valid until the next allocation. */
  f32At(ptr: number, length: number): Float32Array {
    return new Float32Array(this.memory.buffer, ptr, length);
  }
  u16At(ptr: number, length: number): Uint16Array {
    return new Uint16Array(this.memory.buffer, ptr, length);
  }
  u32At(ptr: number, length: number): Uint32Array {
    return new Uint32Array(this.memory.buffer, ptr, length);
  }
  u8(ptr: number, length: number): Uint8Array {
    return new Uint8Array(this.memory.buffer, ptr, length);
  }

  /** Copy `bytes` bytes within the heap (memmove). */
  copy(dst: number, src: number, bytes: number): void {
    new Uint8Array(this.memory.buffer).copyWithin(dst, src, src + bytes);
  }

  // ── kernels (pointers in bytes; counts and strides in elements) ──────────────────────────

  decodeHalfRows(src: number, srcStride: number, dst: number, dstStride: number, rows: number, count: number): void {
    if (rows <= 0 || count <= 0) return;
    if (this.wasm) return this.wasm.decodeHalfRows(src, srcStride, dst, dstStride, rows, count);
    const u16 = this.u16;
    const f32 = this.f32;
    for (let r = 0; r < rows; r++) decodeHalf(u16, f32, (src >> 1) + r * srcStride, count, (dst >> 2) + r * dstStride);
  }

  encodeHalfRows(src: number, srcStride: number, dst: number, dstStride: number, rows: number, count: number): void {
    if (rows <= 0 || count <= 0) return;
    if (this.wasm) return this.wasm.encodeHalfRows(src, srcStride, dst, dstStride, rows, count);
    const u32 = this.u32;
    const u16 = this.u16;
    for (let r = 0; r < rows; r++) encodeHalfBits(u32, (src >> 2) + r * srcStride, u16, (dst >> 1) + r * dstStride, count);
  }

  /**
   * MiniCache restore of `rows` rows (restoreRows): direction fp16 at `dir` (dirIsHalf) or
   * f32 (may equal outCur), magnitudes fp16, outputs f32.
   */
  restoreRows(dir: number, dirIsHalf: boolean, magPrev: number, magCur: number, rows: number, width: number, outPrev: number, outCur: number): void {
    if (rows <= 0) return;
    if (this.wasm) return this.wasm.restoreRows(dir, dirIsHalf ? 1 : 0, magPrev, magCur, rows, width, outPrev, outCur);
    if (dirIsHalf) this.decodeHalfRows(dir, 0, outCur, 0, 1, rows * width);
    const mp = new Float32Array(rows);
    const mc = new Float32Array(rows);
    decodeHalf(this.u16, mp, magPrev >> 1, rows, 0);
    decodeHalf(this.u16, mc, magCur >> 1, rows, 0);
    const f32 = this.f32;
    const d = dirIsHalf ? outCur : dir;
    const n = rows * width;
    restoreRows(f32.subarray(d >> 2, (d >> 2) + n), mp, mc, rows, width, f32.subarray(outPrev >> 2, (outPrev >> 2) + n), f32.subarray(outCur >> 2, (outCur >> 2) + n));
  }

  /**
   * SLERP merge of `rows` row pairs at prev/cur (slerpMergeRows): unit directions to `dir`
   * (heap), per-row outputs to `out` (its `dir` field is not used).
   */
  mergeRows(prev: number, cur: number, rows: number, width: number, opts: SlerpOptions, dir: number, out: MergeRows): void {
    if (rows <= 0) return;
    const n = rows * width;
    if (!this.wasm) {
      const f32 = this.f32;
      slerpMergeRows(f32.subarray(prev >> 2, (prev >> 2) + n), f32.subarray(cur >> 2, (cur >> 2) + n), rows, width, opts, { ...out, dir: f32.subarray(dir >> 2, (dir >> 2) + n) });
      return;
    }
    // Blocks of rows small enough that the write pass re-reads them from L2.
    const block = Math.max(1, Math.min(rows, Math.floor(65536 / width)));
    const sums = this.scratchPtr('merge.sums', block * 24);
    const weights = this.scratchPtr('merge.weights', block * 16);
    const f64 = this.f64;
    for (let r0 = 0; r0 < rows; r0 += block) {
      const nr = Math.min(block, rows - r0);
      const off = r0 * width * 4;
      this.wasm.mergeSums(prev + off, cur + off, nr, width, sums);
      const bad = slerpWeightsRows(f64, sums >> 3, nr, opts.t, opts.antiparallelEps, out, r0, f64, weights >> 3);
      this.wasm.mergeWrite(prev + off, cur + off, nr, width, weights, dir + off);
      if (bad > 0) {
        // A non-finite row's direction is zero (its NaN weights wrote NaN).
        const f32 = this.f32;
        const base = (dir + off) >> 2;
        for (let r = 0; r < nr; r++) if (Number.isNaN(f64[(weights >> 3) + 2 * r]!)) f32.fill(0, base + r * width, base + (r + 1) * width);
      }
    }
  }

  /** KIVI keys: `tiles` tiles of G tokens × width (quantizeAlongTokens), strides in elements / words. */
  quantTokens(src: number, tiles: number, srcTileStride: number, width: number, G: number, bits: QuantBits, codes: number, codeTileStride: number, scales: number, mins: number, paramTileStride: number): void {
    if (tiles <= 0) return;
    // The kernel works on blocks of 16 columns (the last may overlap the one before it).
    if (this.wasm && width % 4 === 0 && width >= 16) return this.wasm.quantTokens(src, tiles, srcTileStride, width, G, bits, codes, codeTileStride, scales, mins, paramTileStride);
    const [f32, u32, sc, mn] = [this.f32, this.u32, this.u16.subarray(scales >> 1), this.u16.subarray(mins >> 1)];
    for (let t = 0; t < tiles; t++) {
      quantizeAlongTokens(f32, (src >> 2) + t * srcTileStride, width, G, bits, u32, (codes >> 2) + t * codeTileStride, sc, mn, t * paramTileStride);
    }
  }

  /** KIVI values / RTN: `rows` tokens of width channels in groups of G (quantizeAlongChannels). */
  quantChannels(src: number, rows: number, srcStride: number, width: number, G: number, bits: QuantBits, codes: number, codeStride: number, scales: number, mins: number, paramStride: number): void {
    if (rows <= 0) return;
    if (this.wasm && G % 4 === 0) return this.wasm.quantChannels(src, rows, srcStride, width, G, bits, codes, codeStride, scales, mins, paramStride);
    const [f32, u32, sc, mn] = [this.f32, this.u32, this.u16.subarray(scales >> 1), this.u16.subarray(mins >> 1)];
    for (let i = 0; i < rows; i++) {
      quantizeAlongChannels(f32, (src >> 2) + i * srcStride, width, G, bits, u32, (codes >> 2) + i * codeStride, sc, mn, i * paramStride);
    }
  }

  dequantTokens(codes: number, tiles: number, codeTileStride: number, scales: number, mins: number, paramTileStride: number, width: number, G: number, bits: QuantBits, out: number, outTileStride: number): void {
    if (tiles <= 0) return;
    if (this.wasm && width % 4 === 0) return this.wasm.dequantTokens(codes, tiles, codeTileStride, scales, mins, paramTileStride, width, G, bits, out, outTileStride, this.kernelTmp(width));
    const [u32, sc, mn, f32] = [this.u32, this.u16.subarray(scales >> 1), this.u16.subarray(mins >> 1), this.f32];
    for (let t = 0; t < tiles; t++) {
      dequantizeAlongTokens(u32, (codes >> 2) + t * codeTileStride, sc, mn, t * paramTileStride, width, G, bits, f32, (out >> 2) + t * outTileStride);
    }
  }

  dequantChannels(codes: number, rows: number, codeStride: number, scales: number, mins: number, paramStride: number, width: number, G: number, bits: QuantBits, out: number, outStride: number): void {
    if (rows <= 0) return;
    if (this.wasm && G % 16 === 0) return this.wasm.dequantChannels(codes, rows, codeStride, scales, mins, paramStride, width, G, bits, out, outStride);
    const [u32, sc, mn, f32] = [this.u32, this.u16.subarray(scales >> 1), this.u16.subarray(mins >> 1), this.f32];
    for (let i = 0; i < rows; i++) {
      dequantizeAlongChannels(u32, (codes >> 2) + i * codeStride, sc, mn, i * paramStride, width, G, bits, f32, (out >> 2) + i * outStride);
    }
  }
}
