import { decodeHalf, encodeHalfBits } from '../kernels/half.js';
import type { ByteBreakdown } from './types.js';
import { partsPerVector, vectorPartOffset, type VectorLayout } from './vector-layout.js';

interface ScopeList {
  count: number;
  /** Token positions, int32 (the stored indices of spec §2.5). */
  idx: Int32Array;
  /** Original vectors of both layers, fp16, [count, width]. */
  prev: Uint16Array;
  cur: Uint16Array;
}

/**
 * MiniCache's retained (unmerged) tokens of one pair and one of K|V: per retention scope, the
 * token indices and both layers' original vectors in fp16. Lists are created on first use and
 * grow by doubling; bytes count what is held (indices 4 B, vectors 2 B per element per layer).
 */
export class RetainedRows {
  private readonly lists: (ScopeList | null)[];
  /** Retained vectors over all scopes. */
  total = 0;

  constructor(readonly layout: VectorLayout) {
    this.lists = new Array<ScopeList | null>(layout.scopes).fill(null);
  }

  /** Keep vector `token` of `scope`; its originals are `width` floats at prevBits/curBits[offset..]. */
  add(scope: number, token: number, prevBits: Uint32Array, curBits: Uint32Array, offset: number): void {
    const w = this.layout.width;
    let list = this.lists[scope];
    if (!list) list = this.lists[scope] = { count: 0, idx: new Int32Array(4), prev: new Uint16Array(4 * w), cur: new Uint16Array(4 * w) };
    if (list.count === list.idx.length) {
      const cap = list.idx.length * 2;
      const idx = new Int32Array(cap);
      idx.set(list.idx);
      const prev = new Uint16Array(cap * w);
      prev.set(list.prev);
      const cur = new Uint16Array(cap * w);
      cur.set(list.cur);
      list.idx = idx;
      list.prev = prev;
      list.cur = cur;
    }
    list.idx[list.count] = token;
    encodeHalfBits(prevBits, offset, list.prev, list.count * w, w);
    encodeHalfBits(curBits, offset, list.cur, list.count * w, w);
    list.count++;
    this.total++;
  }

  /** Write every retained vector over its restored value in [B, H, n, D] outputs. */
  putBack(outPrev: Float32Array, outCur: Float32Array, n: number): void {
    const D = this.layout.headDim;
    const parts = partsPerVector(this.layout);
    const w = this.layout.width;
    for (let s = 0; s < this.lists.length; s++) {
      const list = this.lists[s];
      if (!list) continue;
      for (let e = 0; e < list.count; e++) {
        for (let p = 0; p < parts; p++) {
          const at = vectorPartOffset(this.layout, s, list.idx[e]!, p, n);
          decodeHalf(list.prev, outPrev, e * w + p * D, D, at);
          decodeHalf(list.cur, outCur, e * w + p * D, D, at);
        }
      }
    }
  }

  /** Retained token indices of one scope (ascending), for tests and diagnostics. */
  indices(scope: number): Int32Array {
    const list = this.lists[scope];
    return list ? list.idx.slice(0, list.count) : new Int32Array(0);
  }

  bytes(): ByteBreakdown {
    return { retained: this.total * this.layout.width * 2 * 2, indices: this.total * 4 };
  }
}
