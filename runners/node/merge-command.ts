import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { HarnessError } from '../../src/errors.js';
import { serializeResults } from '../../src/results/jsonl.js';
import { mergeRuns } from '../../src/results/merge.js';
import { readRunDir } from '../../reports/run-dir.js';

export interface MergeCommandOptions {
  out: string;
  log?: (text: string) => void;
  error?: (text: string) => void;
}

/**
 * `minicache-bench merge DIR... --out DIR`: shard folders → one run folder (results.jsonl +
 * manifest.json listing the shards). Exit 0 merged, 2 when the shards cannot be merged honestly
 * (unreadable, different suites or schema versions, conflicting deterministic results) or the
 * output folder already holds other results.
 */
export async function mergeCommand(dirs: string[], opts: MergeCommandOptions): Promise<number> {
  const log = opts.log ?? ((t: string) => console.log(t));
  const error = opts.error ?? ((t: string) => console.error(t));
  try {
    const out = resolve(opts.out);
    const inputs = dirs.map((d) => resolve(d));
    if (inputs.includes(out)) throw new HarnessError('merge.out', `--out ${out} is one of the shard folders`, undefined, 'merge into a new folder');
    const results = join(out, 'results.jsonl');
    if (existsSync(results) && readFileSync(results, 'utf8').trim() !== '') {
      throw new HarnessError('merge.out', 'the output folder already holds results', { file: results }, 'merge into an empty folder; merge never overwrites results');
    }
    const shards = inputs.map((dir) => {
      const run = readRunDir(dir, { requireManifest: true, allowNothingPlanned: true });
      return { source: dir, manifest: run.manifest!, records: run.records };
    });
    const merged = mergeRuns(shards);
    mkdirSync(out, { recursive: true });
    writeAtomic(join(out, 'manifest.json'), `${JSON.stringify({ ...merged.manifest, updatedAt: new Date().toISOString() }, null, 2)}\n`);
    writeAtomic(results, serializeResults(merged.records));
    for (const n of merged.notes) log(`merge: ${n}`);
    for (const w of merged.warnings) error(`merge: warning: ${w}`);
    const count = (s: string) => merged.records.filter((r) => r.status === s).length;
    log(`merge: ${merged.records.length} cells (${count('ok')} ok, ${count('errored')} errored, ${count('skipped')} skipped) from ${shards.length} folders → ${out}`);
    return 0;
  } catch (e) {
    if (!(e instanceof HarnessError)) throw e;
    error(e.format());
    return 2;
  }
}

function writeAtomic(path: string, text: string): void {
  writeFileSync(`${path}.tmp`, text);
  renameSync(`${path}.tmp`, path);
}
