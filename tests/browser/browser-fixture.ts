/**
 * Shared set-up of the browser tests: where Chromium is, which models exist, and a helper that
 * runs a suite through the real `run` command (runner node or browser) into a temp folder.
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CellResult, OkRecord } from '../../src/results/record.js';
import { runCommand } from '../../runners/node/run-command.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const CHROMIUM = '/usr/bin/chromium';
export const HAVE_CHROMIUM = existsSync(CHROMIUM);
export const NO_CHROMIUM = `Debian's chromium is missing at ${CHROMIUM} (apt-get install -y chromium; .ci/run installs it)`;
if (!HAVE_CHROMIUM) console.warn(`skipping the browser runner tests: ${NO_CHROMIUM}`);

export const STORIES_CARD = join(ROOT, 'configs/models/stories260K.yaml');
export const HAVE_STORIES = existsSync(join(ROOT, '../shared/models/stories260K/stories260K.bin'));
export const MINILLAMA = join(ROOT, 'models/minillama-12l');
export const HAVE_MINILLAMA = existsSync(join(MINILLAMA, 'model.json'));

export function tempDir(prefix = 'mcb-browser-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export interface SuiteParts {
  runner: 'node' | 'browser';
  ep: string;
  card: string;
  methods: string[];
  /** Workloads: name and params as YAML flow. */
  workloads: { name: string; params: string }[];
  batch?: number;
  repeats?: number;
  warmup?: number;
}

export function suiteYaml(p: SuiteParts): string {
  return [
    'name: browser-test',
    'seed: 0',
    `runner: ${p.runner}`,
    `ep: ${p.ep}`,
    `repeats: ${p.repeats ?? 1}`,
    `warmup: ${p.warmup ?? 0}`,
    'models:',
    `  - card: ${p.card}`,
    `methods: [${p.methods.join(', ')}]`,
    'workloads:',
    ...p.workloads.flatMap((w) => [`  - name: ${w.name}`, `    batch: ${p.batch ?? 1}`, `    params: ${w.params}`]),
    '',
  ].join('\n');
}

export function readRecords(dir: string): CellResult[] {
  return readFileSync(join(dir, 'results.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as CellResult);
}

/** Runs a suite through runCommand (quiet) and returns its records, keyed "workload method". */
export async function runSuite(p: SuiteParts): Promise<Map<string, CellResult>> {
  const dir = tempDir();
  const file = join(dir, 'suite.yaml');
  writeFileSync(file, suiteYaml(p));
  await runCommand(file, { out: join(dir, 'out'), quiet: true });
  return new Map(readRecords(join(dir, 'out')).map((r) => [`${r.cell.workload} ${r.cell.method}`, r]));
}

export function ok(r: CellResult | undefined): OkRecord {
  if (!r) throw new Error('no record');
  if (r.status !== 'ok') throw new Error(`cell ${r.cell.method} on ${r.cell.runner}/${r.cell.ep} ${r.status}: ${r.status === 'errored' ? r.error.message : r.reason}`);
  return r;
}
