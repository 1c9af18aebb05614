import { dataError, type RecordSource } from '../data-error.js';

/** One line of a LongBench (v1 / LongBench-E) jsonl file. */
export interface LongBenchRecord {
  input: string;
  context: string;
  answers: string[];
  /** Words (English, code) or characters (Chinese) of input + context + answers — not tokens. */
  length: number;
  dataset: string;
  language: string;
  all_classes: string[] | null;
  _id: string;
}

function isStringArray(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'string');
}

export interface ParseRecordOptions {
  /** Catches a file of one task read under another task's name (`<task>_e` is accepted too). */
  expectDataset?: string;
  /** Perplexity documents have no answers; LongBench tasks always have at least one. */
  allowNoAnswers?: boolean;
}

/** Checks one parsed JSON value against the LongBench record shape; the error names the file, line and field. */
export function parseLongBenchRecord(value: unknown, src: RecordSource, opts: ParseRecordOptions = {}): LongBenchRecord {
  const { expectDataset } = opts;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw dataError(src, '(record)', 'a JSON object', value);
  const o = value as Record<string, unknown>;
  for (const f of ['input', 'context', 'dataset', 'language', '_id'] as const) {
    if (typeof o[f] !== 'string') throw dataError(src, f, 'a string', o[f]);
  }
  if (!isStringArray(o.answers) || (o.answers.length === 0 && !opts.allowNoAnswers)) {
    throw dataError(src, 'answers', opts.allowNoAnswers ? 'an array of strings' : 'a non-empty array of strings', o.answers);
  }
  if (typeof o.length !== 'number' || !Number.isInteger(o.length) || o.length < 0) throw dataError(src, 'length', 'a non-negative integer', o.length);
  if (o.all_classes !== null && o.all_classes !== undefined && !isStringArray(o.all_classes)) throw dataError(src, 'all_classes', 'null or an array of strings', o.all_classes);
  if (expectDataset !== undefined && o.dataset !== expectDataset && o.dataset !== `${expectDataset}_e`) {
    throw dataError(src, 'dataset', `"${expectDataset}" (the task this file was read as)`, o.dataset);
  }
  return {
    input: o.input as string,
    context: o.context as string,
    answers: o.answers,
    length: o.length,
    dataset: o.dataset as string,
    language: o.language as string,
    all_classes: (o.all_classes as string[] | null | undefined) ?? null,
    _id: o._id as string,
  };
}
