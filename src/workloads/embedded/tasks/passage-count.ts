import type { Prng } from '../../../measure/prng.js';
import type { LongBenchRecord } from '../../longbench/record.js';
import { longBenchRecord, sampleDistinct } from '../record-builder.js';
import type { Passage } from '../text-units.js';

export interface PassageCountOptions {
  items: number;
  /** Unique paragraphs per item, inclusive range. Default 2..6. */
  minUnique?: number;
  maxUnique?: number;
  /** Extra duplicate paragraphs per item, inclusive range. Default 1..4. */
  minDuplicates?: number;
  maxDuplicates?: number;
}

/** passage_count-style items: distinct held-out paragraphs, some repeated, shuffled; answer = number of distinct ones. */
export function makePassageCount(passages: readonly Passage[], rng: Prng, ids: Prng, opts: PassageCountOptions, dataset = 'passage_count_heldout'): LongBenchRecord[] {
  const [u0, u1] = [opts.minUnique ?? 2, opts.maxUnique ?? 6];
  const [d0, d1] = [opts.minDuplicates ?? 1, opts.maxDuplicates ?? 4];
  const out: LongBenchRecord[] = [];
  while (out.length < opts.items) {
    const unique = u0 + rng.int(u1 - u0 + 1);
    const chosen = sampleDistinct(rng, passages.length, unique).map((i) => passages[i]!.text);
    if (new Set(chosen).size < unique) continue;
    const dups = d0 + rng.int(d1 - d0 + 1);
    const all = [...chosen, ...Array.from({ length: dups }, () => chosen[rng.int(unique)]!)];
    rng.shuffle(all);
    out.push(
      longBenchRecord(
        { dataset, input: '', context: all.map((t, i) => `Paragraph ${i + 1}: ${t}`).join('\n\n'), answers: [String(unique)], language: 'en' },
        ids,
      ),
    );
  }
  return out;
}
