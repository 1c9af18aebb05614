import { resolve } from 'node:path';
import { HarnessError } from '../../src/errors.js';
import { headlineClaims } from '../../src/report/tables/headline.js';
import { methodSummaryTable } from '../../src/report/tables/results-tables.js';
import { textTable, wrap } from '../../src/report/text-table.js';
import { plannedWithoutRecord } from '../../src/report/cells.js';
import { readRunDir } from '../../reports/run-dir.js';

const SHORT: Record<string, string> = {
  compression: 'ratio',
  'at seqLen': 'seqLen',
  'decode tok/s [range]': 'tok/s [range]',
  'at batch': 'batch',
  'decode vs FP16 [range]': 'vs FP16 [range]',
  'peak RSS saved': 'RSS saved',
  'mean task Δ (+ = better)': 'task Δ',
  'worst task Δ [CI]': 'worst task Δ [CI]',
  'tasks beyond this model': 'beyond',
  'perplexity vs FP16 (FP16 ÷ ours)': 'ppl FP16÷ours',
  'cells ok': 'ok',
};

/**
 * `minicache-bench show DIR`: the report's answer in the terminal — each paper claim with ours,
 * the verdict and why, then the per-method table. Exit 0, or 2 when the run folder cannot be read.
 */
export function showCommand(dir: string, opts: { log?: (text: string) => void; error?: (text: string) => void; width?: number } = {}): number {
  const log = opts.log ?? ((t: string) => console.log(t));
  const error = opts.error ?? ((t: string) => console.error(t));
  const width = opts.width ?? Math.max(60, Math.min(process.stdout.columns ?? 100, 140));
  let run;
  try {
    run = readRunDir(resolve(dir));
  } catch (e) {
    if (!(e instanceof HarnessError)) throw e;
    error(e.format());
    return 2;
  }
  const { records, manifest } = run;
  const n = { ok: 0, errored: 0, skipped: 0 };
  for (const r of records) n[r.status]++;
  const missing = plannedWithoutRecord(records, manifest as Record<string, unknown> | undefined).length;
  const suites = [...new Set(records.map((r) => r.suite))].sort().join(', ');
  const out = [`${suites}: ${records.length} cells, ${n.ok} ok, ${n.errored} errored, ${n.skipped} skipped${missing ? `; ${missing} planned cells not run (incomplete)` : ''}`, ''];
  const claims = headlineClaims(records);
  if (claims.length) {
    out.push("The paper's claims and what this run measured", '');
    for (const c of claims) {
      out.push(c.claim);
      for (const [k, v] of [['paper', c.paper], ['ours', c.ours], ['verdict', c.verdict], ['why', c.why]] as const) {
        const [first, ...rest] = wrap(v, width - 11);
        out.push(`  ${`${k}:`.padEnd(9)}${first ?? ''}`, ...rest.map((l) => `${' '.repeat(11)}${l}`));
      }
      out.push('');
    }
  }
  const table = methodSummaryTable(records);
  if (table) {
    // A terminal is narrower than a page: the same table under short headers.
    const columns = table.columns.map((c) => ({ ...c, header: SHORT[c.header] ?? c.header }));
    out.push(textTable({ ...table, columns }, width), '');
  }
  out.push(`Full report: minicache-bench report ${dir}`);
  log(out.join('\n'));
  return 0;
}
