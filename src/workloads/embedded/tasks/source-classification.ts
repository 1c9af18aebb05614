import type { Prng } from '../../../measure/prng.js';
import type { LongBenchRecord } from '../../longbench/record.js';
import { longBenchRecord } from '../record-builder.js';
import type { Passage } from '../text-units.js';

export interface SourceClassificationOptions {
  items: number;
  /** Few-shot examples per item (every class at least once when shots ≥ classes). Default 12. */
  shots?: number;
  /** Held-out source → label; sources without a label are not used. */
  labels: Readonly<Record<string, string>>;
}

const example = (text: string, label: string) => `Passage: ${text}\nSource: ${label}\n`;

/**
 * trec-style few-shot classification: which kind of held-out source a short passage comes from.
 * Context = labelled examples, input = the query passage with "Source:" to complete; all_classes
 * = every label. Query sources are drawn uniformly, so chance is 1/classes.
 */
export function makeSourceClassification(passages: readonly Passage[], rng: Prng, ids: Prng, opts: SourceClassificationOptions, dataset = 'source_classification_heldout'): LongBenchRecord[] {
  const bySource = new Map<string, Passage[]>();
  for (const p of passages) {
    if (!(p.source in opts.labels)) continue;
    const list = bySource.get(p.source) ?? [];
    list.push(p);
    bySource.set(p.source, list);
  }
  const sources = [...bySource.keys()].filter((s) => bySource.get(s)!.length >= 2).sort();
  if (sources.length < 2) throw new Error(`${dataset}: need passages of at least two labelled sources, got ${sources.join(', ') || 'none'}`);
  const allClasses = sources.map((s) => opts.labels[s]!);
  const shots = opts.shots ?? 12;
  const out: LongBenchRecord[] = [];
  for (let n = 0; n < opts.items; n++) {
    const qs = sources[rng.int(sources.length)]!;
    const pool = bySource.get(qs)!;
    const query = pool[rng.int(pool.length)]!;
    const exSources = [...sources.slice(0, Math.min(shots, sources.length)), ...Array.from({ length: Math.max(0, shots - sources.length) }, () => sources[rng.int(sources.length)]!)];
    rng.shuffle(exSources);
    const used = new Set([query.text]);
    const examples = exSources.map((s) => {
      const list = bySource.get(s)!;
      let p = list[rng.int(list.length)]!;
      for (let tries = 0; used.has(p.text) && tries < 20; tries++) p = list[rng.int(list.length)]!;
      used.add(p.text);
      return example(p.text, opts.labels[s]!);
    });
    out.push(
      longBenchRecord(
        { dataset, input: `Passage: ${query.text}\nSource:`, context: examples.join(''), answers: [opts.labels[qs]!], language: 'en', all_classes: allClasses },
        ids,
      ),
    );
  }
  return out;
}
