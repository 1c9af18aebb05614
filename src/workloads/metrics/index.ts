import { classificationScore } from './classification.js';
import { codeSimScore, type FuzzBackend } from './code-sim.js';
import { qaF1Score, qaF1ZhScore } from './qa-f1.js';
import { countScore, retrievalScore, retrievalZhScore } from './retrieval.js';
import { rougeScore, rougeZhScore, type RougeOptions } from './rouge.js';
import type { Segmenter } from './segmenter.js';

export const LONGBENCH_METRIC_NAMES = ['qa_f1', 'qa_f1_zh', 'rouge', 'rouge_zh', 'classification', 'retrieval', 'retrieval_zh', 'count', 'code_sim'] as const;
export type LongBenchMetricName = (typeof LONGBENCH_METRIC_NAMES)[number];

/** What a metric may need besides the two strings. */
export interface MetricContext {
  /** Class list of classification tasks (the record's all_classes). */
  allClasses?: readonly string[] | null;
  /** Chinese segmenter for qa_f1_zh and rouge_zh. */
  segment?: Segmenter;
  codeSimBackend?: FuzzBackend;
  rouge?: RougeOptions;
}

export type MetricFn = (prediction: string, gold: string, ctx: MetricContext) => number;

function needSegmenter(ctx: MetricContext, metric: string): Segmenter {
  if (!ctx.segment) throw new Error(`${metric} needs a Chinese segmenter (MetricContext.segment); in Node use loadJiebaSegmenter() from runners/node/jieba-segmenter.js`);
  return ctx.segment;
}

export const LONGBENCH_METRICS: Record<LongBenchMetricName, MetricFn> = {
  qa_f1: (p, g) => qaF1Score(p, g),
  qa_f1_zh: (p, g, ctx) => qaF1ZhScore(p, g, needSegmenter(ctx, 'qa_f1_zh')),
  rouge: (p, g, ctx) => rougeScore(p, g, ctx.rouge),
  rouge_zh: (p, g, ctx) => rougeZhScore(p, g, needSegmenter(ctx, 'rouge_zh'), ctx.rouge),
  classification: (p, g, ctx) => {
    // Python would fail iterating None; say what is missing instead.
    if (!ctx.allClasses) throw new Error('classification needs the record\'s all_classes');
    return classificationScore(p, g, ctx.allClasses);
  },
  retrieval: (p, g) => retrievalScore(p, g),
  retrieval_zh: (p, g) => retrievalZhScore(p, g),
  count: (p, g) => countScore(p, g),
  code_sim: (p, g, ctx) => codeSimScore(p, g, ctx.codeSimBackend),
};

export function isLongBenchMetric(name: string): name is LongBenchMetricName {
  return (LONGBENCH_METRIC_NAMES as readonly string[]).includes(name);
}

export { classificationScore } from './classification.js';
export { codeSimScore, firstCodeLine, fuzzRatio, type FuzzBackend } from './code-sim.js';
export { multisetF1, normalizeAnswer, normalizeZhAnswer, qaF1Score, qaF1ZhScore } from './qa-f1.js';
export { countScore, retrievalScore, retrievalZhScore } from './retrieval.js';
export { rougeScore, rougeSentences, rougeZhScore, type RougeOptions } from './rouge.js';
export { SequenceMatcher, sequenceRatio, type MatchBlock } from './sequence-matcher.js';
export type { Segmenter } from './segmenter.js';
