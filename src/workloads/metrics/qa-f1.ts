import { PY_ASCII_PUNCTUATION, PY_WORD_CHAR, pySplit } from '../py-text.js';
import type { Segmenter } from './segmenter.js';

const ARTICLES = new RegExp(`(?<!${PY_WORD_CHAR})(a|an|the)(?!${PY_WORD_CHAR})`, 'gu');
const ASCII_PUNCT = new Set(PY_ASCII_PUNCTUATION);
// LongBench's list of CJK punctuation (plus '.'), removed together with string.punctuation.
const ZH_PUNCT = new Set(
  PY_ASCII_PUNCTUATION + '！？｡。＂＃＄％＆＇（）＊＋，－／：；＜＝＞＠［＼］＾＿｀｛｜｝～｟｠｢｣､、〃》「」『』【】〔〕〖〗〘〙〚〛〜〝〞〟〰〾〿–—‘’‛“”„‟…‧﹏.',
);

function dropChars(s: string, set: Set<string>): string {
  let out = '';
  for (const ch of s) if (!set.has(ch)) out += ch;
  return out;
}

/** SQuAD-style normalisation: lowercase → drop ASCII punctuation → articles → collapse whitespace. */
export function normalizeAnswer(s: string): string {
  const noPunct = dropChars(s.toLowerCase(), ASCII_PUNCT);
  return pySplit(noPunct.replace(ARTICLES, ' ')).join(' ');
}

/** LongBench's Chinese normalisation: lowercase → drop ASCII + CJK punctuation → remove all whitespace. */
export function normalizeZhAnswer(s: string): string {
  return pySplit(dropChars(s.toLowerCase(), ZH_PUNCT)).join('');
}

/** Multiset-overlap F1 of two token lists (0 when nothing overlaps). */
export function multisetF1(prediction: readonly string[], gold: readonly string[]): number {
  const counts = new Map<string, number>();
  for (const t of gold) counts.set(t, (counts.get(t) ?? 0) + 1);
  let same = 0;
  for (const t of prediction) {
    const c = counts.get(t) ?? 0;
    if (c > 0) {
      same++;
      counts.set(t, c - 1);
    }
  }
  if (same === 0) return 0;
  const precision = (1.0 * same) / prediction.length;
  const recall = (1.0 * same) / gold.length;
  return (2 * precision * recall) / (precision + recall);
}

/** LongBench `qa_f1_score`. */
export function qaF1Score(prediction: string, gold: string): number {
  return multisetF1(pySplit(normalizeAnswer(prediction)), pySplit(normalizeAnswer(gold)));
}

/** LongBench `qa_f1_zh_score`: segment raw strings, normalise each token, drop empty ones. */
export function qaF1ZhScore(prediction: string, gold: string, segment: Segmenter): number {
  const tokens = (s: string) => segment(s).map(normalizeZhAnswer).filter((t) => t.length > 0);
  return multisetF1(tokens(prediction), tokens(gold));
}
