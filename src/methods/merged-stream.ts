import { decodeHalf, floatBits } from '../kernels/half.js';
import { headsToTokens, tokensToHeads } from '../kernels/layout.js';
import { meanRows, restoreRows } from '../kernels/restore.js';
import { retainsDecode, selectRetained, type RetentionRule } from '../kernels/retention.js';
import type { MergeRows, SlerpOptions } from '../kernels/slerp.js';
import type { KernelHeap } from '../kernels/wasm/heap.js';
import { Fp16Store } from './fp16-store.js';
import { PairStats } from './pair-stats.js';
import { RetainedRows } from './retained-rows.js';
import type { Scratch } from './scratch.js';
import type { ByteBreakdown, TensorStore } from './types.js';
import type { VectorLayout } from './vector-layout.js';

export type MergeRule = 'slerp' | 'mean';
export type DecodeRetention = 'threshold' | 'none';
export type Phase = 'prefill' | 'decode';

export interface MergedStreamOptions {
  merge: MergeRule;
  slerp: SlerpOptions;
  retention: RetentionRule;
  decodeRetention: DecodeRetention;
}

/**
 * The merged record of one layer pair for one of K|V (spec §2.5), kept at the deeper layer:
 * shared directions in an inner store (fp16, KIVI, …), both layers' magnitudes in fp16, and the
 * retained tokens. With merge 'mean' the inner store holds the pair's average and nothing else.
 */
export class MergedStream {
  private readonly magPrev: Fp16Store | null;
  private readonly magCur: Fp16Store | null;
  readonly retained: RetainedRows;
  /** Decode threshold per scope, set at prefill (NaN: none). */
  private readonly tau: Float64Array;
  readonly stats = new PairStats();
  length = 0;
  /** The method's kernel heap (the inner store's). */
  private readonly heap: KernelHeap;

  constructor(
    readonly layout: VectorLayout,
    private readonly inner: TensorStore,
    private readonly options: MergedStreamOptions,
    private readonly scratch: Scratch,
  ) {
    const magShape = { batch: layout.scopes, heads: 1, headDim: 1 };
    const slerp = options.merge === 'slerp';
    this.heap = inner.heap;
    this.magPrev = slerp ? new Fp16Store(magShape, inner.role, this.heap) : null;
    this.magCur = slerp ? new Fp16Store(magShape, inner.role, this.heap) : null;
    this.retained = new RetainedRows(layout);
    this.tau = new Float64Array(layout.scopes).fill(NaN);
  }

  /** Merge `tokens` new tokens of both layers ([B, H, tokens, D] each) into the record. */
  ingest(prev: Float32Array, cur: Float32Array, tokens: number, phase: Phase): void {
    const { scopes, width } = this.layout;
    const rows = scopes * tokens;
    const n = rows * width;
    const heap = this.heap;
    const [p0, c0] = this.toRows(prev, cur, tokens);
    // Inputs into the heap (the engine's blocks come from the model), then one SIMD merge.
    const pp = heap.stageF32('merge.prev', p0);
    const cp = heap.stageF32('merge.cur', c0);
    const dir = heap.scratchPtr('merge.dir', n * 4);
    const m: MergeRows = {
      dir: p0, // unused by heap.mergeRows
      magPrev: this.scratch.f32('merge.magPrev', rows),
      magCur: this.scratch.f32('merge.magCur', rows),
      d: this.scratch.f32('merge.d', rows),
      cos: this.scratch.f32('merge.cos', rows),
      forced: this.scratch.u8('merge.forced', rows),
    };
    let kept = 0;
    if (this.options.merge === 'slerp') {
      heap.mergeRows(pp, cp, rows, width, this.options.slerp, dir, m);
      // Views taken after the last allocation (a heap grow detaches older ones).
      kept = this.retain(heap.f32At(pp, n), heap.f32At(cp, n), m.d, m.forced, tokens, phase);
      this.magPrev!.append(m.magPrev, tokens);
      this.magCur!.append(m.magCur, tokens);
    } else {
      meanRows(heap.f32At(pp, n), heap.f32At(cp, n), n, heap.f32At(dir, n));
    }
    if (this.layout.granularity === 'head') this.inner.append(heap.f32At(dir, n), tokens);
    else this.inner.append(this.fromRows(heap.f32At(dir, n).slice(), tokens, 'merge.heads'), tokens);
    this.stats.add(m, rows, kept);
    this.length += tokens;
  }

  private retain(p: Float32Array, c: Float32Array, d: Float32Array, forced: Uint8Array, tokens: number, phase: Phase): number {
    const { scopes, width } = this.layout;
    const pb = floatBits(p);
    const cb = floatBits(c);
    const rule = this.options.retention;
    const idx = this.scratch.i32('retain.idx', tokens);
    let kept = 0;
    for (let s = 0; s < scopes; s++) {
      const base = s * tokens;
      let count = 0;
      if (phase === 'prefill') {
        const sel = selectRetained(d, base, tokens, forced, base, rule, idx);
        this.tau[s] = sel.tau;
        count = sel.count;
      } else {
        const byThreshold = this.options.decodeRetention === 'threshold';
        for (let i = 0; i < tokens; i++) {
          if (forced[base + i] === 1 || (byThreshold && retainsDecode(rule.mode, this.tau[s]!, d[base + i]!))) idx[count++] = i;
        }
      }
      for (let k = 0; k < count; k++) this.retained.add(s, this.length + idx[k]!, pb, cb, (base + idx[k]!) * width);
      kept += count;
    }
    return kept;
  }

  /** Write both layers' restored past ([B, H, length, D] each). */
  restore(outPrev: Float32Array, outCur: Float32Array): void {
    const heap = this.heap;
    const ownPrev = heap.owns(outPrev);
    const ownCur = heap.owns(outCur);
    const pp = ownPrev ? outPrev.byteOffset : heap.scratchPtr('restore.outPrev', outPrev.length * 4);
    const pc = ownCur ? outCur.byteOffset : heap.scratchPtr('restore.outCur', outCur.length * 4);
    this.restorePtr(pp, pc);
    if (!ownPrev) outPrev.set(heap.f32At(pp, outPrev.length));
    if (!ownCur) outCur.set(heap.f32At(pc, outCur.length));
  }

  /** The same into the heap at byte offsets outPrev / outCur. */
  restorePtr(outPrev: number, outCur: number): void {
    const { scopes, width, granularity } = this.layout;
    const heap = this.heap;
    const n = this.length;
    const size = scopes * n * width;
    if (this.options.merge === 'mean') {
      this.inner.readPtr(outCur);
      heap.copy(outPrev, outCur, size * 4);
      return;
    }
    const mp = this.magPrev!;
    const mc = this.magCur!;
    if (granularity === 'head') {
      // Scope s (one sequence and head) is n rows of width D at s·n·D in the outputs; its
      // magnitudes are at s·capacity in the magnitude stores.
      const inner = this.inner;
      if (inner instanceof Fp16Store) {
        // One fused pass: fp16 directions and magnitudes in, both layers out.
        for (let s = 0; s < scopes; s++) {
          const o = s * n * width * 4;
          heap.restoreRows(inner.dataPtr + s * inner.capacity * width * 2, true, mp.dataPtr + s * mp.capacity * 2, mc.dataPtr + s * mc.capacity * 2, n, width, outPrev + o, outCur + o);
        }
      } else {
        // The directions are read straight into the deeper layer's output and rescaled in place.
        inner.readPtr(outCur);
        for (let s = 0; s < scopes; s++) {
          const o = s * n * width * 4;
          heap.restoreRows(outCur + o, false, mp.dataPtr + s * mp.capacity * 2, mc.dataPtr + s * mc.capacity * 2, n, width, outPrev + o, outCur + o);
        }
      }
    } else {
      const rows = scopes * n;
      const { batch, heads, headDim } = this.layout;
      const dirHeads = heap.scratchPtr('restore.dirHeads', size * 4);
      this.inner.readPtr(dirHeads);
      const magPrev = this.scratch.f32('restore.magPrev', rows);
      const magCur = this.scratch.f32('restore.magCur', rows);
      for (let s = 0; s < scopes; s++) {
        decodeHalf(heap.u16, magPrev, (mp.dataPtr >> 1) + s * mp.capacity, n, s * n);
        decodeHalf(heap.u16, magCur, (mc.dataPtr >> 1) + s * mc.capacity, n, s * n);
      }
      const dir = this.scratch.f32('restore.dirRows', size);
      const prevRows = this.scratch.f32('restore.prevRows', size);
      headsToTokens(heap.f32At(dirHeads, size), batch, heads, n, headDim, dir);
      restoreRows(dir, magPrev, magCur, rows, width, prevRows, dir);
      tokensToHeads(prevRows, batch, heads, n, headDim, heap.f32At(outPrev, size));
      tokensToHeads(dir, batch, heads, n, headDim, heap.f32At(outCur, size));
    }
    this.retained.putBack(heap.f32At(outPrev, size), heap.f32At(outCur, size), n);
  }

  bytes(): ByteBreakdown {
    const b: ByteBreakdown = { ...this.inner.bytes(), ...this.retained.bytes() };
    if (this.magPrev) b.magnitudes = (this.magPrev.bytes().data ?? 0) + (this.magCur!.bytes().data ?? 0);
    return b;
  }

  /** Decode thresholds per scope (control state: 8 bytes each, reported apart from the cache). */
  get thresholds(): Float64Array {
    return this.tau;
  }

  innerStore(): TensorStore {
    return this.inner;
  }

  private toRows(prev: Float32Array, cur: Float32Array, tokens: number): [Float32Array, Float32Array] {
    if (this.layout.granularity === 'head') return [prev, cur];
    const { batch, heads, headDim } = this.layout;
    const p = this.scratch.f32('ingest.prevRows', prev.length);
    const c = this.scratch.f32('ingest.curRows', cur.length);
    headsToTokens(prev, batch, heads, tokens, headDim, p);
    headsToTokens(cur, batch, heads, tokens, headDim, c);
    return [p, c];
  }

  private fromRows(rows: Float32Array, tokens: number, name: string): Float32Array {
    if (this.layout.granularity === 'head') return rows;
    const { batch, heads, headDim } = this.layout;
    const out = this.scratch.f32(name, rows.length);
    tokensToHeads(rows, batch, heads, tokens, headDim, out);
    return out;
  }
}
