/**
 * Shared set-up of the browser tests: where Chromium is, which models exist, and a helper that
 * runs a suite through the real `run` command (runner node or browser) into a temp folder.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CellResult, OkRecord } from '../../src/results/record.js';
import { workloadCatalogue } from '../../src/runs/catalogue.js';
import { loadSuite, suiteHash } from '../../src/suite/load-suite.js';
import { planCells } from '../../src/suite/plan.js';
import { pageBundle } from '../../runners/browser/host/bundle.js';
import { BrowserSession } from '../../runners/browser/host/page-session.js';
import { startPageServer } from '../../runners/browser/host/server.js';
import type { PageCellRequest } from '../../runners/browser/protocol.js';
import { readModelCard } from '../../runners/node/load-model.js';
import { collectProvenance } from '../../runners/node/provenance.js';
import { runCommand } from '../../runners/node/run-command.js';
import { nodeSuiteFiles } from '../../runners/node/suite-files.js';
import { readRecords } from '../support/records.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const STORIES_CARD = join(ROOT, 'models/stories260K');
export const MINILLAMA = join(ROOT, 'models/minillama-12l');

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

export { readRecords };

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

/** Builds the request of one stories260K generate cell: maxNewTokens tokens at a batch (default 1). */
export type StoriesRequest = (maxNewTokens: number, batch?: number) => PageCellRequest;

/**
 * A page server, a browser session and a request builder for stories260K cells run straight
 * through BrowserSession (no CLI); both are closed when `body` ends, however it ends.
 */
export async function withStoriesSession(ep: 'wasm' | 'webgpu', body: (session: BrowserSession, req: StoriesRequest) => Promise<void>): Promise<void> {
  const dir = tempDir();
  const file = join(dir, 'suite.yaml');
  writeFileSync(file, suiteYaml({ runner: 'browser', ep, card: STORIES_CARD, methods: ['fp16'], workloads: [{ name: 'generate', params: '{ prompts: ["Once"], maxNewTokens: 4, ignoreEos: true }' }] }));
  const suite = loadSuite(file, nodeSuiteFiles, workloadCatalogue());
  const [cell] = planCells(suite);
  const provenance = collectProvenance({ runner: 'browser', executionProvider: ep, suiteHash: suiteHash(suite), seed: 0 });
  const server = await startPageServer({ bundle: await pageBundle() });
  const session = await BrowserSession.open(server, { ep });
  const card = readModelCard(STORIES_CARD);
  const req: StoriesRequest = (maxNewTokens, batch = 1) => ({
    id: `${cell!.id}-${maxNewTokens}`,
    cell: { ...cell!.spec, batch, workloadParams: { ...cell!.spec.workloadParams, maxNewTokens } },
    model: { key: 'stories', card: { ...card, path: server.register(card.path), tokenizer: server.register(card.tokenizer) }, fileBytes: 0 },
    data: [],
    provenance,
    suite: suite.name,
    repeats: 1,
    warmup: 0,
  });
  try {
    await body(session, req);
  } finally {
    await session.close();
    await server.close();
  }
}
