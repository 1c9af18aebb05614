/**
 * No number looks surer than it is: ratios to FP16 carry the range of their repeats, and a figure
 * from one repeat, or whose range is wider than the difference it shows, is flagged in the charts,
 * the tables and summary.md.
 */
import { describe, expect, it } from 'vitest';
import { CHARTS } from '../../src/report/charts/index.js';
import { buildReport } from '../../src/report/build-report.js';
import type { TableBlock } from '../../src/report/model.js';
import { ratioFlag, ratioSpread } from '../../src/report/noise.js';
import { summaryMarkdown } from '../../src/report/summary-markdown.js';
import { headlineClaims } from '../../src/report/tables/headline.js';
import type { CellResult, OkRecord } from '../../src/results/record.js';
import { syntheticRun } from './synthetic-run.js';

const records = syntheticRun();
const serving = (method: string, batch: number) => records.find((r): r is OkRecord => r.status === 'ok' && r.cell.method === method && r.cell.workload === 'sharegpt' && r.cell.batch === batch && r.cell.workloadParams.mode === 'fixed-batch')!;

/** The run with every serving cell's decode repeats replaced (and interleaved rounds set or not). */
function withRepeats(tps: (r: OkRecord) => number[] | undefined, interleaved: boolean): CellResult[] {
  return records.map((r) => {
    if (r.status !== 'ok' || r.cell.workload !== 'sharegpt') return r;
    const xs = tps(r);
    if (!xs) return r;
    const metrics = { ...r.metrics, repeats: { ...r.metrics.repeats, decodeTokensPerSecond: xs }, decodeTokensPerSecond: [...xs].sort((a, b) => a - b)[(xs.length - 1) >> 1]! };
    if (interleaved) metrics.interleavedRounds = xs.length;
    else delete metrics.interleavedRounds;
    return { ...r, metrics };
  });
}

describe('ratio spreads', () => {
  it('a ratio is the ratio of medians, its range slowest over fastest to fastest over slowest, interleaved or not', () => {
    // Round 2 ran on a loaded machine: both methods at half speed. Load on a shared machine changes
    // within seconds, so rounds are not paired: the slow round widens the range.
    for (const interleaved of [true, false]) {
      const run = withRepeats((r) => (r.cell.method === 'fp16' ? [100, 50, 102] : r.cell.method === 'kivi2' ? [80, 40, 81] : undefined), interleaved);
      const k = run.find((r): r is OkRecord => r.status === 'ok' && r.cell.method === 'kivi2' && r.cell.workload === 'sharegpt')!;
      const f = run.find((r): r is OkRecord => r.status === 'ok' && r.cell.method === 'fp16' && r.cell.workload === 'sharegpt' && r.cell.batch === k.cell.batch && r.cell.workloadParams.mode === k.cell.workloadParams.mode)!;
      const s = ratioSpread(k, f, 'decodeTokensPerSecond')!;
      expect(s).toMatchObject({ value: 80 / 100, lo: 40 / 102, hi: 81 / 50, n: 3, interleaved });
      expect(ratioFlag(s)).toBe('within noise');
    }
  });

  it('flags one repeat', () => {
    expect(ratioFlag({ value: 0.5, lo: 0.5, hi: 0.5, n: 1, interleaved: false })).toBe('one repeat');
  });
});

describe('flags in the report and summary.md', () => {
  const single = withRepeats((r) => [r.metrics.decodeTokensPerSecond!], false);

  it('a single-repeat run: the speed-up chart marks its points, summary.md and the method table say so', () => {
    const spec = CHARTS.speedupVsBatch.build(single) as { layer: { data?: { values: { mark?: string; flag?: string }[] }; transform?: unknown[]; mark?: { type: string } }[] };
    const values = spec.layer[1]!.data!.values;
    expect(values.length).toBeGreaterThan(0);
    expect(values.every((v) => v.flag === 'one repeat' && v.mark === '¹')).toBe(true);
    expect(spec.layer.some((l) => l.mark?.type === 'text' && JSON.stringify(l.transform).includes("datum.mark != ''"))).toBe(true);
    const md = summaryMarkdown(single);
    expect(md.split('\n').find((l) => l.startsWith('| minicache+kivi4 |'))).toMatch(/\| [\d.]+× ¹ \|/);
    expect(md).toContain('¹ from one timed repeat: no spread measured');
    expect(md).toMatch(/decode throughput vs FP16, 4-bit MiniCache[^\n]*1 repeat[^\n]*not settled/);
    const table = buildReport(single).sections.flatMap((s) => s.blocks).find((b): b is TableBlock => b.kind === 'table' && b.id === 'method-summary')!;
    expect(table.caption).toContain('from one timed repeat');
    const thr = CHARTS.throughputVsBatch.build(single) as { data: { values: { mark: string }[] } };
    expect(thr.data.values.every((v) => v.mark === '¹')).toBe(true);
  });

  it('a spread wider than the difference: marked ≈, and the headline says no difference beyond the noise', () => {
    const noisy = withRepeats((r) => {
      const m = r.metrics.decodeTokensPerSecond!;
      return r.cell.method === 'fp16' ? [m * 0.7, m, m * 1.3] : r.cell.method === 'minicache+kivi4' ? [m * 0.25, m * 0.3, m * 0.4] : undefined;
    }, false);
    const mc = noisy.find((r): r is OkRecord => r.status === 'ok' && r.cell.method === 'minicache+kivi4' && r.cell.workload === 'sharegpt' && r.cell.batch === 128 && r.cell.workloadParams.mode === 'fixed-batch')!;
    const fp = noisy.find((r): r is OkRecord => r.status === 'ok' && r.cell.method === 'fp16' && r.cell.workload === 'sharegpt' && r.cell.batch === 128 && r.cell.workloadParams.mode === 'fixed-batch')!;
    const s = ratioSpread(mc, fp, 'decodeTokensPerSecond')!;
    expect(s.lo).toBeLessThan(1);
    expect(s.hi).toBeGreaterThan(1);
    expect(ratioFlag(s)).toBe('within noise');
    const md = summaryMarkdown(noisy);
    expect(md.split('\n').find((l) => l.startsWith('| minicache+kivi4 |'))).toMatch(/\| [\d.]+× \[[\d.]+–[\d.]+\] ≈ \|/);
    expect(md).toContain('≈ its spread over the repeats is wider than its difference from the reference');
    const claim = headlineClaims(noisy).find((c) => c.claim.startsWith('decode throughput'))!;
    expect(claim.verdict).toBe('not reproduced: no difference from FP16 beyond the noise');
    expect(claim.ours).toContain('wider than its difference');
  });

  it('a clear difference with a tight range is not flagged', () => {
    const s = ratioSpread(serving('minicache+kivi4', 128), serving('fp16', 128), 'decodeTokensPerSecond')!;
    expect(ratioFlag(s)).toBeUndefined();
    expect(summaryMarkdown(records).split('\n').find((l) => l.startsWith('| minicache+kivi4 |'))).not.toMatch(/[¹≈]/);
  });
});
