import { floatBits } from '../kernels/half.js';
import { headsToTokens, tokensToHeads } from '../kernels/layout.js';
import { meanRows, restoreRows } from '../kernels/restore.js';
import { retainsDecode, selectRetained, type RetentionRule } from '../kernels/retention.js';
import { slerpMergeRows, type SlerpOptions } from '../kernels/slerp.js';
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

  constructor(
    readonly layout: VectorLayout,
    private readonly inner: TensorStore,
    private readonly options: MergedStreamOptions,
    private readonly scratch: Scratch,
  ) {
    const magShape = { batch: layout.scopes, heads: 1, headDim: 1 };
    const slerp = options.merge === 'slerp';
    this.magPrev = slerp ? new Fp16Store(magShape, inner.role) : null;
    this.magCur = slerp ? new Fp16Store(magShape, inner.role) : null;
    this.retained = new RetainedRows(layout);
    this.tau = new Float64Array(layout.scopes).fill(NaN);
  }

  /** Merge `tokens` new tokens of both layers ([B, H, tokens, D] each) into the record. */
  ingest(prev: Float32Array, cur: Float32Array, tokens: number, phase: Phase): void {
    const { scopes, width } = this.layout;
    const rows = scopes * tokens;
    const [p, c] = this.toRows(prev, cur, tokens);
    const m = this.scratch.mergeRows(rows, width);
    slerpMergeRows(p, c, rows, width, this.options.slerp, m);
    let kept = 0;
    if (this.options.merge === 'slerp') {
      kept = this.retain(p, c, m.d, m.forced, tokens, phase);
      this.magPrev!.append(m.magPrev, tokens);
      this.magCur!.append(m.magCur, tokens);
    } else {
      meanRows(p, c, rows * width, m.dir);
    }
    this.inner.append(this.fromRows(m.dir, tokens, 'merge.heads'), tokens);
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
    const { scopes, width, granularity } = this.layout;
    const n = this.length;
    const rows = scopes * n;
    if (this.options.merge === 'mean') {
      this.inner.read(outCur);
      outPrev.set(outCur);
      return;
    }
    const magPrev = this.scratch.f32('restore.magPrev', rows);
    const magCur = this.scratch.f32('restore.magCur', rows);
    this.magPrev!.read(magPrev);
    this.magCur!.read(magCur);
    if (granularity === 'head') {
      // The directions are read straight into the deeper layer's output and rescaled in place.
      this.inner.read(outCur);
      restoreRows(outCur, magPrev, magCur, rows, width, outPrev, outCur);
    } else {
      const { batch, heads, headDim } = this.layout;
      const dirHeads = this.scratch.f32('restore.dirHeads', rows * width);
      const dir = this.scratch.f32('restore.dirRows', rows * width);
      const prevRows = this.scratch.f32('restore.prevRows', rows * width);
      this.inner.read(dirHeads);
      headsToTokens(dirHeads, batch, heads, n, headDim, dir);
      restoreRows(dir, magPrev, magCur, rows, width, prevRows, dir);
      tokensToHeads(prevRows, batch, heads, n, headDim, outPrev);
      tokensToHeads(dir, batch, heads, n, headDim, outCur);
    }
    this.retained.putBack(outPrev, outCur, n);
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
