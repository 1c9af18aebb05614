import { describe, expect, it } from 'vitest';
import { ablationRows } from '../../src/report/charts/ablation.js';
import type { CellResult } from '../../src/results/record.js';
import { syntheticRun } from './synthetic-run.js';

/** The synthetic run, with the unlabelled minicache cell carrying the parameters a suite resolves. */
function run(): CellResult[] {
  return syntheticRun({ withAblations: true }).map((r) =>
    r.status === 'ok' && r.cell.method === 'minicache' && !r.cell.label && r.cell.workload === 'longbench-embedded'
      ? { ...r, cell: { ...r.cell, methodParams: { t: 0.6, gamma: 0.05, startLayer: null } } }
      : r,
  );
}

describe('ablation chart rows', () => {
  it("include the main setting's point on every ablated parameter (the default start layer from its first merged pair)", () => {
    const rows = ablationRows(run()).filter((r) => r.measure === 'compression ratio (×)');
    const main = rows.filter((r) => r.setting === 'main setting').map((r) => [r.param, r.value]);
    // synthetic-run.ts: 8 layers, pairs from layer 4.
    expect(main.sort()).toEqual([['S', 4], ['gamma', 0.05], ['t', 0.6]]);
    const t = rows.filter((r) => r.param === 't').map((r) => r.value as number).sort((a, b) => a - b);
    expect(t).toEqual([0.2, 0.4, 0.6, 0.6, 0.8]);
    // The main point carries the unlabelled cell's own figures.
    const cell = run().find((r) => r.status === 'ok' && r.cell.method === 'minicache' && !r.cell.label && r.cell.workload === 'longbench-embedded')!;
    expect(rows.find((r) => r.setting === 'main setting' && r.param === 't')!.y).toBe(cell.status === 'ok' && cell.metrics.compressionRatio);
  });

  it('no main point where the unlabelled cell of that method and setup is missing', () => {
    const rows = ablationRows(run().filter((r) => r.cell.label || r.cell.method !== 'minicache'));
    expect(rows.some((r) => r.setting === 'main setting')).toBe(false);
  });
});
