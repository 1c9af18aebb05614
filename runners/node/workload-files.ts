import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { HarnessError } from '../../src/errors.js';
import { parseHeldoutDoc, type HeldoutDoc } from '../../src/workloads/embedded/heldout.js';
import { embeddedTask, isPerplexityTask } from '../../src/workloads/embedded/specs.js';
import { parseLongBenchRecord, type LongBenchRecord, type ParseRecordOptions } from '../../src/workloads/longbench/record.js';
import { JsonArraySplitter } from '../../src/workloads/sharegpt/array-splitter.js';
import { emptySkipCounts, shareGptPair, type ShareGptPairs } from '../../src/workloads/sharegpt/parse.js';

/**
 * Reading workload data from disk with errors that say file, line and field. Parsing and
 * validation live in src/workloads; this file only owns the file system.
 */

function readBytes(file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (e) {
    throw new HarnessError('WORKLOAD_FILE', `cannot read: ${(e as Error).message}`, { file });
  }
}

/** Non-blank lines of a JSONL file, parsed, with their 1-based line numbers. */
export function readJsonl(file: string): { line: number; value: unknown }[] {
  const lines = readBytes(file).toString('utf8').split('\n');
  const out: { line: number; value: unknown }[] = [];
  lines.forEach((text, i) => {
    if (text.trim() === '') return;
    try {
      out.push({ line: i + 1, value: JSON.parse(text) });
    } catch (e) {
      throw new HarnessError('WORKLOAD_DATA', `invalid JSON: ${(e as Error).message}`, { file, line: i + 1 });
    }
  });
  return out;
}

/** A LongBench jsonl file, every record validated. */
export function readLongBenchFile(file: string, opts: ParseRecordOptions = {}): LongBenchRecord[] {
  return readJsonl(file).map(({ line, value }) => parseLongBenchRecord(value, { file, line }, opts));
}

/**
 * Where a task's file is in a LongBench folder: `<dir>/<task>.jsonl` or `<dir>/data/<task>.jsonl`
 * (data.zip unpacked); LongBench-E files are `<task>_e.jsonl`.
 */
export function findLongBenchFile(dir: string, task: string, opts: { e?: boolean } = {}): string {
  const name = `${task}${opts.e ? '_e' : ''}.jsonl`;
  const candidates = [join(dir, name), join(dir, 'data', name)];
  const found = candidates.find((p) => existsSync(p));
  if (!found) {
    throw new HarnessError('WORKLOAD_FILE', `no ${name} for task "${task}"`, { file: dir }, `looked at ${candidates.join(' and ')}; unpack LongBench's data.zip there`);
  }
  return found;
}

export function readLongBenchTask(dir: string, task: string, opts: { e?: boolean } = {}): { file: string; records: LongBenchRecord[] } {
  const file = findLongBenchFile(dir, task, opts);
  return { file, records: readLongBenchFile(file, { expectDataset: task }) };
}

/** A task of the embedded set (data/embedded-longbench/<task>.jsonl by default). */
export function readEmbeddedTask(dir: string, task: string): { file: string; records: LongBenchRecord[] } {
  const spec = embeddedTask(task);
  const file = findLongBenchFile(dir, task);
  return { file, records: readLongBenchFile(file, { expectDataset: task, allowNoAnswers: isPerplexityTask(spec) }) };
}

/** The held-out split of the embedded model: one {"source", "licence", "text"} per line. */
export function readHeldoutFile(file: string): HeldoutDoc[] {
  return readJsonl(file).map(({ line, value }) => parseHeldoutDoc(value, { file, line }));
}

/**
 * A ShareGPT_V3-format file: the first (prompt, completion) pair of every record. Records that
 * are not valid JSON, not objects or lack string turns are skipped and counted; a file that is not
 * a JSON array is an error.
 */
export function readShareGptFile(file: string): ShareGptPairs {
  const buf = readBytes(file);
  const out: ShareGptPairs = { pairs: [], total: 0, skipped: emptySkipCounts() };
  const decoder = new TextDecoder('utf-8');
  const splitter = new JsonArraySplitter(file);
  splitter.push(buf, (el) => {
    const index = out.total++;
    let value: unknown;
    try {
      value = JSON.parse(decoder.decode(el.bytes));
    } catch {
      out.skipped['invalid-json']++;
      return;
    }
    const p = shareGptPair(value, index);
    if (typeof p === 'string') out.skipped[p]++;
    else out.pairs.push(p);
  });
  splitter.end();
  return out;
}
