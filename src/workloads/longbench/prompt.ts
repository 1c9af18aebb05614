import type { Tokenizer } from '../../engine/backend.js';
import { pyFormat } from '../py-format.js';
import type { ChatTemplate, TaskSpec } from './config.js';
import type { LongBenchRecord } from './record.js';

/** `template.format(**record)`, byte-identical to Python's. */
export function buildPrompt(task: Pick<TaskSpec, 'template'>, record: LongBenchRecord | Readonly<Record<string, unknown>>): string {
  return pyFormat(task.template, record as Readonly<Record<string, unknown>>);
}

export interface TruncateOptions {
  /**
   * Count the BOS token the way HF `tokenizer(prompt)` does (LongBench measures the prompt with
   * special tokens, so BOS takes one of the max_length slots and is dropped again by
   * decode(skip_special_tokens=True)). Default true.
   */
  bos?: boolean;
}

export interface TruncateResult {
  prompt: string;
  truncated: boolean;
  /** Tokens of the prompt before truncation (BOS included when counted). */
  tokensBefore: number;
}

/**
 * LongBench's middle truncation: if the prompt has more than maxLength tokens, keep
 * decode(ids[:half], skip_special) + decode(ids[-half:], skip_special) with half = floor(maxLength/2),
 * concatenated as strings (re-tokenising the result can give a few tokens more or less).
 */
export function truncateMiddle(prompt: string, tokenizer: Tokenizer, maxLength: number, opts: TruncateOptions = {}): TruncateResult {
  const ids = tokenizer.encode(prompt, { bos: opts.bos ?? true });
  if (ids.length <= maxLength) return { prompt, truncated: false, tokensBefore: ids.length };
  const half = Math.floor(maxLength / 2);
  // Python's ids[-0:] is the whole list; slice(-0) is too, so maxLength 1 behaves the same.
  const head = tokenizer.decode(ids.slice(0, half), { skipSpecial: true });
  const tail = tokenizer.decode(ids.slice(-half), { skipSpecial: true });
  return { prompt: head + tail, truncated: true, tokensBefore: ids.length };
}

/** Wraps the (already truncated) prompt in a chat template, or leaves it as is. */
export function applyChatTemplate(prompt: string, template: ChatTemplate | null): string {
  if (!template) return prompt;
  return template.render ? template.render(prompt) : template.prefix + prompt + template.suffix;
}

export interface PreparedPrompt extends TruncateResult {
  /** Text to tokenize and feed to the model. */
  text: string;
  chatApplied: boolean;
}

export interface PrepareOptions extends TruncateOptions {
  tokenizer: Tokenizer;
  maxLength: number;
  /** The model's chat template; applied only to tasks with `chat: true`. null or 'none' = never. */
  chatTemplate: ChatTemplate | null;
}

/**
 * The LongBench pipeline up to generation: format, truncate the middle by tokens, then apply the
 * chat template unless the task is one LongBench leaves raw (trec, triviaqa, samsum, lsht, lcc,
 * repobench-p).
 */
export function prepareLongBenchPrompt(task: TaskSpec, record: LongBenchRecord, opts: PrepareOptions): PreparedPrompt {
  const formatted = buildPrompt(task, record);
  const t = truncateMiddle(formatted, opts.tokenizer, opts.maxLength, opts);
  const useChat = task.chat && opts.chatTemplate !== null && (opts.chatTemplate.render !== undefined || opts.chatTemplate.prefix !== '' || opts.chatTemplate.suffix !== '');
  return { ...t, text: useChat ? applyChatTemplate(t.prompt, opts.chatTemplate) : t.prompt, chatApplied: useChat };
}
