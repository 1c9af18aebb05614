import { PY_WHITESPACE } from '../py-text.js';
import type { JiebaModel } from './model.js';

/**
 * Python jieba 0.42.1's `jieba.cut(text, cut_all=False)` (accurate mode, HMM on), the segmenter
 * LongBench's qa_f1_zh and rouge_zh call, ported step for step so that every string segments as
 * Python segments it: the same block regexes, prefix DAG, max-probability route (ties to the
 * longer word, as Python's max over (prob, end) tuples), the buffer of single characters handed
 * to the HMM, and finalseg's Viterbi and its alphanumeric pattern `[a-zA-Z0-9]+(?:\.\d+)?%?`
 * with an escaped dot (jieba-rs, and so jieba-wasm, leaves the dot bare and keeps `400-820` or
 * `COVID-19` whole where Python splits them). Data (dictionary, HMM, Python's logarithms) come
 * from data/jieba, made by its make-jieba-data.py from Python jieba itself.
 */

// jieba/__init__.py: re_han_default and re_skip_default (Python's \s is str.isspace()).
const RE_HAN_DEFAULT = /([\u4E00-\u9FD5a-zA-Z0-9+#&._%-]+)/u;
const RE_SKIP_DEFAULT = new RegExp(`(\\r\\n|[${PY_WHITESPACE}])`, 'u');
// jieba/finalseg/__init__.py: re_han and re_skip. Blocks reaching them hold only the characters
// of RE_HAN_DEFAULT, so Python's Unicode \d is [0-9] here.
const RE_HAN_HMM = /([\u4E00-\u9FD5]+)/u;
const RE_SKIP_HMM = /([a-zA-Z0-9]+(?:\.[0-9]+)?%?)/u;

type State = 'B' | 'M' | 'E' | 'S';
const STATES: readonly State[] = ['B', 'M', 'E', 'S'];
const PREV_STATUS: Record<State, readonly State[]> = { B: ['E', 'S'], M: ['M', 'B'], S: ['S', 'E'], E: ['B', 'M'] };

export class Jieba {
  /** Python's FREQ: every word with its frequency, and every prefix of a word with 0. */
  private readonly freq: Map<string, number>;
  private readonly logOf: Map<number, number>;
  private readonly logTotal: number;
  private readonly model: JiebaModel;
  private readonly emit: Record<State, Map<string, number>>;

  constructor(freq: Map<string, number>, model: JiebaModel) {
    this.freq = freq;
    this.model = model;
    this.logOf = new Map(model.logFreq);
    this.logTotal = model.logTotal;
    this.emit = {
      B: new Map(Object.entries(model.emit.B)),
      M: new Map(Object.entries(model.emit.M)),
      E: new Map(Object.entries(model.emit.E)),
      S: new Map(Object.entries(model.emit.S)),
    };
  }

  /** `list(jieba.cut(sentence, cut_all=False))`. */
  cut(sentence: string): string[] {
    const out: string[] = [];
    const blocks = sentence.split(RE_HAN_DEFAULT);
    for (let b = 0; b < blocks.length; b++) {
      const blk = blocks[b]!;
      if (blk === '') continue;
      // split() with a capturing group alternates unmatched (even) and matched (odd) pieces.
      if (b % 2 === 1) {
        this.cutDag(blk, out);
        continue;
      }
      const pieces = blk.split(RE_SKIP_DEFAULT);
      for (let p = 0; p < pieces.length; p++) {
        if (p % 2 === 1) out.push(pieces[p]!);
        else for (const ch of pieces[p]!) out.push(ch); // code points, as Python iterates a str
      }
    }
    return out;
  }

  /** get_DAG: for each start, the ends of the dictionary words starting there (itself if none). */
  private dag(s: string): number[][] {
    const n = s.length;
    const dag: number[][] = [];
    for (let k = 0; k < n; k++) {
      const ends: number[] = [];
      let i = k;
      let frag = s[k]!;
      while (i < n && this.freq.has(frag)) {
        if (this.freq.get(frag)) ends.push(i);
        i++;
        frag = s.slice(k, i + 1);
      }
      dag.push(ends.length > 0 ? ends : [k]);
    }
    return dag;
  }

  private log(freq: number): number {
    const l = this.logOf.get(freq);
    if (l === undefined) throw new Error(`jieba: no logarithm for frequency ${freq} in the jieba model (regenerate data/jieba with make-jieba-data.py)`);
    return l;
  }

  /** calc: the best route's end of the first word from each position, right to left. */
  private route(s: string, dag: readonly number[][]): number[] {
    const n = s.length;
    const prob = new Float64Array(n + 1);
    const end = new Array<number>(n + 1).fill(0);
    for (let idx = n - 1; idx >= 0; idx--) {
      let bestP = -Infinity;
      let bestX = -1;
      for (const x of dag[idx]!) {
        // Python: log(FREQ.get(w) or 1) - logtotal + route[x + 1][0], in that order.
        const p = this.log(this.freq.get(s.slice(idx, x + 1)) || 1) - this.logTotal + prob[x + 1]!;
        if (bestX < 0 || p > bestP || (p === bestP && x > bestX)) {
          bestP = p;
          bestX = x;
        }
      }
      prob[idx] = bestP;
      end[idx] = bestX;
    }
    return end;
  }

  /** __cut_DAG: the route's words; runs of single characters go to the HMM unless they are a word. */
  private cutDag(s: string, out: string[]): void {
    const end = this.route(s, this.dag(s));
    let buf = '';
    const flush = () => {
      if (buf.length === 1) out.push(buf);
      else if (!this.freq.get(buf)) this.cutHmm(buf, out);
      else for (const ch of buf) out.push(ch);
      buf = '';
    };
    let x = 0;
    while (x < s.length) {
      const y = end[x]! + 1;
      const word = s.slice(x, y);
      if (y - x === 1) buf += word;
      else {
        if (buf) flush();
        out.push(word);
      }
      x = y;
    }
    if (buf) flush();
  }

  /** finalseg.cut: Han runs through the Viterbi, the rest split on the alphanumeric pattern. */
  private cutHmm(s: string, out: string[]): void {
    const blocks = s.split(RE_HAN_HMM);
    for (let b = 0; b < blocks.length; b++) {
      const blk = blocks[b]!;
      if (b % 2 === 1) this.viterbiCut(blk, out);
      else for (const piece of blk.split(RE_SKIP_HMM)) if (piece) out.push(piece);
    }
  }

  /** finalseg.__cut over finalseg.viterbi (ties as Python's max over (prob, state) tuples). */
  private viterbiCut(s: string, out: string[]): void {
    const { start, trans, minFloat } = this.model;
    const n = s.length;
    let v: Record<State, number> = { B: 0, M: 0, E: 0, S: 0 };
    const back: Record<State, State>[] = [];
    for (const y of STATES) v[y] = start[y] + (this.emit[y].get(s[0]!) ?? minFloat);
    for (let t = 1; t < n; t++) {
      const next: Record<State, number> = { B: 0, M: 0, E: 0, S: 0 };
      const from = {} as Record<State, State>;
      for (const y of STATES) {
        const em = this.emit[y].get(s[t]!) ?? minFloat;
        let bestP = -Infinity;
        let bestS: State | undefined;
        for (const y0 of PREV_STATUS[y]) {
          const p = v[y0] + (trans[y0][y] ?? minFloat) + em;
          if (bestS === undefined || p > bestP || (p === bestP && y0 > bestS)) {
            bestP = p;
            bestS = y0;
          }
        }
        next[y] = bestP;
        from[y] = bestS!;
      }
      back.push(from);
      v = next;
    }
    let last: State = v.S > v.E || v.S === v.E ? 'S' : 'E';
    const pos = new Array<State>(n);
    pos[n - 1] = last;
    for (let t = n - 1; t > 0; t--) {
      last = back[t - 1]![last];
      pos[t - 1] = last;
    }
    let begin = 0;
    let nexti = 0;
    for (let i = 0; i < n; i++) {
      const p = pos[i];
      if (p === 'B') begin = i;
      else if (p === 'E') {
        out.push(s.slice(begin, i + 1));
        nexti = i + 1;
      } else if (p === 'S') {
        out.push(s[i]!);
        nexti = i + 1;
      }
    }
    if (nexti < n) out.push(s.slice(nexti));
  }
}
