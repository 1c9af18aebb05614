import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { HarnessError } from '../../src/errors.js';
import { hash64, canonicalJson } from '../../src/results/canonical-json.js';
import { getWorkload } from '../../src/runs/catalogue.js';
import type { ResolvedSuite, ResolvedWorkload } from '../../src/suite/types.js';

/**
 * Data in a user's folder (LongBench's dataDir) identified by content: each workload that reads
 * from one gets `data` = the sha256 of every file it reads and one hash over them, which stands
 * for the folder's path in cell ids and the suite hash (src/results/cell-id.ts). So a moved
 * folder resumes, shards reading the data from different paths merge, and a changed file is
 * caught (checkSameData). Data inside the package or beside the model is versioned with them and
 * keeps its name.
 */
export function withDataIdentity(suite: ResolvedSuite): ResolvedSuite {
  return { ...suite, workloads: suite.workloads.map((w) => identify(w, suite.file)) };
}

function userFolder(w: ResolvedWorkload, suiteFile: string): string | undefined {
  const dir = w.params.dataDir;
  if (typeof dir !== 'string' || dir.startsWith('project:') || dir.startsWith('model:')) return undefined;
  return isAbsolute(dir) ? dir : resolve(dirname(suiteFile), dir);
}

function identify(w: ResolvedWorkload, suiteFile: string): ResolvedWorkload {
  const workload = getWorkload(w.name);
  if (!userFolder(w, suiteFile) || !workload) return w;
  try {
    workload.dataFiles(w.params);
  } catch {
    return w; // parameters the workload refuses: checkDataFiles reports them with their place
  }
  return identifyFiles(w, workload, suiteFile);
}

function identifyFiles(w: ResolvedWorkload, workload: NonNullable<ReturnType<typeof getWorkload>>, suiteFile: string): ResolvedWorkload {
  let dir = userFolder(w, suiteFile)!;
  const files = (params: Record<string, unknown>) => workload.dataFiles(params).map((n) => n.replace(/\?$/, ''));
  // LongBench's data.zip unpacks into data/: take that folder when the files are there and not here.
  const data = join(dir, 'data');
  const here = (d: string, params: Record<string, unknown>) => files(params).some((f) => existsSync(resolvePath(f, d, suiteFile, params)));
  let params = w.params;
  if (!here(dir, params) && existsSync(data)) {
    const moved = { ...params, dataDir: data };
    if (here(data, moved)) [dir, params] = [data, moved];
  }
  const digests: Record<string, string> = {};
  for (const f of files(params)) {
    const path = resolvePath(f, dir, suiteFile, params);
    if (existsSync(path)) digests[relative(dir, path)] = createHash('sha256').update(readFileSync(path)).digest('hex');
  }
  return { ...w, params, data: { hash: hash64(canonicalJson(digests)), files: digests } };
}

function resolvePath(name: string, dir: string, suiteFile: string, params: Record<string, unknown>): string {
  const given = String(params.dataDir);
  // The workload names files under its dataDir as given; re-anchor them on the resolved folder.
  const rel = name.startsWith(given) ? name.slice(given.length).replace(/^\//, '') : name;
  return isAbsolute(rel) ? rel : join(dir, rel);
}

/**
 * --resume of a run whose data changed since: say which file, rather than "a different suite".
 * `before` is the resolved suite of the folder's manifest.
 */
export function checkSameData(before: ResolvedSuite | undefined, now: ResolvedSuite, manifestFile: string): void {
  if (!before) return;
  const changed: string[] = [];
  now.workloads.forEach((w) => {
    const old = before.workloads.find((b) => b.name === w.name && (b.label ?? '') === (w.label ?? ''))?.data?.files;
    if (!old || !w.data) return;
    for (const [file, sha] of Object.entries(w.data.files)) {
      if (old[file] !== undefined && old[file] !== sha) changed.push(`${file} (sha256 ${old[file].slice(0, 12)}… in this run, ${sha.slice(0, 12)}… now)`);
    }
  });
  if (changed.length > 0) {
    throw new HarnessError(
      'run.data-changed',
      `the data changed since this run: ${changed.join(', ')}; resuming would mix results of two data sets`,
      { file: manifestFile, field: 'suite.workloads.data' },
      'put back the files the run read, or run into another --out',
    );
  }
}
