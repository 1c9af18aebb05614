import dataset2prompt from '../../../configs/longbench/dataset2prompt.json' with { type: 'json' };
import dataset2maxlen from '../../../configs/longbench/dataset2maxlen.json' with { type: 'json' };
import dataset2metric from '../../../configs/longbench/dataset2metric.json' with { type: 'json' };
import pipeline from '../../../configs/longbench/pipeline.json' with { type: 'json' };
import chatTemplates from '../../../configs/longbench/chat-templates.json' with { type: 'json' };
import models from '../../../configs/longbench/models.json' with { type: 'json' };
import { isLongBenchMetric, type LongBenchMetricName } from '../metrics/index.js';

/**
 * The official LongBench v1 configuration (configs/longbench/*.json, copied from THUDM/LongBench
 * and jy-yuan/KIVI; see the README there), typed. Data lives in the JSON files; this module only
 * gives it types and lookups.
 */

/** How one task is prompted, generated and scored. Embedded tasks use the same shape. */
export interface TaskSpec {
  name: string;
  /** Python str.format template over the record's fields. */
  template: string;
  maxNewTokens: number;
  metric: LongBenchMetricName;
  /** Wrap the prompt in the model's chat template (LongBench skips few-shot and code tasks). */
  chat: boolean;
  /** Keep only the first line of the prediction (after leading newlines) before scoring. */
  firstLineOnly: boolean;
  /** Also stop generating at a newline token (samsum), besides EOS. */
  stopAtNewline: boolean;
}

export const LONGBENCH_TASKS: readonly string[] = Object.keys(dataset2prompt);
/** The seven tasks of the MiniCache paper's LongBench table (Table 1). */
export const PAPER_LONGBENCH_TASKS: readonly string[] = ['lcc', 'repobench-p', 'passage_retrieval_en', 'trec', '2wikimqa', 'gov_report', 'multifieldqa_zh'];
export const LONGBENCH_E_TASKS: readonly string[] = pipeline.longbenchE;

export function isLongBenchTask(name: string): boolean {
  return Object.hasOwn(dataset2prompt, name);
}

export function longBenchTask(name: string): TaskSpec {
  if (!isLongBenchTask(name)) throw new Error(`unknown LongBench task "${name}" (known: ${LONGBENCH_TASKS.join(', ')})`);
  const metric = (dataset2metric as Record<string, string>)[name]!;
  if (!isLongBenchMetric(metric)) throw new Error(`configs/longbench/dataset2metric.json: "${name}" has unknown metric "${metric}"`);
  return {
    name,
    template: (dataset2prompt as Record<string, string>)[name]!,
    maxNewTokens: (dataset2maxlen as Record<string, number>)[name]!,
    metric,
    chat: !pipeline.noChatTemplate.includes(name),
    firstLineOnly: pipeline.firstLineOnly.includes(name),
    stopAtNewline: pipeline.stopAtNewline.includes(name),
  };
}

/**
 * A chat template: a prefix and suffix around the (truncated) prompt, or the model's own Jinja
 * template rendered over one user message (`render`).
 */
export interface ChatTemplate {
  prefix: string;
  suffix: string;
  render?: (prompt: string) => string;
}

export type ChatTemplateName = keyof typeof chatTemplates;

/**
 * The chat-template name that means the model's own template (tokenizer_config.json
 * `chat_template`), applied as KIVI's latest build_chat does for Llama-3-Instruct:
 * apply_chat_template([{role: user, content: prompt}], tokenize=False, add_generation_prompt=True).
 */
export const MODEL_CHAT_TEMPLATE = 'tokenizer';

/** A template by name; `tokenizer` needs the cell's tokenizer (its tokenizer_config.json template). */
export function chatTemplate(name: string, tokenizer?: { applyChatTemplate?(messages: readonly { role: string; content: string }[]): string }): ChatTemplate {
  if (name === MODEL_CHAT_TEMPLATE) {
    const apply = tokenizer?.applyChatTemplate?.bind(tokenizer);
    if (!apply) throw new Error('chat template "tokenizer": this model\'s tokenizer has no chat template (it comes from tokenizer_config.json beside tokenizer.json)');
    return { prefix: '', suffix: '', render: (prompt) => apply([{ role: 'user', content: prompt }]) };
  }
  const t = (chatTemplates as Record<string, { prefix: string; suffix: string }>)[name];
  if (!t) throw new Error(`unknown chat template "${name}" (known: ${[...Object.keys(chatTemplates), MODEL_CHAT_TEMPLATE].join(', ')})`);
  return { prefix: t.prefix, suffix: t.suffix };
}

export type PipelineName = keyof typeof models;

export interface ModelPromptSettings {
  /** Prompt budget in tokens for middle truncation (model2maxlen). */
  maxLength: number;
  /** Chat template that pipeline applies to this model; null where it needs the model's own tokenizer code (chatglm). */
  chatTemplate: string | null;
}

/** model2maxlen and chat template of a model as LongBench v1's or KIVI's pipeline sets them. */
export function modelPromptSettings(pipelineName: PipelineName, model: string): ModelPromptSettings {
  const table = models[pipelineName] as Record<string, ModelPromptSettings>;
  const s = table[model];
  if (!s) throw new Error(`no max_length for model "${model}" in the ${pipelineName} table (known: ${Object.keys(table).join(', ')})`);
  return s;
}

export interface LengthBucket {
  name: string;
  /** Exclusive upper bound on the record's `length`; null for the last bucket. */
  below: number | null;
}

export const LONGBENCH_E_BUCKETS: readonly LengthBucket[] = pipeline.lengthBuckets;
