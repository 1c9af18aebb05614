/**
 * Greedy pairwise merging shared by the llama2.c and Hugging Face BPE tokenizers: repeatedly
 * merge the adjacent pair with the best (lowest) rank, the leftmost one on ties. A heap over a
 * linked list makes it O(n log n), so long prompts without pre-tokenization stay fast.
 */

/** Rank (lower merges first) and resulting id of merging `left` then `right`, or undefined. */
export type PairLookup = (left: number, right: number) => { rank: number; id: number } | undefined;

interface Candidate {
  rank: number;
  /** Index of the left symbol; symbols keep their original order, so lower = further left. */
  pos: number;
  left: number;
  right: number;
  id: number;
}

const before = (a: Candidate, b: Candidate) => a.rank < b.rank || (a.rank === b.rank && a.pos < b.pos);

class CandidateHeap {
  private readonly items: Candidate[] = [];
  get size(): number {
    return this.items.length;
  }
  push(c: Candidate): void {
    const h = this.items;
    h.push(c);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }
  pop(): Candidate {
    const h = this.items;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && before(h[l]!, h[m]!)) m = l;
        if (r < h.length && before(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}

export function mergeGreedy(ids: readonly number[], lookup: PairLookup): number[] {
  const n = ids.length;
  if (n < 2) return ids.slice();
  const tok = Int32Array.from(ids);
  const next = Int32Array.from({ length: n }, (_, i) => (i + 1 < n ? i + 1 : -1));
  const prev = Int32Array.from({ length: n }, (_, i) => i - 1);
  const heap = new CandidateHeap();
  const offer = (l: number, r: number) => {
    const m = lookup(tok[l]!, tok[r]!);
    if (m) heap.push({ rank: m.rank, pos: l, left: tok[l]!, right: tok[r]!, id: m.id });
  };
  for (let i = 0; i + 1 < n; i++) offer(i, i + 1);
  while (heap.size > 0) {
    const c = heap.pop();
    const r = next[c.pos]!;
    // Stale candidate: a neighbour was merged since it was offered.
    if (tok[c.pos] !== c.left || r < 0 || tok[r] !== c.right) continue;
    tok[c.pos] = c.id;
    tok[r] = -1;
    const rr = next[r]!;
    next[c.pos] = rr;
    if (rr >= 0) prev[rr] = c.pos;
    if (prev[c.pos]! >= 0) offer(prev[c.pos]!, c.pos);
    if (rr >= 0) offer(c.pos, rr);
  }
  const out: number[] = [];
  for (let i = 0; i >= 0; i = next[i]!) out.push(tok[i]!);
  return out;
}
