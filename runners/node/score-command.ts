import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { HarnessError } from '../../src/errors.js';
import { evaluatePredictions, predictionTask, resultJson, type TaskEval } from '../../src/workloads/longbench/eval.js';
import { pyFloatRepr } from '../../src/workloads/py-format.js';
import { loadJiebaSegmenter } from './jieba-segmenter.js';

export interface ScoreCommandOptions {
  /** LongBench-E: scores by length bucket (eval.py --e). */
  e?: boolean;
  log?: (text: string) => void;
  error?: (text: string) => void;
}

/**
 * `minicache-bench score PRED_DIR [--e]`: LongBench's eval.py over a folder of official-layout
 * predictions (`<task>.jsonl`, lines {pred, answers, all_classes, length}); writes
 * PRED_DIR/result.json as eval.py does and prints the table. Exit 0, or 2 for unusable input
 * (every problem listed).
 */
export async function scoreCommand(dir: string, opts: ScoreCommandOptions = {}): Promise<number> {
  const log = opts.log ?? ((t: string) => console.log(t));
  const error = opts.error ?? ((t: string) => console.error(t));
  try {
    const root = resolve(dir);
    if (!existsSync(root) || !statSync(root).isDirectory()) throw new HarnessError('PREDICTIONS', 'not a folder of predictions (<task>.jsonl files)', { file: dir });
    const names = readdirSync(root).filter((n) => predictionTask(n) !== undefined && statSync(join(root, n)).isFile());
    if (names.length === 0) throw new HarnessError('PREDICTIONS', 'no <task>.jsonl prediction files here', { file: dir }, 'LongBench pred.py writes pred/<model>/<task>.jsonl (pred_e/ for LongBench-E)');
    const files = names.map((name) => ({ name, text: readFileSync(join(root, name), 'utf8') }));
    const results = evaluatePredictions(files, { e: opts.e, segment: (t) => loadJiebaSegmenter()(t) });
    const out = join(root, 'result.json');
    writeFileSync(out, resultJson(results));
    log(scoreTable(results));
    error(`score: ${results.length} task${results.length === 1 ? '' : 's'}${opts.e ? ' (LongBench-E)' : ''} → ${out}`);
    return 0;
  } catch (e) {
    if (!(e instanceof HarnessError)) throw e;
    error(e.format());
    return 2;
  }
}

/** The printed table: task, items, score (or one column per LongBench-E bucket), as result.json writes them. */
export function scoreTable(results: readonly TaskEval[]): string {
  const cols = results.length > 0 && 'buckets' in results[0]! ? Object.keys(results[0].buckets) : ['score'];
  const rows = results.map((r) => [r.task, String(r.n), ...('score' in r ? [pyFloatRepr(r.score)] : cols.map((c) => pyFloatRepr(r.buckets[c]!)))]);
  const head = ['task', 'n', ...cols];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(head), ...rows.map(line)].join('\n');
}
