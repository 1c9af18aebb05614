import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CellResult } from '../../src/results/record.js';

/** The records of a run folder's results.jsonl (blank lines skipped), typed as the caller reads them. */
export function readRecords<T = CellResult>(dir: string): T[] {
  return readFileSync(join(dir, 'results.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as T);
}
