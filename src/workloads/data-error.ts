import { HarnessError } from '../errors.js';

/** Where a record came from, for error messages. */
export interface RecordSource {
  file: string;
  /** 1-based line of a JSONL record. */
  line?: number;
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing (field missing)';
  if (v === null) return 'null';
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (typeof v === 'string') return `a string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v)}`;
  return `${typeof v} ${JSON.stringify(v)}`;
}

/** `file:line field: expected …, got …` for a bad data record. */
export function dataError(src: RecordSource, field: string, expected: string, got: unknown): HarnessError {
  return new HarnessError('WORKLOAD_DATA', `expected ${expected}, got ${describe(got)}`, { file: src.file, line: src.line, field });
}
