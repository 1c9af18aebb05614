import { pySplit } from '../py-text.js';
import type { Segmenter } from './segmenter.js';

/**
 * ROUGE-L as LongBench computes it: the pltrdy `rouge` package (Rouge().get_scores(avg=True)),
 * "rouge-l" F. Its quirks are kept:
 * - sentences come from splitting on "." (pieces of length 0 dropped *before* whitespace is
 *   collapsed, so " " survives as an empty sentence); words from splitting on single spaces;
 * - summary-level LCS with set semantics (exclusive=True): n and m are the numbers of *distinct*
 *   words, and the overlap is the size of the union of the words on the reconstructed LCS of every
 *   (reference sentence, candidate sentence) pair, so the particular LCS chosen matters;
 * - F = 2PR / (P + R + 1e-8);
 * - any exception gives 0: no sentences (empty or all-"." text) and Python's RecursionError,
 *   which the recursive LCS reconstruction raises on long sentence pairs (see maxRecursionDepth).
 */
export interface RougeOptions {
  /**
   * pltrdy reconstructs the LCS recursively, one frame per step. Under CPython's default limit
   * of 1000 frames, with about 10 frames already on the stack when LongBench's eval.py gets there,
   * a pair whose reconstruction path needs more than ~990 frames raises RecursionError and the
   * whole item scores 0. This matters for Chinese summaries (rouge_zh), which have no "." and so
   * form one long sentence. Default 990; null disables the emulation.
   */
  maxRecursionDepth?: number | null;
}

export const DEFAULT_MAX_RECURSION_DEPTH = 990;

class RecursionLimit extends Error {}

/** pltrdy's sentence split: on ".", drop zero-length pieces, then collapse whitespace in each. */
export function rougeSentences(text: string): string[] {
  return text
    .split('.')
    .filter((s) => s.length > 0)
    .map((s) => pySplit(s).join(' '));
}

/** The words on the LCS that pltrdy's `_recon_lcs(x, y)` reconstructs, with its tie-breaking. */
function reconLcsWords(x: string[], y: string[], maxDepth: number | null): string[] {
  const n = x.length;
  const m = y.length;
  const w = m + 1;
  const table = new Int32Array((n + 1) * w);
  for (let i = 1; i <= n; i++) {
    for (let j = 1; j <= m; j++) {
      table[i * w + j] = x[i - 1] === y[j - 1] ? table[(i - 1) * w + j - 1]! + 1 : Math.max(table[(i - 1) * w + j]!, table[i * w + j - 1]!);
    }
  }
  const out: string[] = [];
  let i = n;
  let j = m;
  let depth = 1;
  while (i > 0 && j > 0) {
    if (maxDepth !== null && depth >= maxDepth) throw new RecursionLimit();
    depth++;
    if (x[i - 1] === y[j - 1]) {
      out.push(x[i - 1]!);
      i--;
      j--;
    } else if (table[(i - 1) * w + j]! > table[i * w + j - 1]!) i--;
    else j--;
  }
  return out;
}

/** pltrdy `rouge_l_summary_level(evaluated, reference)` F, or null where Python raises. */
function rougeLSummaryF(hyp: string[], ref: string[], maxDepth: number | null): number | null {
  if (hyp.length === 0 || ref.length === 0) return null;
  const words = (sents: string[]) => sents.flatMap((s) => s.split(' '));
  const m = new Set(words(ref)).size;
  const n = new Set(words(hyp)).size;
  const union = new Set<string>();
  try {
    for (const r of ref) {
      const refWords = r.split(' ');
      for (const h of hyp) for (const wd of reconLcsWords(refWords, h.split(' '), maxDepth)) union.add(wd);
    }
  } catch (e) {
    if (e instanceof RecursionLimit) return null;
    throw e;
  }
  const llcs = union.size;
  const r = llcs / m;
  const p = llcs / n;
  return 2.0 * ((p * r) / (p + r + 1e-8));
}

/** LongBench `rouge_score`: ROUGE-L F of one prediction against one reference; 0 on any exception. */
export function rougeScore(prediction: string, gold: string, opts: RougeOptions = {}): number {
  const maxDepth = opts.maxRecursionDepth === undefined ? DEFAULT_MAX_RECURSION_DEPTH : opts.maxRecursionDepth;
  return rougeLSummaryF(rougeSentences(prediction), rougeSentences(gold), maxDepth) ?? 0;
}

/** LongBench `rouge_zh_score`: segment both strings, join the tokens with spaces, then rougeScore. */
export function rougeZhScore(prediction: string, gold: string, segment: Segmenter, opts: RougeOptions = {}): number {
  return rougeScore(segment(prediction).join(' '), segment(gold).join(' '), opts);
}
