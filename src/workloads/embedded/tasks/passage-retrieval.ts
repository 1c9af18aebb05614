import type { Prng } from '../../../measure/prng.js';
import type { LongBenchRecord } from '../../longbench/record.js';
import { pySplit } from '../../py-text.js';
import { longBenchRecord, sampleDistinct } from '../record-builder.js';
import { sentences, type Passage } from '../text-units.js';

export interface PassageRetrievalOptions {
  items: number;
  /** Paragraphs per item; the prompt template states this number. Default 8. */
  paragraphs?: number;
}

/** A verbatim excerpt of the passage: its first sentence of 8–40 words, else a 12–20 word window. */
function excerptOf(p: Passage, rng: Prng): string {
  const good = sentences(p.text).filter((s) => {
    const n = pySplit(s).length;
    return n >= 8 && n <= 40;
  });
  if (good.length > 0) return good[rng.int(good.length)]!;
  const w = pySplit(p.text);
  const len = Math.min(w.length, 12 + rng.int(9));
  const start = rng.int(w.length - len + 1);
  return w.slice(start, start + len).join(' ');
}

/**
 * passage_retrieval_en-style items: numbered paragraphs ("Paragraph 1: …") from different
 * held-out documents, and an excerpt copied from one of them (LongBench gives a written summary;
 * a verbatim excerpt is what a small model can find). Answer: "Paragraph N".
 */
export function makePassageRetrieval(passages: readonly Passage[], rng: Prng, ids: Prng, opts: PassageRetrievalOptions, dataset = 'passage_retrieval_heldout'): LongBenchRecord[] {
  const k = opts.paragraphs ?? 8;
  const out: LongBenchRecord[] = [];
  let attempts = 0;
  while (out.length < opts.items) {
    if (++attempts > opts.items * 50) throw new Error(`${dataset}: could not make ${opts.items} items from ${passages.length} passages`);
    const chosen = sampleDistinct(rng, passages.length, k).map((i) => passages[i]!);
    if (new Set(chosen.map((p) => p.text)).size < k) continue;
    const t = rng.int(k);
    const excerpt = excerptOf(chosen[t]!, rng);
    if (chosen.some((p, i) => i !== t && p.text.includes(excerpt))) continue;
    out.push(
      longBenchRecord(
        {
          dataset,
          input: excerpt,
          context: chosen.map((p, i) => `Paragraph ${i + 1}: ${p.text}`).join('\n\n'),
          answers: [`Paragraph ${t + 1}`],
          language: 'en',
        },
        ids,
      ),
    );
  }
  return out;
}
