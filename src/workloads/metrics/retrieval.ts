import { pyFindDigitRuns } from '../py-text.js';

/** Fraction of the integers in the prediction that equal `id` (0 when it has none), as LongBench scores. */
function fractionEqual(prediction: string, id: string): number {
  const numbers = pyFindDigitRuns(prediction);
  if (numbers.length === 0) return 0.0;
  return numbers.filter((n) => n === id).length / numbers.length;
}

function goldId(gold: string, pattern: RegExp, metric: string): string {
  const m = pattern.exec(gold);
  // Python raises IndexError here (matches[0] of an empty list); say what was expected instead.
  if (!m) throw new Error(`${metric}: gold answer ${JSON.stringify(gold)} has no ${pattern.source}`);
  return m[1]!;
}

/** LongBench `retrieval_score`: gold id = first "Paragraph N" of the gold answer. */
export function retrievalScore(prediction: string, gold: string): number {
  return fractionEqual(prediction, goldId(gold, /Paragraph (\p{Nd}+)/u, 'retrieval'));
}

/** LongBench `retrieval_zh_score`: gold id = first "段落N" of the gold answer. */
export function retrievalZhScore(prediction: string, gold: string): number {
  return fractionEqual(prediction, goldId(gold, /段落(\p{Nd}+)/u, 'retrieval_zh'));
}

/** LongBench `count_score`: the same fraction against the gold number itself. */
export function countScore(prediction: string, gold: string | number): number {
  return fractionEqual(prediction, String(gold));
}
