import type { CellResult } from '../results/record.js';
import { BEYOND_MODEL, cellSubject, FLOOR_SCORE, FP16_METHOD, plannedWithoutRecord } from './cells.js';
import { fmtNumber, mdTable, mdText } from './markdown.js';
import { methodSummaries } from './method-summary.js';
import { FLAG_LEGEND, flagMark, fmtSpread } from './noise.js';
import { headlineTable } from './tables/headline.js';

const MAX_FAILURES = 30;

/**
 * summary.md: the run in a few lines for a pull-request comment or $GITHUB_STEP_SUMMARY — the
 * paper's claims beside ours with a verdict first, then per method compression, decode tokens/s
 * and its ratio to FP16 with their spread, accuracy against FP16 in one direction; every errored
 * or skipped cell.
 */
export function summaryMarkdown(records: readonly CellResult[], opts: { reportPath?: string; manifest?: Record<string, unknown> } = {}): string {
  const suites = [...new Set(records.map((r) => r.suite))].sort().map(mdText).join(', ');
  const n = { ok: 0, errored: 0, skipped: 0 };
  for (const r of records) n[r.status]++;
  const missing = plannedWithoutRecord(records, opts.manifest);
  const notRun = missing.length ? ` **${missing.length} more planned cells have no result (not run): this run is incomplete.**` : '';
  const out = [`## minicache-bench: ${suites || 'no results'}`, '', `${records.length} cells: ${n.ok} ok, ${n.errored} errored, ${n.skipped} skipped.${notRun}`, ''];
  // The answer first: the paper's claims, ours beside them, verdict and why.
  const headline = headlineTable(records);
  if (headline) {
    out.push(`### ${mdText(headline.title)}`, '');
    out.push(mdTable(headline.columns.map((c) => mdText(c.header)), headline.rows.map((r) => r.map((v) => mdText(v === null ? '–' : String(v))))), '');
  }
  const summaries = methodSummaries(records);
  const rows = summaries.map((s) => [
    mdText(s.method),
    s.compressionRatio === undefined ? '–' : `${fmtNumber(s.compressionRatio)}× @ ${s.seqLen}`,
    s.decodeTps === undefined ? '–' : `${fmtNumber(s.decodeTps)} @ b${s.atBatch}${s.decode && s.decode.n < 2 ? flagMark('one repeat') : ''}`,
    s.method === FP16_METHOD ? '1× (reference)' : s.speedup === undefined ? '–' : `${fmtSpread(s.speedup, fmtNumber, '×')}${flagMark(s.speedupFlag)}`,
    s.meanTaskDelta === undefined ? (s.floorTasks ? BEYOND_MODEL : '–') : fmtNumber(s.meanTaskDelta),
    s.worstTask ? `${mdText(s.worstTask.task)} ${fmtNumber(s.worstTask.mean)} [${fmtNumber(s.worstTask.lo)}, ${fmtNumber(s.worstTask.hi)}]` : '–',
    s.floorTasks ? String(s.floorTasks) : '–',
    s.perplexityVsFp16 === undefined ? '–' : `${fmtNumber(s.perplexityVsFp16)}×`,
    `${s.cells - s.errored - s.skipped}/${s.cells}`,
  ]);
  if (rows.length) {
    out.push('### Per method', '');
    out.push(
      mdTable(['method', 'compression @ seqLen', 'decode tok/s', 'decode vs FP16 [range]', 'mean task Δ (+ = better)', 'worst task Δ [95% CI]', `tasks ${BEYOND_MODEL}`, 'perplexity vs FP16 (FP16 ÷ ours)', 'ok'], rows),
      '',
    );
    const flagged = summaries.some((s) => s.speedupFlag || (s.decode && s.decode.n < 2));
    out.push(
      `Every ratio reads one way: above 1× and above 0 are better than FP16. Tasks FP16 scores ${FLOOR_SCORE} or less on are ${BEYOND_MODEL} and left out of the task columns.${flagged ? ` ${FLAG_LEGEND}` : ''}`,
      '',
    );
    // Software WebGPU adapters (SwiftShader) emulate the GPU on the CPU: their timings are never GPU timings.
    const software = [...new Set(records.filter((r) => r.provenance?.adapter?.fallback).map((r) => r.provenance.adapter!.description || r.provenance.adapter!.architecture || 'software adapter'))];
    if (software.length) out.push(`> **Note:** some timings come from a software WebGPU adapter (${software.map(mdText).join(', ')}): CPU-emulated WebGPU, not GPU timings.`, '');
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
