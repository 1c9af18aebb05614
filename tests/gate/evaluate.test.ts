import { describe, expect, it } from 'vitest';
import { evaluateGate } from '../../src/gate/evaluate.js';
import type { GateRule } from '../../src/gate/types.js';
import type { OkRecord } from '../../src/results/record.js';
import { syntheticRun, tweak } from '../report/synthetic-run.js';

const records = syntheticRun();
const rule = (r: Partial<GateRule> & Pick<GateRule, 'metric' | 'kind'>): GateRule => ({ name: 'r', level: 'error', ...r });

describe('evaluateGate', () => {
  it('vs-fp16 pairs each cell with the FP16 cell of the same setup and skips FP16 itself', () => {
    const v = evaluateGate({ records, rules: [rule({ metric: 'decodeTokensPerSecond', kind: 'vs-fp16', min: 1, cells: { workload: 'sharegpt' } })] }).verdicts[0]!;
    expect(v.checks.every((c) => !c.subject.includes('· fp16 ·'))).toBe(true);
    // 6 methods × (8 fixed batches) + memory-budget cells whose FP16 counterpart has another batch → unusable
    expect(v.checks.filter((c) => c.outcome === 'unusable').length).toBe(6);
    expect(v.outcome).toBe('unusable');
    // The usable checks (6 methods × 8 fixed batches) compare the median of the cell's repeats with
    // the median of the FP16 cell's at the same batch, found here independently.
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[1]!; // three repeats
    const ok = records.filter((r): r is OkRecord => r.status === 'ok');
    const usable = v.checks.filter((c) => c.outcome !== 'unusable');
    expect(usable).toHaveLength(6 * 8);
    for (const c of usable) {
      const r = ok.find((x) => x.cellId === c.cellId)!;
      const fp16 = ok.find((x) => x.cell.method === 'fp16' && x.cell.workload === 'sharegpt' && x.cell.batch === r.cell.batch && x.cell.workloadParams.mode === r.cell.workloadParams.mode)!;
      expect(c.value, c.subject).toBe(median(r.metrics.repeats!.decodeTokensPerSecond!));
      expect(c.reference, c.subject).toBe(median(fp16.metrics.repeats!.decodeTokensPerSecond!));
      expect(c.ratio!, c.subject).toBeCloseTo((c.value as number) / (c.reference as number), 12);
      expect(c.outcome, c.subject).toBe(c.ratio! >= 1 ? 'pass' : 'fail');
    }
  });

  it('per-task metrics expand to one check per task, filtered by the task pattern', () => {
    const v = evaluateGate({ records, rules: [rule({ metric: 'taskScore', kind: 'vs-fp16', min: 0, cells: { method: 'kivi4', task: '{lcc,trec}' } })] }).verdicts[0]!;
    expect(v.checks.map((c) => c.task).sort()).toEqual(['lcc', 'trec']);
    expect(v.outcome).toBe('pass');
  });

  it('lower-is-better bounds use max', () => {
    const worse = tweak(records, (r) => r.cell.method === 'kivi2' && r.cell.batch === 4, (r) => {
      r.metrics.repeats!.peakRssBytes = r.metrics.repeats!.peakRssBytes!.map((x) => x * 1.2);
    });
    const report = evaluateGate({ records: worse, baseline: records, rules: [rule({ metric: 'peakRssBytes', kind: 'vs-baseline', max: 1.1 })] });
    expect(report.exitCode).toBe(1);
    expect(report.verdicts[0]!.checks.filter((c) => c.outcome === 'fail')).toHaveLength(1);
  });

  it('a rule on one task never counts errored or skipped cells of other workloads; an errored cell of the task\'s workload fails it', () => {
    const withFailures = syntheticRun({ withFailures: true }); // an errored and a skipped sharegpt cell
    const onLcc = rule({ metric: 'taskScore', kind: 'absolute', min: 0, cells: { task: 'lcc' } });
    const report = evaluateGate({ records: withFailures, rules: [onLcc] });
    expect(report.verdicts[0]!.checks.every((c) => c.task === 'lcc')).toBe(true);
    expect(report.exitCode).toBe(0);
    const lb = withFailures.find((r) => r.status === 'ok' && r.cell.workload === 'longbench-embedded' && r.cell.method === 'kivi2')!;
    const broken = withFailures.map((r) => (r === lb ? { ...r, status: 'errored' as const, error: { name: 'Error', message: 'boom' } } : r)) as typeof withFailures;
    const v = evaluateGate({ records: broken, rules: [onLcc] }).verdicts[0]!;
    expect(v.outcome).toBe('fail');
    expect(v.checks.filter((c) => c.outcome === 'fail').map((c) => c.note)).toEqual(['cell errored: boom']);
    // A cell listing its tasks is told by them: errored with tasks [trec] it is not under a rule on lcc.
    const listed = broken.map((r) => (r.cellId === lb.cellId ? { ...r, cell: { ...r.cell, workloadParams: { ...r.cell.workloadParams, tasks: ['trec'] } } } : r)) as typeof broken;
    expect(evaluateGate({ records: listed, rules: [onLcc] }).exitCode).toBe(0);
  });

  it('no rules at all is unusable, not a pass', () => {
    expect(evaluateGate({ records, rules: [] }).exitCode).toBe(2);
  });

  it('skipped cells under a rule make it unusable', () => {
    const withSkip = syntheticRun({ withFailures: true });
    const report = evaluateGate({ records: withSkip, rules: [rule({ metric: 'compressionRatio', kind: 'absolute', min: 0.5, cells: { method: 'minicache' } })] });
    expect(report.exitCode).toBe(2);
    expect(report.verdicts[0]!.summary).toContain('cell skipped: webgpu adapter unavailable');
  });
});
