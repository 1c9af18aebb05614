import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { chartSvg } from '../../reports/chart-images.js';
import { writeReport } from '../../reports/write-report.js';
import { reportCommand } from '../../runners/node/report-command.js';
import { buildReport } from '../../src/report/build-report.js';
import { CHARTS } from '../../src/report/charts/index.js';
import type { TableBlock } from '../../src/report/model.js';
import { methodSummaries } from '../../src/report/method-summary.js';
import { summaryMarkdown } from '../../src/report/summary-markdown.js';
import type { CellResult, OkRecord } from '../../src/results/record.js';
import { cellId } from '../../src/results/cell-id.js';
import { manifestFor, syntheticRun } from './synthetic-run.js';

const records = syntheticRun({ withFailures: true, withAblations: true });

/** A copy of an ok record as another cell (new label / params / metrics), with a matching cell id. */
function variant(r: OkRecord, cell: Partial<OkRecord['cell']>, metrics: Partial<OkRecord['metrics']> = {}): OkRecord {
  const c = { ...r.cell, ...cell };
  return { ...r, cell: c, cellId: cellId(c), metrics: { ...r.metrics, ...metrics } };
}

describe('headline numbers come from the main configuration, not from ablation cells', () => {
  // The paper suite: the unlabelled minicache cell and ablation cells at the same seqLen; an
  // ablation cell whose id sorts first used to stand for the method.
  const main = records.find((r): r is OkRecord => r.status === 'ok' && r.cell.method === 'minicache' && r.cell.workload === 'longbench-embedded' && !r.cell.label)!;
  const ablations = [0, 1, 2, 3, 4, 5, 6, 7].map((i) => variant(main, { label: `ablation:S=${i}`, methodParams: { startLayer: i } }, { compressionRatio: 9 + i, kvBytes: 1 }));
  const run: CellResult[] = [...ablations, main];

  it('per-method summary (summary.md, per-method table, paper claims)', () => {
    expect(methodSummaries(run).find((s) => s.method === 'minicache')!.compressionRatio).toBe(main.metrics.compressionRatio);
    expect(summaryMarkdown(run)).toContain(`| minicache | ${Number(main.metrics.compressionRatio.toPrecision(3))}× @ 1800 |`);
  });

  it('compression chart', () => {
    const spec = CHARTS.compression.build(run) as { hconcat: { data: { values: { method: string; source: string; ratio: number }[] } }[] };
    const ours = spec.hconcat[0]!.data.values.find((v) => v.method === 'minicache' && v.source.startsWith('ours'))!;
    expect(ours.ratio).toBe(main.metrics.compressionRatio);
  });

  it('a method run only in labelled cells still gets a compression number', () => {
    expect(methodSummaries(ablations).find((s) => s.method === 'minicache')!.compressionRatio).toBeDefined();
  });
});

describe('a partial run says which planned cells have no result', () => {
  // manifest.json lists every planned cell; results.jsonl of a run that stopped early holds some.
  const manifest = manifestFor(records);
  const partial = records.slice(0, 5);
  const missing = records.length - 5;

  it('summary.md counts and lists the cells that never ran', () => {
    const md = summaryMarkdown(partial, { manifest });
    expect(md).toContain(`5 cells: 5 ok, 0 errored, 0 skipped. **${missing} more planned cells have no result (not run): this run is incomplete.**`);
    expect(md).toContain(`### Planned cells without a result (${missing})`);
    expect(md).toContain(`(\`${records[5]!.cellId}\`)`);
  });

  it('report.html: the failures table lists them as not run and provenance counts them', () => {
    for (const layout of ['default', 'paper']) {
      const model = buildReport(partial, { layout, manifest });
      const tables = model.sections.flatMap((s) => s.blocks).filter((b): b is TableBlock => b.kind === 'table');
      const failures = tables.find((t) => t.id === 'failures');
      expect(failures?.rows.filter((r) => r[2] === 'not run')).toHaveLength(missing);
      const cells = tables.find((t) => t.id === 'provenance')!.rows.find((r) => r[0] === 'cells')!;
      expect(cells[1]).toContain(`${missing} more planned, not run`);
    }
  });

  it('a complete run says nothing of the kind', () => {
    expect(summaryMarkdown(records, { manifest })).not.toContain('not run');
    const tables = buildReport(records, { manifest }).sections.flatMap((s) => s.blocks).filter((b): b is TableBlock => b.kind === 'table');
    expect(tables.find((t) => t.id === 'failures')!.rows.some((r) => r[2] === 'not run')).toBe(false);
  });
});

describe('provenance says how cells ran', () => {
  const provTable = (rs: CellResult[]) =>
    buildReport(rs).sections.flatMap((s) => s.blocks).find((b): b is TableBlock => b.kind === 'table' && b.id === 'provenance')!;
  const serving = (r: CellResult) => r.cell.workload === 'sharegpt';
  // `reproduce` runs the serving cells with --isolate: their records carry provenance.isolated.
  const isolated = records.map((r) => (serving(r) ? { ...r, provenance: { ...r.provenance, isolated: true } } : r));

  it('which cells ran in their own process, and the execution provider options', () => {
    const withOpts = isolated.map((r) => ({ ...r, provenance: { ...r.provenance, executionProviderOptions: { intraOpNumThreads: '2' } } }));
    const rows = Object.fromEntries(provTable(withOpts).rows.map((r) => [r[0], r[1]]));
    expect(rows['own process per cell (--isolate)']).toBe(`${records.filter(serving).length} of ${records.length} cells (their peak RSS is their own)`);
    expect(rows['execution provider options']).toBe('intraOpNumThreads=2');
    expect(Object.fromEntries(provTable(records).rows.map((r) => [r[0], r[1]]))['own process per cell (--isolate)']).toMatch(/^no: cells shared a process/);
  });

  it('the headline memory row calls peak RSS process-wide only when the cells shared a process', () => {
    expect(summaryMarkdown(isolated)).toMatch(/peak RSS [−+][\d.]+%[^|]* at batch 128 \(each cell in its own process\)/);
    expect(summaryMarkdown(records)).toMatch(/peak RSS [−+][\d.]+%[^|]* at batch 128 \(process-wide: cells run earlier in the same process count too\)/);
  });
});

describe('ablation chart axes', () => {
  it('start at 0 and show FP16\'s 1, so a change in the 4th decimal (the paper run\'s t ablation) looks as small as it is', async () => {
    const main = records.find((r): r is OkRecord => r.status === 'ok' && r.cell.method === 'minicache' && r.cell.workload === 'longbench-embedded' && !r.cell.label)!;
    const cells = [
      [0.2, 1.315493],
      [0.4, 1.315541],
      [0.8, 1.314778],
    ].map(([t, ratio]) => {
      const v = variant(main, { label: `ablation:t=${t}`, methodParams: { t } }, { compressionRatio: ratio! });
      delete v.tasks;
      return v;
    });
    const spec = CHARTS.ablation.build(cells) as { spec: { layer: { encoding: { y: { field: string; scale?: { zero?: boolean } } } }[] } };
    expect(spec.spec.layer.map((l) => l.encoding.y.field)).toEqual(['fp16', 'y']);
    expect(spec.spec.layer[1]!.encoding.y.scale?.zero).toBe(true);
    // Drawn: the y axis runs from 0 (ticks 0.0, 0.5, 1.0), not over 1.3148–1.3158.
    const svg = await chartSvg(CHARTS.ablation.build(cells)!);
    const ticks = [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]!);
    expect(ticks).toEqual(expect.arrayContaining(['0.0', '0.5', '1.0']));
    expect(ticks.filter((t) => t.startsWith('1.31'))).toEqual([]);
  });
});

describe('dash legends', () => {
  /** Legend entries of the legend titled `title` in an SVG: each symbol's path and dash. */
  function legendSymbols(svg: string, title: string): { d: string; stroke: string | undefined; dash: string | undefined }[] {
    const legends = svg.split('role-legend"').slice(1);
    const legend = legends.find((l) => l.includes(`font-weight="bold" fill="#000" opacity="1">${title}</text>`))!;
    expect(legend, `legend "${title}"`).toBeDefined();
    return [...legend.matchAll(/role-legend-symbol" pointer-events="none"><path ([^>]*)\/>/g)].map((m) => ({
      d: /\bd="([^"]*)"/.exec(m[1]!)![1]!,
      stroke: /\bstroke="([^"]*)"/.exec(m[1]!)?.[1],
      dash: /stroke-dasharray="([^"]*)"/.exec(m[1]!)?.[1],
    }));
  }

  it('memory saved vs FP16: the KV and RSS entries are drawn as distinguishable dashed strokes, not identical circles', async () => {
    const syms = legendSymbols(await chartSvg(CHARTS.memorySaving.build(records)!), 'measure');
    expect(syms).toHaveLength(2);
    for (const s of syms) {
      expect(s.stroke).toBeDefined();
      expect(s.d).not.toMatch(/A/); // not a circle's arcs
    }
    expect(new Set(syms.map((s) => s.dash)).size).toBe(2);
  });
});

describe('charts relative to FP16 draw the FP16 baseline', () => {
  type Layered = { layer: { data?: { values: { y: number; label: string }[] } }[] };
  const baseline = (spec: unknown) => (spec as Layered).layer.map((l) => l.data?.values[0]).find((v) => typeof v?.label === 'string' && v.label.startsWith('FP16'));

  it('speed-up vs batch: a labelled line at 1×', () => {
    expect(baseline(CHARTS.speedupVsBatch.build(records))).toEqual({ y: 1, label: 'FP16 (1×)' });
  });

  it('memory saved vs FP16: a labelled line at 0%', () => {
    expect(baseline(CHARTS.memorySaving.build(records))).toEqual({ y: 0, label: 'FP16 (0%)' });
  });
});

describe('relative-to-FP16 labels say which way lower-is-better metrics go', () => {
  // The paper suite runs ablations and mean-vs-SLERP on perplexity: the value is FP16 ppl ÷ ppl.
  const ppl = (r: OkRecord, score: number): OkRecord => ({ ...r, tasks: [{ task: 'perplexity', metric: 'perplexity', score, n: 4 }] });
  const main = records.find((r): r is OkRecord => r.status === 'ok' && r.cell.method === 'minicache' && r.cell.workload === 'longbench-embedded' && !r.cell.label)!;
  const fp16 = records.find((r): r is OkRecord => r.status === 'ok' && r.cell.method === 'fp16' && r.cell.workload === 'longbench-embedded')!;
  const mean = records.find((r): r is OkRecord => r.status === 'ok' && r.cell.method === 'mean-merge' && r.cell.workload === 'longbench-embedded' && !r.cell.label)!;
  const run = [ppl(fp16, 10), ppl(main, 20), ppl(mean, 40), ppl(variant(main, { label: 'ablation:t=0.2', methodParams: { t: 0.2 } }), 25)];

  it('ablation measure and merge-strategy axis', () => {
    const abl = CHARTS.ablation.build(run) as { data: { values: { measure: string; y: number }[] } };
    const rel = abl.data.values.find((v) => v.measure !== 'compression ratio (×)')!;
    expect(rel).toMatchObject({ measure: 'FP16 perplexity ÷ perplexity', y: 0.4 });
    const merge = CHARTS.mergeStrategy.build(run) as { layer: { encoding: { y: { title?: string } } }[] };
    expect(merge.layer[0]!.encoding.y.title).toBe('FP16 perplexity ÷ perplexity');
  });

  it('higher-is-better scores keep "score ÷ FP16"', () => {
    const merge = CHARTS.mergeStrategy.build(records) as { layer: { encoding: { y: { title?: string } } }[] };
    expect(merge.layer[0]!.encoding.y.title).toBe('score ÷ FP16 score');
  });
});

describe('paper layout, Table 1 section', () => {
  it('does not promise the paper\'s numbers when the tasks are not the paper\'s (the embedded *_heldout tasks)', () => {
    const renamed = records.map((r) => (r.status === 'ok' && r.tasks ? { ...r, tasks: r.tasks.map((t) => ({ ...t, task: `${t.task}_heldout` })) } : r));
    const intro = (rs: CellResult[]) => buildReport(rs, { layout: 'paper' }).sections.find((s) => s.id === 'table1')!.intro!;
    expect(intro(renamed)).toContain('no paper numbers are shown');
    expect(intro(renamed)).not.toContain('against the paper');
    expect(intro(records)).toContain('against the paper\'s Llama-2-7B-Chat numbers');
  });
});

describe('memory vs batch units', () => {
  it('plots MiB like the tables, not SI-prefixed bytes', () => {
    const spec = CHARTS.memoryVsBatch.build(records) as { data: { values: { bytes: number; mib: number }[] }; spec: { encoding: { y: { field: string; title: string; axis?: { format?: string } } } } };
    expect(spec.spec.encoding.y).toMatchObject({ field: 'mib', title: 'MiB (2²⁰ bytes)' });
    expect(spec.spec.encoding.y.axis?.format).toBeUndefined();
    for (const v of spec.data.values) expect(v.mib).toBe(v.bytes / 2 ** 20);
  });
});

describe('charts/ after a second report into the same folder', () => {
  it('holds no chart the new report lacks, and keeps files that are not the report\'s', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'report-stale-'));
    try {
      await writeReport(dir, records, { layout: 'paper' });
      expect(existsSync(join(dir, 'charts', 'ablations.png'))).toBe(true);
      writeFileSync(join(dir, 'charts', 'my-notes.png'), 'x');
      const written = await writeReport(dir, records.filter((r) => r.cell.workload === 'sharegpt'));
      const files = readdirSync(join(dir, 'charts')).sort();
      expect(files).toEqual([...written.charts.flatMap((c) => [`${c.id}.png`, `${c.id}.svg`]), 'my-notes.png'].sort());
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('accuracy table against FP16', () => {
  const fp16 = records.find((r): r is OkRecord => r.status === 'ok' && r.cell.method === 'fp16' && r.cell.workload === 'longbench-embedded')!;
  const mc = records.find((r): r is OkRecord => r.status === 'ok' && r.cell.method === 'minicache' && r.cell.workload === 'longbench-embedded' && !r.cell.label)!;
  const table = (rs: CellResult[]) => buildReport(rs).sections.flatMap((s) => s.blocks).find((b): b is TableBlock => b.kind === 'table' && b.id === 'accuracy')!;

  it('reads one way for every metric: perplexity 3× FP16\'s is 0.325×, not 3.07×, and its difference is negative', () => {
    const ppl = (r: OkRecord, score: number, delta?: { mean: number; lo: number; hi: number }): OkRecord => ({ ...r, tasks: [{ task: 'perplexity', metric: 'perplexity', score, n: 4, ...(delta ? { deltaVsFp16: delta } : {}) }] });
    const t = table([ppl(fp16, 10.81), ppl(mc, 33.24, { mean: 22.43, lo: 18, hi: 27 })]);
    const col = t.columns.findIndex((c) => c.header === 'vs FP16 (higher is better)');
    const d = t.columns.findIndex((c) => c.header.startsWith('Δ vs FP16, + = better'));
    expect(col).toBeGreaterThan(0);
    const row = t.rows.find((r) => r[0] === 'minicache')!;
    expect(row[col]).toBe('0.325×');
    expect(row[d]).toBe('-22.4 [-27, -18]');
    expect(row[t.columns.findIndex((c) => c.header === 'metric')]).toBe('perplexity (lower is better)');
    expect(t.rows.find((r) => r[0] === 'fp16')![col]).toBeNull();
  });

  it('a task FP16 scores at the floor on says "beyond this model", never "0 [0, 0]"', () => {
    const at0 = (r: OkRecord, score: number): OkRecord => ({ ...r, tasks: [{ task: 'passage_count', metric: 'count_score', score, n: 8, deltaVsFp16: { mean: 0, lo: 0, hi: 0 } }] });
    const t = table([at0(fp16, 0), at0(mc, 0)]);
    const row = t.rows.find((r) => r[0] === 'minicache')!;
    expect(row[t.columns.findIndex((c) => c.header === 'vs FP16 (higher is better)')]).toBe('beyond this model');
    expect(row[t.columns.findIndex((c) => c.header.startsWith('Δ vs FP16'))]).toBe('beyond this model');
    expect(summaryMarkdown([at0(fp16, 0), at0(mc, 0)])).not.toContain('0 [0, 0]');
    const chart = CHARTS.accuracyDelta.build([at0(fp16, 0), at0(mc, 0)]);
    expect(chart).toBeNull();
  });
});

describe('layer similarity chart title', () => {
  it('does not call an all-adjacent-pairs survey "merged" pairs', () => {
    const fp16 = records.find((r): r is OkRecord => r.status === 'ok' && r.cell.method === 'fp16' && r.cell.workload === 'longbench-embedded')!;
    const pairs = [0, 1, 2].map((l) => ({ pair: [l, l + 1] as [number, number], cosK: 0.5, cosV: 0.4, retainedFracK: 0, retainedFracV: 0 }));
    const survey = { ...fp16, cell: { ...fp16.cell, workload: 'similarity' }, diagnostics: { pairs } } as OkRecord;
    expect((CHARTS.similarity.build([survey]) as { title: string }).title).toBe('Cross-layer similarity per adjacent layer pair');
    expect((CHARTS.similarity.build(records) as { title: string }).title).toBe('Cross-layer similarity per merged layer pair');
  });
});

describe('report of a run folder with no finished cell', () => {
  it('exits 2 and says how many cells were planned and how to finish the run', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'report-empty-'));
    try {
      writeFileSync(join(dir, 'results.jsonl'), '');
      writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifestFor(records)));
      const errors: string[] = [];
      expect(await reportCommand(dir, { log: () => {}, error: (l) => errors.push(l) })).toBe(2);
      expect(errors.join('\n')).toContain('results.jsonl holds no records');
      expect(errors.join('\n')).toContain(`manifest.json plans ${records.length} cells and none has finished`);
      expect(existsSync(join(dir, 'report.html'))).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('cells table and mixed provenance', () => {
  const cellsOf = (rs: CellResult[]) => buildReport(rs).sections.flatMap((s) => s.blocks).find((b): b is TableBlock => b.kind === 'table' && b.id === 'cells')!;

  it('says where each cell ran when cells differ (a merge of a CPU shard and a CUDA shard)', () => {
    const mixed = records.map((r) => (r.cell.method === 'kivi2' ? { ...r, provenance: { ...r.provenance, executionProvider: 'cuda', gitSha: 'fedcba9876543210fedcba9876543210fedcba98' } } : r));
    const t = cellsOf(mixed);
    const col = t.columns.findIndex((c) => c.header === 'ran on (where cells differ)');
    expect(col).toBeGreaterThan(0);
    expect(t.rows.find((r) => r[2] === 'kivi2')![col]).toBe('git fedcba987654, EP cuda');
    expect(t.rows.find((r) => r[2] === 'fp16')![col]).toBe('git 0123456789ab, EP cpu');
  });

  it('adds no column when every cell ran alike', () => {
    expect(cellsOf(records).columns.some((c) => c.header.startsWith('ran on'))).toBe(false);
  });
});

describe('throughput legend', () => {
  it('draws method swatches at full opacity, the colors of the lines', async () => {
    const svg = await chartSvg(CHARTS.throughputVsBatch.build(records)!);
    const opacities = [...svg.matchAll(/role-legend-symbol" pointer-events="none"><path [^>]*opacity="([\d.]+)"/g)].map((m) => m[1]);
    expect(opacities.length).toBeGreaterThan(0);
    expect(new Set(opacities)).toEqual(new Set(['1']));
  });
});
