import { pairedBootstrapMeanDiff, type BootstrapOptions } from '../measure/bootstrap.js';
import type { TaskScore } from '../results/record.js';
import { agreementPerItem, meanAgreement } from './agreement.js';
import { scoreByLength, taskScore } from './longbench/score.js';

export interface TaskScoreInput {
  task: string;
  metric: string;
  /** Per-item scores of this method (0..1, item order). */
  items: readonly number[];
  /** Record lengths (words/chars) for LongBench-E buckets; omit to leave byLength out. */
  lengths?: readonly number[];
  /** FP16's per-item scores on the same items, for the paired difference. */
  baselineItems?: readonly number[];
  /** Generated tokens of this method and of FP16, per item, for agreement. */
  outputs?: readonly (readonly number[])[];
  baselineOutputs?: readonly (readonly number[])[];
  bootstrap?: BootstrapOptions;
}

/**
 * A results TaskScore: the LongBench score, per-item scores, LongBench-E buckets, agreement with
 * FP16 and the paired bootstrap CI of the difference. The difference is on the score's scale
 * (points, ×100), so `score − fp16 score` and `deltaVsFp16.mean` agree.
 */
export function buildTaskScore(input: TaskScoreInput): TaskScore {
  const out: TaskScore = { task: input.task, metric: input.metric, score: taskScore(input.items), n: input.items.length, items: [...input.items] };
  if (input.lengths) out.byLength = scoreByLength(input.items, input.lengths);
  if (input.outputs && input.baselineOutputs) out.agreement = meanAgreement(agreementPerItem(input.outputs, input.baselineOutputs));
  if (input.baselineItems) {
    const ci = pairedBootstrapMeanDiff(
      input.items.map((x) => 100 * x),
      input.baselineItems.map((x) => 100 * x),
      input.bootstrap ?? { seed: `delta/${input.task}` },
    );
    out.deltaVsFp16 = { mean: ci.estimate, lo: ci.lo, hi: ci.hi };
  }
  return out;
}
