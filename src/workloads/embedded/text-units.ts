import { pySplit } from '../py-text.js';

/**
 * Cutting held-out documents into the units the embedded tasks are made of: passages of prose
 * (a few sentences) and lines of code. Held-out documents range from dictionary entries to whole
 * speeches without a paragraph break, so passages are built from sentences rather than trusted
 * blank lines.
 */

export interface Passage {
  source: string;
  /** Index of the document in the input list. */
  doc: number;
  text: string;
  words: number;
}

export interface PassageOptions {
  minWords: number;
  maxWords: number;
  /** Minimum share of letters and spaces (drops tables, markup-heavy and numeric blocks). Default 0.8. */
  minLetterShare?: number;
}

const SENTENCE_END = /(?<=[.!?]["')\]]?)\s+(?=["'(\[]?[A-Z])/u;

export function collapseWhitespace(s: string): string {
  return pySplit(s).join(' ');
}

export function sentences(block: string): string[] {
  return block.split(SENTENCE_END).filter((s) => s.length > 0);
}

function letterShare(s: string): number {
  let n = 0;
  for (const ch of s) if (ch === ' ' || /\p{L}/u.test(ch)) n++;
  return n / Math.max(1, s.length);
}

/** Groups sentences into chunks of minWords..maxWords words; an over-long sentence is cut by words. */
function chunkSentences(sents: string[], minWords: number, maxWords: number): string[] {
  const out: string[] = [];
  let cur: string[] = [];
  let curWords = 0;
  const flush = () => {
    if (curWords >= minWords) out.push(cur.join(' '));
    cur = [];
    curWords = 0;
  };
  for (const s of sents) {
    const w = pySplit(s);
    if (w.length > maxWords) {
      flush();
      for (let i = 0; i + minWords <= w.length; i += maxWords) out.push(w.slice(i, i + maxWords).join(' '));
      continue;
    }
    if (curWords + w.length > maxWords) flush();
    cur.push(s);
    curWords += w.length;
  }
  flush();
  return out;
}

/** Passages of every document, in document order. */
export function passagesOf(docs: readonly { source: string; text: string }[], opts: PassageOptions): Passage[] {
  const minShare = opts.minLetterShare ?? 0.8;
  const out: Passage[] = [];
  docs.forEach((d, doc) => {
    for (const raw of d.text.split(/\n[ \t]*\n/)) {
      const block = collapseWhitespace(raw);
      const words = pySplit(block).length;
      const pieces = words > opts.maxWords ? chunkSentences(sentences(block), opts.minWords, opts.maxWords) : words >= opts.minWords ? [block] : [];
      for (const text of pieces) {
        if (letterShare(text) >= minShare) out.push({ source: d.source, doc, text, words: pySplit(text).length });
      }
    }
  });
  return out;
}

/** A line LongBench's code_sim would accept as a prediction line: none of ` # // in it. */
export function isCodeSimLine(line: string): boolean {
  return !line.includes('`') && !line.includes('#') && !line.includes('//');
}
