import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Ajv } from 'ajv';
import { compile } from 'vega-lite';
import { describe, expect, it } from 'vitest';
import { buildReport } from '../../src/report/build-report.js';
import { CHARTS } from '../../src/report/charts/index.js';
import { methodColorScale } from '../../src/report/charts/common.js';
import { methodSummaries } from '../../src/report/method-summary.js';
import type { OkRecord } from '../../src/results/record.js';
import { chartBlocks } from '../../src/report/model.js';
import { syntheticRun } from './synthetic-run.js';

const require = createRequire(import.meta.url);
const vlSchema = JSON.parse(readFileSync(require.resolve('vega-lite/vega-lite-schema.json'), 'utf8'));
const validateVl = new Ajv({ strict: false, allErrors: true, validateFormats: false }).compile(vlSchema);

/** Compile with a logger that collects warnings instead of printing them. */
function compileWarnings(spec: unknown): string[] {
  const warnings: string[] = [];
  const logger = {
    level: () => logger,
    warn: (...args: unknown[]) => (warnings.push(args.map(String).join(' ')), logger),
    info: () => logger,
    debug: () => logger,
    error: (...args: unknown[]) => (warnings.push(`error: ${args.map(String).join(' ')}`), logger),
  };
  compile(spec as never, { logger: logger as never });
  return warnings;
}

const records = syntheticRun({ withFailures: true, withAblations: true });

describe('chart specs', () => {
  it('the warning collector sees Vega-Lite warnings (so an empty list means something)', () => {
    const bad = { data: { values: [{ a: 'x' }] }, mark: 'bar', encoding: { shape: { field: 'a', type: 'nominal' } } };
    expect(compileWarnings(bad).length).toBeGreaterThan(0);
  });

  for (const def of Object.values(CHARTS)) {
    it(`${def.id}: valid against the Vega-Lite schema and compiles without warnings`, () => {
      const spec = def.build(records);
      expect(spec, `${def.id} should have data in the synthetic run`).not.toBeNull();
      const valid = validateVl(spec);
      expect(validateVl.errors ?? [], JSON.stringify(validateVl.errors?.slice(0, 3))).toEqual([]);
      expect(valid).toBe(true);
      expect(compileWarnings(spec)).toEqual([]);
    });

    it(`${def.id}: null when there are no records`, () => {
      expect(def.build([])).toBeNull();
    });
  }

  it('charts without their data are left out of the report', () => {
    const onlyServing = records.filter((r) => r.cell.workload === 'sharegpt');
    const ids = chartBlocks(buildReport(onlyServing)).map((c) => c.id);
    expect(ids).toContain('throughput-vs-batch');
    expect(ids).not.toContain('accuracy-vs-fp16');
  });

  it('the compression chart puts the paper\'s ratios beside ours, labelled with the paper\'s model and ours', () => {
    const spec = CHARTS.compression.build(records) as { hconcat: { data: { values: { method: string; source: string; ratio: number }[] } }[] };
    const rows = spec.hconcat[0]!.data.values;
    expect(rows.find((r) => r.method === 'minicache+kivi4' && r.source.startsWith('paper'))?.ratio).toBe(5.02);
    expect(rows.find((r) => r.method === 'kivi2' && r.source.startsWith('paper'))?.ratio).toBe(3.95);
    expect(rows.find((r) => r.method === 'rtn' && r.source.startsWith('paper'))?.ratio).toBe(3.21);
    expect(rows.some((r) => r.source === 'ours (minillama-12l)')).toBe(true);
    expect(rows.every((r) => r.source.includes('LLaMA') || r.source.startsWith('ours'))).toBe(true);
  });

  it('the equal-memory chart uses only memory-budget cells', () => {
    const spec = CHARTS.throughputEqualMemory.build(records) as { data: { values: { batch: number; method: string }[] } };
    expect(spec.data.values).toHaveLength(7);
    expect(spec.data.values.find((v) => v.method === 'fp16')?.batch).toBe(16);
  });

  it('the equal-memory chart shows the batch the budget allowed and the KV budget, as a real budget run records them', () => {
    // In a run the cell's batch is where calibration starts (128); metrics.batch is what fitted.
    const budget = records.filter((r): r is OkRecord => r.status === 'ok' && r.cell.workloadParams.mode === 'memory-budget' && r.cell.method === 'minicache+kivi4')[0]!;
    const real: OkRecord = { ...budget, cell: { ...budget.cell, batch: 128, workloadParams: { mode: 'memory-budget', promptLen: 160, outputLen: 338 } }, metrics: { ...budget.metrics, batch: 341, kvBudgetBytes: 390_856_704 } };
    const spec = CHARTS.throughputEqualMemory.build([real]) as { data: { values: { batch: number; batchLabel: string; budget: string }[] } };
    expect(spec.data.values[0]).toMatchObject({ batch: 341, batchLabel: 'b341', budget: 'KV 372.8 MiB' });
  });

  it('a method keeps its color whichever other methods a chart shows', () => {
    const color = (methods: string[], m: string) => {
      const s = methodColorScale(methods);
      return s.range[s.domain.indexOf(m)];
    };
    expect(color(['fp16', 'minicache', 'minicache+kivi4'], 'minicache')).toBe(color(['fp16', 'kivi2', 'kivi4', 'minicache'], 'minicache'));
    expect(color(['minicache+kivi4'], 'minicache+kivi4')).toBe(color(['fp16', 'minicache+kivi4'], 'minicache+kivi4'));
    expect(color(['my-method'], 'my-method')).toBe(color(['fp16', 'my-method'], 'my-method'));
    const all = methodColorScale(['fp16', 'rtn', 'kivi2', 'kivi4', 'mean-merge', 'minicache', 'minicache+kivi4']).range;
    expect(new Set(all).size).toBe(all.length);
  });

  it('the summary table has a throughput row when every serving cell carries a label (the H200 suites)', () => {
    const serving = records.filter((r) => r.status === 'ok' && r.cell.workload === 'sharegpt' && r.cell.workloadParams.mode === 'fixed-batch');
    const labelled = serving.map((r) => ({ ...r, cell: { ...r.cell, label: 'batch128' } }));
    const s = methodSummaries(labelled).find((x) => x.method === 'minicache+kivi4')!;
    expect(s.decodeTps).toBeGreaterThan(0);
    expect(s.speedupVsFp16).toBeGreaterThan(0);
  });
});
