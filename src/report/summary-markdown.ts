import type { CellResult } from '../results/record.js';
import { cellSubject, plannedWithoutRecord } from './cells.js';
import { fmtNumber, mdTable, mdText } from './markdown.js';
import { methodSummaries } from './method-summary.js';
import { paperClaimsTable } from './tables/paper-tables.js';

const MAX_FAILURES = 30;

/**
 * summary.md: the run in a few lines for a pull-request comment or $GITHUB_STEP_SUMMARY —
 * per method compression, decode tokens/s, accuracy deltas; the paper's claims beside ours;
 * every errored or skipped cell.
 */
export function summaryMarkdown(records: readonly CellResult[], opts: { reportPath?: string; manifest?: Record<string, unknown> } = {}): string {
  const suites = [...new Set(records.map((r) => r.suite))].sort().map(mdText).join(', ');
  const n = { ok: 0, errored: 0, skipped: 0 };
  for (const r of records) n[r.status]++;
  const missing = plannedWithoutRecord(records, opts.manifest);
  const notRun = missing.length ? ` **${missing.length} more planned cells have no result (not run): this run is incomplete.**` : '';
  const out = [`## minicache-bench: ${suites || 'no results'}`, '', `${records.length} cells: ${n.ok} ok, ${n.errored} errored, ${n.skipped} skipped.${notRun}`, ''];
  const rows = methodSummaries(records).map((s) => [
    mdText(s.method),
    s.compressionRatio === undefined ? '–' : `${fmtNumber(s.compressionRatio)}× @ ${s.seqLen}`,
    s.decodeTps === undefined ? '–' : `${fmtNumber(s.decodeTps)} @ b${s.atBatch}`,
    s.speedupVsFp16 === undefined ? '–' : `${fmtNumber(s.speedupVsFp16)}×`,
    s.meanTaskDelta === undefined ? '–' : fmtNumber(s.meanTaskDelta),
    s.worstTask ? `${mdText(s.worstTask.task)} ${fmtNumber(s.worstTask.mean)} [${fmtNumber(s.worstTask.lo)}, ${fmtNumber(s.worstTask.hi)}]` : '–',
    `${s.cells - s.errored - s.skipped}/${s.cells}`,
  ]);
  if (rows.length) {
    out.push(mdTable(['method', 'compression @ seqLen', 'decode tok/s', 'vs FP16', 'mean Δ acc', 'worst task Δ [95% CI]', 'ok'], rows), '');
    // Software WebGPU adapters (SwiftShader) emulate the GPU on the CPU: their timings are never GPU timings.
    const software = [...new Set(records.filter((r) => r.provenance?.adapter?.fallback).map((r) => r.provenance.adapter!.description || r.provenance.adapter!.architecture || 'software adapter'))];
    if (software.length) out.push(`> **Note:** some timings come from a software WebGPU adapter (${software.map(mdText).join(', ')}): CPU-emulated WebGPU, not GPU timings.`, '');
  }
  const claims = paperClaimsTable(records);
  if (claims) {
    out.push('<details><summary>Paper (its model) vs ours</summary>', '');
    out.push(mdTable(claims.columns.map((c) => mdText(c.header)), claims.rows.map((r) => r.map((v) => mdText(v === null ? '–' : String(v))))), '', '</details>', '');
  }
  const bad = records.filter((r) => r.status !== 'ok');
  if (bad.length) {
    out.push(`### Errored and skipped cells (${bad.length})`, '');
    for (const r of bad.slice(0, MAX_FAILURES)) {
      const why = r.status === 'errored' ? `${r.error.name}: ${r.error.message}` : r.status === 'skipped' ? r.reason : '';
      out.push(`- ${r.status}: ${mdText(cellSubject(r.cell))} (\`${r.cellId.replace(/`/g, '')}\`): ${mdText(why)}`);
    }
    if (bad.length > MAX_FAILURES) out.push(`- … and ${bad.length - MAX_FAILURES} more`);
    out.push('');
  }
  if (missing.length) {
    out.push(`### Planned cells without a result (${missing.length})`, '');
    for (const c of missing.slice(0, MAX_FAILURES)) out.push(`- not run: ${mdText(cellSubject(c))} (\`${c.id.replace(/`/g, '')}\`)`);
    if (missing.length > MAX_FAILURES) out.push(`- … and ${missing.length - MAX_FAILURES} more`);
    out.push('');
  }
  if (opts.reportPath) out.push(`Full report: ${mdText(opts.reportPath)}`, '');
  return `${out.join('\n').trimEnd()}\n`;
}
