import type { CellResult, OkRecord, Provenance, TaskScore } from '../../results/record.js';
import { atFloor, BEYOND_MODEL, cellSubject, modelLabel, deltaBetter, FLOOR_SCORE, FP16_METHOD, fp16Index, fp16PairKey, lowerIsBetter, plannedWithoutRecord, relativeToFp16, workloadMode } from '../cells.js';
import { methodOrder, noisyValue, okRecords } from '../charts/common.js';
import { fmtBytes, fmtNumber } from '../markdown.js';
import { methodSummaries } from '../method-summary.js';
import { FLAG_LEGEND, flagMark, fmtSpread } from '../noise.js';
import type { TableBlock } from '../model.js';

const pct = (x: number | undefined) => (x === undefined ? null : `${(x * 100).toFixed(1)}%`);

/** Headline numbers per method, every ratio reading one way (higher is better), timed ones with their range. */
export function methodSummaryTable(records: readonly CellResult[]): TableBlock | null {
  const summaries = methodSummaries(records);
  const rows = summaries.map((s) => [
    s.method,
    s.compressionRatio === undefined ? null : `${fmtNumber(s.compressionRatio)}×`,
    s.seqLen ?? null,
    s.decode === undefined ? null : `${fmtSpread(s.decode, fmtNumber)}${s.decode.n < 2 ? flagMark('one repeat') : ''}`,
    s.atBatch ?? null,
    s.method === FP16_METHOD || s.speedup === undefined ? null : `${fmtSpread(s.speedup, fmtNumber, '×')}${flagMark(s.speedupFlag)}`,
    pct(s.kvSavingVsFp16),
    pct(s.memorySavingVsFp16),
    s.meanTaskDelta === undefined ? (s.floorTasks ? BEYOND_MODEL : null) : fmtNumber(s.meanTaskDelta),
    s.worstTask ? `${s.worstTask.task} ${fmtNumber(s.worstTask.mean)} [${fmtNumber(s.worstTask.lo)}, ${fmtNumber(s.worstTask.hi)}]` : null,
    s.floorTasks || null,
    s.perplexityVsFp16 === undefined ? null : `${fmtNumber(s.perplexityVsFp16)}×`,
    `${s.cells - s.errored - s.skipped}/${s.cells}`,
  ]);
  if (rows.length === 0) return null;
  const flagged = summaries.some((s) => s.speedupFlag || (s.decode && s.decode.n < 2));
  return {
    kind: 'table',
    id: 'method-summary',
    title: 'Per method',
    caption: `Compression at the longest sequence measured; throughput (median [min–max] over the repeats) and savings at the largest fixed batch, against the FP16 cell with the same setup (ratio of medians; its range runs from our slowest repeat over FP16's fastest to our fastest over FP16's slowest). Every comparison reads one way: above 1× and above 0 are better than FP16. Task deltas in score points (paired, 95% CI), leaving out tasks FP16 scores ${FLOOR_SCORE} or less on (${BEYOND_MODEL}).${flagged ? ` ${FLAG_LEGEND}` : ''}`,
    columns: [
      { header: 'method' },
      { header: 'compression', numeric: true },
      { header: 'at seqLen', numeric: true },
      { header: 'decode tok/s [range]', numeric: true },
      { header: 'at batch', numeric: true },
      { header: 'decode vs FP16 [range]', numeric: true },
      { header: 'KV saved', numeric: true },
      { header: 'peak RSS saved', numeric: true },
      { header: 'mean task Δ (+ = better)', numeric: true },
      { header: 'worst task Δ [CI]' },
      { header: `tasks ${BEYOND_MODEL}`, numeric: true },
      { header: 'perplexity vs FP16 (FP16 ÷ ours)', numeric: true },
      { header: 'cells ok', numeric: true },
    ],
    rows,
  };
}

/** Provenance fields that can differ between cells of one report (merged shards, resumed runs on another machine). */
const CELL_PROVENANCE: [string, (p: Provenance) => string | undefined][] = [
  ['git', (p) => (p.gitSha ? `${p.gitSha.slice(0, 12)}${p.gitDirty ? ' (dirty)' : ''}` : undefined)],
  ['runner', (p) => p.runner],
  ['EP', (p) => p.executionProvider],
  ['adapter', (p) => (p.adapter ? `${p.adapter.vendor} ${p.adapter.architecture}${p.adapter.fallback ? ' (software)' : ''}` : undefined)],
  ['CPU', (p) => (p.cpu ? `${p.cpu} × ${p.cpuCount}` : undefined)],
  ['platform', (p) => p.platform],
  ['package', (p) => p.packageVersion],
];

/**
 * Per cell, the provenance fields whose values differ across the report's cells, so a cell's
 * numbers can be traced to where they ran; null when every cell shares its provenance (the
 * provenance table then says it once).
 */
function varyingProvenance(records: readonly CellResult[]): ((r: CellResult) => string) | null {
  const varying = CELL_PROVENANCE.filter(([, get]) => new Set(records.map((r) => (r.provenance ? get(r.provenance) ?? '' : ''))).size > 1);
  if (varying.length === 0) return null;
  return (r) => varying.map(([name, get]) => `${name} ${(r.provenance && get(r.provenance)) || '–'}`).join(', ');
}

/** Every ok cell's main numbers. */
export function cellsTable(records: readonly CellResult[]): TableBlock | null {
  const order = methodOrder(records);
  const ok = okRecords(records).sort(
    (a, b) => order.indexOf(a.cell.method) - order.indexOf(b.cell.method) || (a.cell.workload < b.cell.workload ? -1 : a.cell.workload > b.cell.workload ? 1 : 0) || a.cell.batch - b.cell.batch || (a.cellId < b.cellId ? -1 : 1),
  );
  if (ok.length === 0) return null;
  const where = varyingProvenance(ok);
  return {
    kind: 'table',
    id: 'cells',
    title: 'All cells',
    columns: [
      { header: 'cell id' },
      { header: 'model' },
      { header: 'method' },
      { header: 'workload' },
      { header: 'mode' },
      { header: 'label' },
      { header: 'batch', numeric: true },
      { header: 'seqLen', numeric: true },
      { header: 'compression', numeric: true },
      { header: 'KV bytes', numeric: true },
      { header: 'decode tok/s', numeric: true },
      { header: 'peak RSS', numeric: true },
      ...(where ? [{ header: 'ran on (where cells differ)' }] : []),
    ],
    rows: ok.map((r) => [
      r.cellId,
      modelLabel(r),
      r.cell.method,
      r.cell.workload,
      workloadMode(r.cell),
      r.cell.label ?? '',
      r.cell.batch,
      r.metrics.seqLen,
      `${fmtNumber(r.metrics.compressionRatio)}×`,
      fmtBytes(r.metrics.kvBytes),
      fmtNumber(noisyValue(r, 'decodeTokensPerSecond')),
      fmtBytes(noisyValue(r, 'peakRssBytes')),
      ...(where ? [where(r)] : []),
    ]),
  };
}

/** Per method and task: our score, the paired difference to FP16 with its CI, agreement. */
export function accuracyTable(records: readonly CellResult[]): TableBlock | null {
  const order = methodOrder(records);
  const fp16 = fp16Index(records);
  const refOf = (r: OkRecord, task: string) => fp16.get(fp16PairKey(r.cell))?.tasks?.find((x) => x.task === task)?.score;
  // One direction for every metric: higher is better (perplexity: FP16 ÷ ours), so a loss never reads as a gain.
  const vsFp16 = (r: OkRecord, t: TaskScore): string | null => {
    if (r.cell.method === 'fp16') return null;
    const ref = refOf(r, t.task);
    if (atFloor(ref, t.metric)) return BEYOND_MODEL;
    const rel = ref === undefined ? undefined : relativeToFp16(t.score, ref, t.metric);
    return rel === undefined ? null : `${fmtNumber(rel)}×`;
  };
  const delta = (r: OkRecord, t: TaskScore): string | null => {
    if (atFloor(refOf(r, t.task), t.metric) && r.cell.method !== 'fp16') return BEYOND_MODEL;
    const d = deltaBetter(t);
    return d ? `${fmtNumber(d.mean)} [${fmtNumber(d.lo)}, ${fmtNumber(d.hi)}]` : null;
  };
  const rows = okRecords(records)
    .filter((r) => !r.cell.label && r.tasks?.length)
    .sort((a, b) => order.indexOf(a.cell.method) - order.indexOf(b.cell.method) || (a.cellId < b.cellId ? -1 : 1))
    .flatMap((r) =>
      r.tasks!.map((t) => [
        r.cell.method,
        r.cell.workload,
        t.task,
        `${t.metric} (${lowerIsBetter(t.metric) ? 'lower' : 'higher'} is better)`,
        t.n,
        fmtNumber(t.score, 4),
        vsFp16(r, t),
        delta(r, t),
        t.agreement ? pct(t.agreement.tokenMatch) : null,
      ]),
    );
  if (rows.length === 0) return null;
  return {
    kind: 'table',
    id: 'accuracy',
    title: 'Accuracy per task',
    caption: `Both comparisons read one way for every metric: above 1× and above 0 are better than FP16 (for perplexity the ratio is FP16 ÷ ours and the difference FP16 − ours). A task FP16 scores ${FLOOR_SCORE} or less on is "${BEYOND_MODEL}": a difference there says nothing about the cache.`,
    columns: [
      { header: 'method' },
      { header: 'workload' },
      { header: 'task' },
      { header: 'metric' },
      { header: 'n', numeric: true },
      { header: 'score', numeric: true },
      { header: 'vs FP16 (higher is better)', numeric: true },
      { header: 'Δ vs FP16, + = better [95% CI]', numeric: true },
      { header: 'token match with FP16', numeric: true },
    ],
    rows,
  };
}

/** Cells that did not produce results: never hidden. Planned cells (manifest.json) without a record count too. */
export function failuresTable(records: readonly CellResult[], manifest?: Record<string, unknown>): TableBlock | null {
  const bad = records.filter((r) => r.status !== 'ok');
  const missing = plannedWithoutRecord(records, manifest);
  if (bad.length === 0 && missing.length === 0) return null;
  return {
    kind: 'table',
    id: 'failures',
    title: missing.length ? 'Errored, skipped and not-run cells' : 'Errored and skipped cells',
    columns: [{ header: 'cell id' }, { header: 'cell' }, { header: 'status' }, { header: 'why' }],
    rows: [
      ...bad.map((r) => [r.cellId, cellSubject(r.cell), r.status, r.status === 'errored' ? `${r.error.name}: ${r.error.message}` : r.status === 'skipped' ? r.reason : '']),
      ...missing.map((c) => [c.id, cellSubject(c), 'not run', 'planned in manifest.json, no record in results.jsonl (the run stopped early or is still going)']),
    ],
  };
}
