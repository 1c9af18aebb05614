import { HarnessError } from '../../errors.js';
import { numpyMean, numpyRound } from '../numpy-float.js';
import { pyFloatRepr } from '../py-format.js';
import { isLongBenchTask, longBenchTask, LONGBENCH_TASKS } from './config.js';
import { bucketItems, scoreItem, taskScore, type ScoreOptions } from './score.js';

/**
 * LongBench's eval.py over a folder of predictions: one `<task>.jsonl` per task (the task is the
 * file name up to its first dot), each line `{pred, answers, all_classes, length}` as pred.py
 * writes them. Scores are eval.py's: per item the best metric over the gold answers (after
 * trec/triviaqa/samsum/lsht keep their first line), the task `round(100 · Σ / n, 2)`; with `e`
 * (LongBench-E) per length bucket `round(100 · np.mean(bucket), 2)`, numpy's mean and rounding,
 * NaN for an empty bucket. Like eval.py, every item is scored with the last line's all_classes.
 */

export interface PredictionFile {
  /** The file name (e.g. `hotpotqa.jsonl`). */
  name: string;
  text: string;
}

export interface PredictionLine {
  pred: string;
  answers: string[];
  allClasses: string[] | null;
  length: number | null;
  /** 1-based line in its file. */
  line: number;
}

export type TaskEval = { task: string; file: string; n: number } & ({ score: number } | { buckets: Record<string, number> });

/** One problem of a prediction file: `file:line field: message`. */
function problem(file: string, line: number | undefined, field: string | undefined, message: string): string {
  return `${file}${line !== undefined ? `:${line}` : ''}${field ? ` ${field}` : ''}: ${message}`;
}

/** The lines of one prediction file, checked; problems are appended to `problems`. */
export function parsePredictionFile(file: string, text: string, needLength: boolean, problems: string[]): PredictionLine[] {
  const out: PredictionLine[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    if (raw.trim() === '') continue;
    let d: Record<string, unknown>;
    try {
      d = JSON.parse(raw) as Record<string, unknown>;
    } catch {
      problems.push(problem(file, i + 1, undefined, 'not valid JSON'));
      continue;
    }
    if (d === null || typeof d !== 'object' || Array.isArray(d)) {
      problems.push(problem(file, i + 1, undefined, 'expected a JSON object {pred, answers, all_classes, length}'));
      continue;
    }
    const before = problems.length;
    const strings = (v: unknown) => Array.isArray(v) && v.every((x) => typeof x === 'string');
    if (typeof d.pred !== 'string') problems.push(problem(file, i + 1, 'pred', `expected a string, got ${describe(d.pred)}`));
    if (!strings(d.answers)) problems.push(problem(file, i + 1, 'answers', `expected an array of strings, got ${describe(d.answers)}`));
    if (!(d.all_classes === null || strings(d.all_classes))) problems.push(problem(file, i + 1, 'all_classes', `expected null or an array of strings, got ${describe(d.all_classes)}`));
    if (needLength && typeof d.length !== 'number') problems.push(problem(file, i + 1, 'length', `expected a number (LongBench-E buckets items by it), got ${describe(d.length)}`));
    if (problems.length > before) continue;
    out.push({ pred: d.pred as string, answers: d.answers as string[], allClasses: (d.all_classes as string[] | null) ?? null, length: typeof d.length === 'number' ? d.length : null, line: i + 1 });
  }
  if (out.length === 0 && !problems.some((p) => p.startsWith(`${file}:`))) problems.push(problem(file, undefined, undefined, 'no predictions (eval.py would divide by zero)'));
  return out;
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing (field missing)';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array holding a non-string';
  return `${typeof v} ${JSON.stringify(v).slice(0, 40)}`;
}

/** The task a prediction file scores (eval.py: `filename.split('.')[0]`), or undefined for files eval.py skips. */
export function predictionTask(name: string): string | undefined {
  return name.endsWith('jsonl') ? name.split('.')[0] : undefined;
}

/**
 * Scores every prediction file as eval.py does, in file-name order. Throws one HarnessError
 * listing every problem (unknown task, bad line) at once.
 */
export function evaluatePredictions(files: readonly PredictionFile[], opts: { e?: boolean } & ScoreOptions = {}): TaskEval[] {
  const problems: string[] = [];
  const byTask = new Map<string, PredictionFile>();
  for (const f of [...files].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const task = predictionTask(f.name);
    if (task === undefined) continue;
    if (!isLongBenchTask(task)) problems.push(problem(f.name, undefined, undefined, `"${task}" is not a LongBench task (known: ${LONGBENCH_TASKS.join(', ')})`));
    else if (byTask.has(task)) problems.push(problem(f.name, undefined, undefined, `a second file for ${task} (also ${byTask.get(task)!.name})`));
    else byTask.set(task, f);
  }
  const parsed = [...byTask].map(([task, f]) => ({ task, file: f.name, lines: parsePredictionFile(f.name, f.text, !!opts.e, problems) }));
  if (problems.length > 0) throw new HarnessError('PREDICTIONS', `${problems.length} problem${problems.length === 1 ? '' : 's'} in the predictions:\n  ${problems.join('\n  ')}`);
  const results = parsed.map(({ task, file, lines }) => {
    const spec = longBenchTask(task);
    const allClasses = lines[lines.length - 1]!.allClasses;
    const items = lines.map((l) => {
      try {
        return scoreItem(spec, l.pred, { answers: l.answers, all_classes: allClasses }, opts);
      } catch (e) {
        // What eval.py would crash on (a retrieval answer without its paragraph number, classes missing).
        problems.push(problem(file, l.line, undefined, (e as Error).message));
        return NaN;
      }
    });
    if (!opts.e) return { task, file, n: items.length, score: taskScore(items) };
    const buckets: Record<string, number> = {};
    for (const [name, xs] of bucketItems(items, lines.map((l) => l.length!))) buckets[name] = numpyRound(100 * numpyMean(xs), 2);
    return { task, file, n: items.length, buckets };
  });
  if (problems.length > 0) throw predictionProblems(problems);
  return results;
}

function predictionProblems(problems: string[]): HarnessError {
  return new HarnessError('PREDICTIONS', `${problems.length} problem${problems.length === 1 ? '' : 's'} in the predictions:\n  ${problems.join('\n  ')}`);
}

/** eval.py's result.json: `json.dump(scores, f, ensure_ascii=False, indent=4)`, no newline at the end. */
export function resultJson(results: readonly TaskEval[]): string {
  if (results.length === 0) return '{}';
  const value = (r: TaskEval) =>
    'score' in r ? pyFloatRepr(r.score) : `{\n${Object.entries(r.buckets).map(([k, v]) => `        ${JSON.stringify(k)}: ${pyFloatRepr(v)}`).join(',\n')}\n    }`;
  return `{\n${results.map((r) => `    ${JSON.stringify(r.task)}: ${value(r)}`).join(',\n')}\n}`;
}
