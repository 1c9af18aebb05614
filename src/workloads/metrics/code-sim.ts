import { pyLstrip } from '../py-text.js';
import { pyRound } from '../py-round.js';
import { sequenceRatio } from './sequence-matcher.js';

/**
 * Which similarity fuzzywuzzy's fuzz.ratio uses: difflib's SequenceMatcher (no
 * python-Levenshtein installed; what LongBench's published scores used) or the indel ratio
 * of python-Levenshtein (2·LCS / total length), which scores 1.4–2.4 points higher on lcc.
 */
export type FuzzBackend = 'difflib' | 'levenshtein';

/** Length of the longest common subsequence of code points (indel similarity). */
function lcsLength(a: string[], b: string[]): number {
  let prev = new Array<number>(b.length + 1).fill(0);
  for (let i = 1; i <= a.length; i++) {
    const cur = new Array<number>(b.length + 1).fill(0);
    for (let j = 1; j <= b.length; j++) cur[j] = a[i - 1] === b[j - 1] ? prev[j - 1]! + 1 : Math.max(prev[j]!, cur[j - 1]!);
    prev = cur;
  }
  return prev[b.length]!;
}

/**
 * fuzzywuzzy 0.18 `fuzz.ratio`: equal strings → 100 (checked first, so two empty strings give
 * 100), one empty → 0, else round(100·ratio) with Python's ties-to-even rounding.
 */
export function fuzzRatio(s1: string, s2: string, backend: FuzzBackend = 'difflib'): number {
  if (s1 === s2) return 100;
  if (s1.length === 0 || s2.length === 0) return 0;
  let r: number;
  if (backend === 'difflib') r = sequenceRatio(s1, s2);
  else {
    const a = Array.from(s1);
    const b = Array.from(s2);
    r = (2 * lcsLength(a, b)) / (a.length + b.length);
  }
  return pyRound(100 * r);
}

/** First line of the prediction (after dropping leading newlines) containing none of ` # //; '' if none. */
export function firstCodeLine(prediction: string): string {
  for (const line of pyLstrip(prediction, '\n').split('\n')) {
    if (!line.includes('`') && !line.includes('#') && !line.includes('//')) return line;
  }
  return '';
}

/** LongBench `code_sim_score`: fuzz.ratio of the first valid line against the gold line, / 100. */
export function codeSimScore(prediction: string, gold: string, backend: FuzzBackend = 'difflib'): number {
  return fuzzRatio(firstCodeLine(prediction), gold, backend) / 100;
}
