/**
 * The paper-scale Fig.-5 wiring on a tiny dummy card: a run on the engine records the cells as
 * dummy-weight ones (provenance and metrics), the report marks them, accuracy workloads are
 * refused before anything loads, and `reproduce --model <dummy card>` keeps only the Fig.-5
 * workloads at the paper's scale (suites/fig5-7b-dummy.yaml) on the engine.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWith, PARTS } from '../support/parts.js';
import { workloadCatalogue } from '../../src/runs/catalogue.js';
import { loadSuite } from '../../src/suite/load-suite.js';
import { planCells } from '../../src/suite/plan.js';
import { reportCommand } from '../../runners/node/report-command.js';
import { reproduceOverride } from '../../runners/node/reproduce-command.js';
import { runCommand } from '../../runners/node/run-command.js';
import { nodeSuiteFiles } from '../../runners/node/suite-files.js';
import { gpu, gpuErrors } from './gpu-fixture.js';
import { readRecords } from '../support/records.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TINY = join(ROOT, 'tests/fixtures/models/tiny-dummy-32l');
let dir: string;
beforeAll(async () => {
  await gpu();
  dir = mkdtempSync(join(tmpdir(), 'dummy-suite-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  expect(gpuErrors).toEqual([]);
});

function suite(workloads: string): string {
  const file = join(dir, `s-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, `name: dummy-wiring\nseed: 0\nrepeats: 1\nwarmup: 0\nengine: webgpu\nmodels:\n  - card: ${TINY}\nmethods: [fp16, kivi2]\nworkloads:\n${workloads}`);
  return file;
}

describeWith([PARTS.webgpu], 'dummy weights in a run', () => {
  it('runs serving cells on the engine, records them as dummy, and the report marks them', async () => {
    const out = join(dir, 'run');
    const file = suite('  - name: sharegpt\n    batch: [1, 2]\n    params: { mode: fixed, promptLen: 12, outputLen: 6 }\n');
    const s = await runCommand(file, { out, quiet: true });
    expect(s).toMatchObject({ ok: 4, errored: 0 });
    const records = readRecords(out);
    for (const r of records) {
      expect(r.status).toBe('ok');
      expect(r.provenance.weights).toBe('dummy');
      expect(r.cell.engine).toBe('webgpu');
      if (r.status === 'ok') expect(r.metrics.weights).toBe('dummy');
    }
    expect(await reportCommand(out, { images: false, layout: 'paper', log: () => {} })).toBe(0);
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    expect(html).toContain('tiny-dummy-32l [webgpu engine] (dummy weights)');
    expect(html).toMatch(/dummy \(seeded values in the model(&#39;|')s shapes\) in 4 of 4 cells/);
  });

  it('refuses accuracy workloads and the onnxruntime engine before anything loads, every cell at once', async () => {
    const file = suite('  - name: perplexity\n    batch: 1\n  - name: similarity\n    batch: 1\n    methods: [fp16]\n');
    const err = (await runCommand(file, { out: join(dir, 'refused'), quiet: true }).catch((e: unknown) => e)) as { format(): string };
    const text = err.format();
    expect(text).toMatch(/^2 problems:/); // one per workload: its cells share the message
    expect(text).toMatch(/perplexity measures what a model's weights know .* tiny-dummy-32l has dummy weights/);
    expect(text).toMatch(/similarity measures what a model's weights know/);
    const ort = suite('  - name: sharegpt\n    batch: 1\n    methods: [fp16]\n    params: { promptLen: 8, outputLen: 2 }\n').replace(/$/, '');
    const e2 = (await runCommand(ort, { out: join(dir, 'ort'), quiet: true, engine: 'onnxruntime' }).catch((e: unknown) => e)) as { format(): string };
    expect(e2.format()).toMatch(/dummy weights, which are made on the webgpu engine's device; this cell runs on onnxruntime/);
  });
});

describeWith([PARTS.webgpu], 'reproduce --model <dummy card>', () => {
  it('runs the Fig.-5 section at paper scale on the engine, and nothing that needs real weights', () => {
    const paper = loadSuite(join(ROOT, 'suites/paper.yaml'), nodeSuiteFiles, workloadCatalogue());
    const s = reproduceOverride({ model: TINY, quiet: true })(paper);
    expect(s.engines).toEqual(['webgpu']);
    expect(new Set(s.workloads.map((w) => w.name))).toEqual(new Set(['sharegpt']));
    const cells = planCells(s);
    expect(cells).toHaveLength(21);
    expect([...new Set(cells.map((c) => c.spec.method))].sort()).toEqual(['fp16', 'kivi2', 'minicache+kivi4']);
    expect([...new Set(cells.filter((c) => c.spec.workloadParams.mode === 'fixed').map((c) => c.spec.batch))].sort((a, b) => a - b)).toEqual([1, 8, 32, 64, 128]);
    expect(cells.filter((c) => c.spec.label === 'card-80GB').map((c) => c.spec.workloadParams.kvBudgetMiB)).toEqual([60000, 60000, 60000]);
    // the embedded model is untouched: its own small sweep on onnxruntime
    expect(reproduceOverride({})(paper).engines).toBeUndefined();
  });
});
