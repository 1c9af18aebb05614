import { describe, expect, it } from 'vitest';
import { buildReport } from '../../src/report/build-report.js';
import { summaryMarkdown } from '../../src/report/summary-markdown.js';
import { HOSTILE, hostileRecords } from './hostile-records.js';
import { syntheticRun } from './synthetic-run.js';

describe('summary.md', () => {
  const records = syntheticRun({ withFailures: true });
  const md = summaryMarkdown(records);

  it('leads with the paper\'s claims, verdicts and why, before the per-method table', () => {
    expect(md.indexOf("### The paper's claims and what this run measured")).toBeGreaterThan(0);
    expect(md.indexOf("### The paper's claims")).toBeLessThan(md.indexOf('### Per method'));
    expect(md).toMatch(/\| decode throughput vs FP16, 4-bit MiniCache \| ≈5× [^|]+\| [\d.]+× \\\[[\d.]+–[\d.]+\\\] at batch 128 \(3 repeats\) \| [^|]+ \| [^|]+ \|/);
  });

  it('has per-method compression, decode tok/s and its ratio to FP16 with the range of the repeats, and accuracy deltas', () => {
    const row = md.split('\n').find((l) => l.startsWith('| minicache+kivi4 |'))!;
    expect(row).toMatch(/\| 4\.1× @ 1800 \| [\d,.]+ @ b128 \| [\d.]+× \[[\d.]+–[\d.]+\] \| -?[\d.]+ \| \S+ -?[\d.]+ \[/);
    expect(md).toContain('| fp16 |');
  });

  it('lists errored and skipped cells with their reasons', () => {
    expect(md).toContain('### Errored and skipped cells (2)');
    expect(md).toContain('RangeError: Array buffer allocation failed');
    expect(md).toContain('webgpu adapter unavailable');
  });

  it('puts the paper\'s numbers beside ours, labelled', () => {
    expect(md).toContain('5.02× (LongBench table / abstract: 4-bit MiniCache, LLaMA-2-7B)');
    expect(md).toContain('ours (minillama-12l)');
  });

  it('escapes HTML and Markdown from the data', () => {
    const evil = summaryMarkdown(hostileRecords(records));
    expect(evil).not.toContain('<script>');
    expect(evil).not.toContain('<img');
    expect(evil).toContain('evil&lt;script&gt;');
    // Markdown too: the underscores of the payload are escaped, not read as emphasis.
    expect(evil).toContain('evil&lt;script&gt;window.\\_\\_pwned="method"&lt;/script&gt;');
    // A `|` in a name stays inside its table cell.
    const piped = summaryMarkdown(records.map((r) => (r.cell.method === 'kivi4' ? { ...r, cell: { ...r.cell, method: 'kivi|4' } } : r)));
    const row = piped.split('\n').find((l) => l.startsWith('| kivi\\|4 |'));
    expect(row).toBeDefined();
    const kivi2Row = piped.split('\n').find((l) => l.startsWith('| kivi2 |'))!;
    expect(row!.split(/(?<!\\)\|/).length).toBe(kivi2Row.split('|').length);
    expect(HOSTILE.method).toContain('<script>');
  });
});

describe('report model', () => {
  it('default layout: the answer (the paper\'s claims beside ours) first, then charts, tables, provenance last', () => {
    const model = buildReport(syntheticRun({ withFailures: true }));
    expect(model.sections.map((s) => s.id)).toEqual(['headline', 'charts', 'tables', 'provenance']);
    expect(model.sections[0]!.blocks.map((b) => b.kind === 'table' && b.id)).toEqual(['headline']);
    expect(model.sections[1]!.blocks.every((b) => b.kind === 'chart')).toBe(true);
  });

  it('paper layout: the answer, the five results of the paper, then cells and provenance', () => {
    const model = buildReport(syntheticRun({ withAblations: true }), { layout: 'paper' });
    expect(model.sections.map((s) => s.id)).toEqual(['headline', 'table1', 'fig5', 'fig1a', 'ablations', 'merge-strategy', 'cells', 'provenance']);
  });

  it('paper layout leaves out sections without data', () => {
    const serving = syntheticRun().filter((r) => r.cell.workload === 'sharegpt' && r.cell.method !== 'mean-merge' && r.cell.method !== 'minicache');
    const ids = buildReport(serving, { layout: 'paper' }).sections.map((s) => s.id);
    expect(ids).toContain('fig5');
    expect(ids).not.toContain('table1');
    expect(ids).not.toContain('ablations');
  });

  it('an unknown layout is an error with did-you-mean', () => {
    expect(() => buildReport([], { layout: 'papr' })).toThrow(/unknown report layout "papr"/);
  });
});

describe('paper claims table', () => {
  it('writes savings and growths with one sign each (never "−-")', async () => {
    const { signedPercent } = await import('../../src/report/tables/paper-tables.js');
    expect(signedPercent(-0.627)).toBe('−62.7%');
    expect(signedPercent(0.00902)).toBe('+0.902%');
    const md = summaryMarkdown(syntheticRun());
    expect(md).not.toMatch(/−-|\+-/);
  });
});
