/** `minicache-bench show DIR`: the report's answer and main table in the terminal. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { showCommand } from '../../runners/node/show-command.js';
import { serializeResults } from '../../src/results/jsonl.js';
import { manifestFor, syntheticRun } from '../report/synthetic-run.js';

describe('show DIR', () => {
  it('prints each claim with ours, verdict and why, then the per-method table, aligned', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mcb-show-'));
    const records = syntheticRun();
    writeFileSync(join(dir, 'results.jsonl'), serializeResults(records));
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifestFor(records)));
    const out: string[] = [];
    expect(showCommand(dir, { log: (t) => out.push(t), width: 100 })).toBe(0);
    const text = out.join('\n');
    expect(text).toMatch(/^synthetic: \d+ cells, \d+ ok, 0 errored, 0 skipped\n/);
    expect(text).toMatch(/decode throughput vs FP16, 4-bit MiniCache\n {2}paper: {3}≈5× [^\n]*\n {2}ours: {4}[\d.]+× \[[\d.]+–[\d.]+\] at batch 128/);
    expect(text).toMatch(/\n {2}verdict: /);
    const lines = text.split('\n');
    const header = lines.findIndex((l) => l.startsWith('method ') && l.includes('vs FP16 [range]'));
    expect(header).toBeGreaterThan(0);
    expect(lines[header + 1]).toMatch(/^─+( +─+)+$/);
    // Columns line up: every method row is as long as the rule under the header, or shorter only by trailing blanks.
    const rows = lines.slice(header + 2, header + 9);
    expect(rows.map((r) => r.split(/\s{2,}/)[0])).toEqual(['fp16', 'rtn', 'kivi2', 'kivi4', 'mean-merge', 'minicache', 'minicache+kivi4']);
    const ruleLen = [...lines[header + 1]!].length;
    for (const r of rows) expect([...r].length).toBeLessThanOrEqual(ruleLen);
    expect(text).toContain('Full report: minicache-bench report');
  });

  it('exits 2 on a folder without results, saying why', () => {
    const err: string[] = [];
    expect(showCommand(mkdtempSync(join(tmpdir(), 'mcb-show-')), { log: () => {}, error: (t) => err.push(t) })).toBe(2);
    expect(err.join('\n')).toMatch(/no results\.jsonl/);
  });
});
