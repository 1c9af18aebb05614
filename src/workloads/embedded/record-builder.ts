import type { Prng } from '../../measure/prng.js';
import type { LongBenchRecord } from '../longbench/record.js';
import { pySplit } from '../py-text.js';

/**
 * A record in the official LongBench shape. `length` follows LongBench's definition for English
 * and code: whitespace-separated words of input + context + answers.
 */
export function longBenchRecord(
  fields: { dataset: string; input: string; context: string; answers: string[]; language: string; all_classes?: string[] | null },
  ids: Prng,
): LongBenchRecord {
  const length = [fields.input, fields.context, ...fields.answers].reduce((n, s) => n + pySplit(s).length, 0);
  const hex = () => ids.nextUint32().toString(16).padStart(8, '0');
  return {
    input: fields.input,
    context: fields.context,
    answers: fields.answers,
    length,
    dataset: fields.dataset,
    language: fields.language,
    all_classes: fields.all_classes ?? null,
    _id: hex() + hex() + hex(),
  };
}

/** k distinct indices of [0, n), in draw order. */
export function sampleDistinct(rng: Prng, n: number, k: number): number[] {
  if (k > n) throw new Error(`cannot draw ${k} distinct items from ${n}`);
  const idx = Array.from({ length: n }, (_, i) => i);
  for (let i = 0; i < k; i++) {
    const j = i + rng.int(n - i);
    [idx[i], idx[j]] = [idx[j]!, idx[i]!];
  }
  return idx.slice(0, k);
}
