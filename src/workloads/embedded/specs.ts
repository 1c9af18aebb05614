import embedded from '../../../configs/longbench/embedded-tasks.json' with { type: 'json' };
import { isLongBenchMetric } from '../metrics/index.js';
import type { TaskSpec } from '../longbench/config.js';

/**
 * Specs of the embedded task set (configs/longbench/embedded-tasks.json): LongBench-shaped tasks
 * made from the embedded model's held-out text, prompted and scored like the LongBench task whose
 * shape they copy, plus a long-document perplexity task scored by the engine's log-likelihoods.
 */
export interface PerplexityTaskSpec {
  name: string;
  /** Formats the document to score (`{context}`). */
  template: string;
  metric: 'perplexity';
}

export type EmbeddedTaskSpec = TaskSpec | PerplexityTaskSpec;

interface EmbeddedEntry {
  shape: string;
  template: string;
  maxNewTokens: number;
  metric: string;
  chat: boolean;
  firstLineOnly: boolean;
  stopAtNewline: boolean;
}

const entries = Object.fromEntries(Object.entries(embedded).filter(([k]) => k !== 'sourceLabels')) as Record<string, EmbeddedEntry>;

export const EMBEDDED_TASKS: readonly string[] = Object.keys(entries);

/** Held-out source → class label of the source classification task (labels are not substrings of each other). */
export const SOURCE_LABELS: Readonly<Record<string, string>> = embedded.sourceLabels;

export function isPerplexityTask(spec: EmbeddedTaskSpec): spec is PerplexityTaskSpec {
  return spec.metric === 'perplexity';
}

export function embeddedTask(name: string): EmbeddedTaskSpec {
  const e = entries[name];
  if (!e) throw new Error(`unknown embedded task "${name}" (known: ${EMBEDDED_TASKS.join(', ')})`);
  if (e.metric === 'perplexity') return { name, template: e.template, metric: 'perplexity' };
  if (!isLongBenchMetric(e.metric)) throw new Error(`configs/longbench/embedded-tasks.json: "${name}" has unknown metric "${e.metric}"`);
  return { name, template: e.template, maxNewTokens: e.maxNewTokens, metric: e.metric, chat: e.chat, firstLineOnly: e.firstLineOnly, stopAtNewline: e.stopAtNewline };
}
