import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { HarnessError } from '../src/errors.js';
import { parseResultsJsonl } from '../src/results/jsonl.js';
import type { RunManifestLike } from '../src/results/merge.js';
import type { CellResult } from '../src/results/record.js';

export interface RunDir {
  dir: string;
  records: CellResult[];
  /** manifest.json, when present (the runner always writes one). */
  manifest?: RunManifestLike;
}

/**
 * Read a run folder: results.jsonl (strict: every line must parse, file:line on the first that
 * does not; one record per cell, see latestPerCell) and manifest.json. Missing or empty results are an error, never an empty run.
 */
export function readRunDir(dir: string, opts: { requireManifest?: boolean; allowNothingPlanned?: boolean } = {}): RunDir {
  if (!existsSync(dir)) throw new HarnessError('results.missing', `run folder ${dir} does not exist`);
  const file = join(dir, 'results.jsonl');
  // A shard that drew no cell (--shard 4/4 of a 3-cell suite) has a manifest and no records.
  if (opts.allowNothingPlanned && (!existsSync(file) || readFileSync(file, 'utf8').trim() === '') && existsSync(join(dir, 'manifest.json'))) {
    const manifest = readManifest(join(dir, 'manifest.json'));
    if (Array.isArray(manifest.cells) && manifest.cells.length === 0) return { dir, records: [], manifest };
  }
  if (!existsSync(file)) throw new HarnessError('results.missing', 'no results.jsonl in the run folder', { file }, 'run `minicache-bench run SUITE --out DIR` first, or point at the folder that holds results.jsonl');
  const records = latestPerCell(parseResultsJsonl(readFileSync(file, 'utf8'), file));
  if (records.length === 0) {
    // A run that has not finished a cell yet (or died before its first): say what was planned.
    let planned: unknown;
    try {
      planned = existsSync(join(dir, 'manifest.json')) ? readManifest(join(dir, 'manifest.json')).cells : undefined;
    } catch {
      planned = undefined;
    }
    const hint = Array.isArray(planned)
      ? `manifest.json plans ${planned.length} cells and none has finished: wait for the run, or finish it with \`minicache-bench run SUITE --out ${dir} --resume\``
      : undefined;
    throw new HarnessError('results.empty', 'results.jsonl holds no records', { file }, hint);
  }
  const manifestFile = join(dir, 'manifest.json');
  if (!existsSync(manifestFile)) {
    if (opts.requireManifest) throw new HarnessError('manifest.missing', 'no manifest.json in the run folder', { file: manifestFile });
    return { dir, records };
  }
  return { dir, records, manifest: readManifest(manifestFile) };
}

/**
 * One record per cell. `run --resume` appends a new attempt of each cell that had errored, so
 * results.jsonl keeps every attempt; readers count cells: an ok record wins, else the latest attempt.
 */
export function latestPerCell(records: readonly CellResult[]): CellResult[] {
  const kept = new Map<string, CellResult>();
  for (const r of records) {
    const had = kept.get(r.cellId);
    if (!had || r.status === 'ok' || had.status !== 'ok') kept.set(r.cellId, r);
  }
  return [...kept.values()];
}

function readManifest(file: string): RunManifestLike {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new HarnessError('manifest.parse', `not valid JSON (${(e as Error).message})`, { file });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new HarnessError('manifest.shape', 'expected a JSON object', { file });
  const m = value as Record<string, unknown>;
  if (!Number.isInteger(m.schemaVersion)) throw new HarnessError('manifest.shape', `expected an integer, got ${JSON.stringify(m.schemaVersion)}`, { file, field: 'schemaVersion' });
  if (typeof m.suiteHash !== 'string') throw new HarnessError('manifest.shape', `expected a string, got ${JSON.stringify(m.suiteHash)}`, { file, field: 'suiteHash' });
  return m as RunManifestLike;
}
