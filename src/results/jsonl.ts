import { HarnessError } from '../errors.js';
import { SCHEMA_VERSION, type CellResult } from './record.js';

/**
 * The results.jsonl line codec: one CellResult per line, appended as cells finish.
 *
 * Parsing is strict on purpose: a gate must never pass on a record it could not read, so every
 * malformed line is an error that names `file:line` and the field, instead of being skipped.
 */

/** One record as one line (no newline inside; a trailing '\n'). */
export function serializeResult(record: CellResult): string {
  return `${JSON.stringify(record)}\n`;
}

export function serializeResults(records: readonly CellResult[]): string {
  return records.map(serializeResult).join('');
}

/** All records of a results.jsonl text. Blank lines are allowed (an editor's trailing newline). */
export function parseResultsJsonl(text: string, file: string): CellResult[] {
  const out: CellResult[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.replace(/\r$/, '');
    if (line.trim() === '') continue;
    out.push(parseResultLine(line, file, i + 1));
  }
  return out;
}

export function parseResultLine(line: string, file: string, lineNo: number): CellResult {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (e) {
    const hint = lineNo > 1 ? 'a run interrupted mid-write leaves a partial last line; re-run the cell or delete the line' : undefined;
    throw new HarnessError('results.parse', `not valid JSON (${(e as Error).message})`, { file, line: lineNo }, hint);
  }
  const problem = checkRecordShape(value);
  if (problem) {
    throw new HarnessError('results.shape', `${problem.message}`, { file, line: lineNo, field: problem.field });
  }
  const record = value as CellResult;
  if (record.schemaVersion > SCHEMA_VERSION) {
    throw new HarnessError(
      'results.version',
      `schemaVersion ${record.schemaVersion} is newer than this tool understands (${SCHEMA_VERSION})`,
      { file, line: lineNo, field: 'schemaVersion' },
      'upgrade minicache-bench',
    );
  }
  return record;
}

interface ShapeProblem {
  field: string;
  message: string;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isFiniteNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `"${v.length > 40 ? `${v.slice(0, 40)}…` : v}"`;
  return typeof v === 'object' ? 'an object' : String(v);
}

/** The fields readers rely on (reports, gates, merge); the rest of the record passes through. */
function checkRecordShape(v: unknown): ShapeProblem | undefined {
  if (!isObject(v)) return { field: '', message: `expected a result object, got ${describe(v)}` };
  if (!Number.isInteger(v.schemaVersion)) return { field: 'schemaVersion', message: `expected an integer, got ${describe(v.schemaVersion)}` };
  if (typeof v.cellId !== 'string' || v.cellId === '') return { field: 'cellId', message: `expected a non-empty string, got ${describe(v.cellId)}` };
  if (v.status !== 'ok' && v.status !== 'errored' && v.status !== 'skipped') {
    return { field: 'status', message: `expected "ok", "errored" or "skipped", got ${describe(v.status)}` };
  }
  if (!isObject(v.cell)) return { field: 'cell', message: `expected an object, got ${describe(v.cell)}` };
  for (const key of ['model', 'method', 'workload'] as const) {
    if (typeof v.cell[key] !== 'string') return { field: `cell.${key}`, message: `expected a string, got ${describe(v.cell[key])}` };
  }
  if (!isFiniteNumber(v.cell.batch)) return { field: 'cell.batch', message: `expected a number, got ${describe(v.cell.batch)}` };
  if (!isObject(v.provenance)) return { field: 'provenance', message: `expected an object, got ${describe(v.provenance)}` };
  if (v.status === 'ok') return checkOkShape(v);
  if (v.status === 'errored' && !isObject(v.error)) return { field: 'error', message: `expected an object, got ${describe(v.error)}` };
  return undefined;
}

function checkOkShape(v: Record<string, unknown>): ShapeProblem | undefined {
  const m = v.metrics;
  if (!isObject(m)) return { field: 'metrics', message: `expected an object, got ${describe(m)}` };
  for (const key of ['kvBytes', 'kvBytesBaseline', 'compressionRatio', 'seqLen'] as const) {
    if (!isFiniteNumber(m[key])) return { field: `metrics.${key}`, message: `expected a finite number, got ${describe(m[key])}` };
  }
  if (!isObject(m.kvBytesByComponent)) return { field: 'metrics.kvBytesByComponent', message: `expected an object, got ${describe(m.kvBytesByComponent)}` };
  if (m.repeats !== undefined) {
    if (!isObject(m.repeats)) return { field: 'metrics.repeats', message: `expected an object, got ${describe(m.repeats)}` };
    for (const [k, arr] of Object.entries(m.repeats)) {
      if (!Array.isArray(arr) || !arr.every(isFiniteNumber)) return { field: `metrics.repeats.${k}`, message: 'expected an array of finite numbers' };
    }
  }
  if (v.tasks !== undefined) {
    if (!Array.isArray(v.tasks)) return { field: 'tasks', message: `expected an array, got ${describe(v.tasks)}` };
    for (let i = 0; i < v.tasks.length; i++) {
      const t: unknown = v.tasks[i];
      if (!isObject(t)) return { field: `tasks[${i}]`, message: `expected an object, got ${describe(t)}` };
      if (typeof t.task !== 'string') return { field: `tasks[${i}].task`, message: `expected a string, got ${describe(t.task)}` };
      if (!isFiniteNumber(t.score)) return { field: `tasks[${i}].score`, message: `expected a finite number, got ${describe(t.score)}` };
    }
  }
  return undefined;
}
