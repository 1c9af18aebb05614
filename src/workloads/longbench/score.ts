import { LONGBENCH_METRICS, type MetricContext } from '../metrics/index.js';
import { pyLstrip } from '../py-text.js';
import { numpyMean, numpyRound } from '../numpy-float.js';
import { pyRound } from '../py-round.js';
import { LONGBENCH_E_BUCKETS, type LengthBucket, type TaskSpec } from './config.js';

/** Options passed through to the metrics (segmenter, code_sim backend, ROUGE recursion emulation). */
export type ScoreOptions = Omit<MetricContext, 'allClasses'>;

/** eval.py's post-processing: trec/triviaqa/samsum/lsht keep the first line after leading newlines. */
export function postProcessPrediction(task: Pick<TaskSpec, 'firstLineOnly'>, prediction: string): string {
  return task.firstLineOnly ? pyLstrip(prediction, '\n').split('\n')[0]! : prediction;
}

/** One item: post-process, then the maximum of the metric over the gold answers (starting from 0). */
export function scoreItem(
  task: Pick<TaskSpec, 'metric' | 'firstLineOnly'>,
  prediction: string,
  record: { answers: readonly string[]; all_classes?: readonly string[] | null },
  opts: ScoreOptions = {},
): number {
  const pred = postProcessPrediction(task, prediction);
  const metric = LONGBENCH_METRICS[task.metric];
  let score = 0;
  for (const gold of record.answers) score = Math.max(score, metric(pred, gold, { ...opts, allClasses: record.all_classes }));
  return score;
}

/** eval.py's task score: round(100 · Σ / n, 2), summed in item order as Python does. */
export function taskScore(items: readonly number[]): number {
  if (items.length === 0) throw new Error('task score of no items (Python: ZeroDivisionError)');
  let total = 0;
  for (const s of items) total += s;
  return pyRound((100 * total) / items.length, 2);
}

/** LongBench-E's buckets (by the record's `length`: < 4000, < 8000, else), each in item order. */
export function bucketItems(items: readonly number[], lengths: readonly number[], buckets: readonly LengthBucket[] = LONGBENCH_E_BUCKETS): Map<string, number[]> {
  if (items.length !== lengths.length) throw new Error(`LongBench-E buckets: ${items.length} scores but ${lengths.length} lengths`);
  const groups = new Map<string, number[]>(buckets.map((b) => [b.name, []]));
  items.forEach((s, i) => {
    const b = buckets.find((x) => x.below === null || lengths[i]! < x.below);
    if (!b) throw new Error(`length ${lengths[i]} falls in no bucket`);
    groups.get(b.name)!.push(s);
  });
  return groups;
}

/**
 * LongBench-E: eval.py's `round(100 * np.mean(bucket), 2)` inside length buckets, with numpy's
 * pairwise mean and rounding (numpy-float.ts). Python prints NaN for an empty bucket; empty
 * buckets are left out here (`minicache-bench score --e` writes the NaN).
 */
export function scoreByLength(
  items: readonly number[],
  lengths: readonly number[],
  buckets: readonly LengthBucket[] = LONGBENCH_E_BUCKETS,
): Record<string, { score: number; n: number }> {
  const out: Record<string, { score: number; n: number }> = {};
  for (const [name, xs] of bucketItems(items, lengths, buckets)) if (xs.length > 0) out[name] = { score: numpyRound(100 * numpyMean(xs), 2), n: xs.length };
  return out;
}

export interface TaskResult {
  score: number;
  items: number[];
  byLength: Record<string, { score: number; n: number }>;
}

/** Scores a task's predictions against its records (same order), with LongBench-E buckets. */
export function scoreTask(
  task: Pick<TaskSpec, 'metric' | 'firstLineOnly'>,
  predictions: readonly string[],
  records: readonly { answers: readonly string[]; all_classes?: readonly string[] | null; length: number }[],
  opts: ScoreOptions = {},
): TaskResult {
  if (predictions.length !== records.length) throw new Error(`scoreTask: ${predictions.length} predictions for ${records.length} records`);
  const items = predictions.map((p, i) => scoreItem(task, p, records[i]!, opts));
  return { score: taskScore(items), items, byLength: scoreByLength(items, records.map((r) => r.length)) };
}
