import type { CellResult, Provenance } from '../../results/record.js';
import { cellSubject, fp16Index, fp16PairKey, plannedWithoutRecord, workloadMode } from '../cells.js';
import { methodOrder, noisyValue, okRecords } from '../charts/common.js';
import { fmtBytes, fmtNumber } from '../markdown.js';
import { methodSummaries } from '../method-summary.js';
import type { TableBlock } from '../model.js';

const pct = (x: number | undefined) => (x === undefined ? null : `${(x * 100).toFixed(1)}%`);

/** Headline numbers per method. */
export function methodSummaryTable(records: readonly CellResult[]): TableBlock | null {
  const rows = methodSummaries(records).map((s) => [
    s.method,
    s.compressionRatio === undefined ? null : `${fmtNumber(s.compressionRatio)}×`,
    s.seqLen ?? null,
    s.decodeTps === undefined ? null : fmtNumber(s.decodeTps),
    s.atBatch ?? null,
    s.speedupVsFp16 === undefined ? null : `${fmtNumber(s.speedupVsFp16)}×`,
    pct(s.kvSavingVsFp16),
    pct(s.memorySavingVsFp16),
    s.meanTaskDelta === undefined ? null : fmtNumber(s.meanTaskDelta),
    s.worstTask ? `${s.worstTask.task} ${fmtNumber(s.worstTask.mean)} [${fmtNumber(s.worstTask.lo)}, ${fmtNumber(s.worstTask.hi)}]` : null,
    `${s.cells - s.errored - s.skipped}/${s.cells}`,
  ]);
  if (rows.length === 0) return null;
  return {
    kind: 'table',
    id: 'method-summary',
    title: 'Per method',
    caption: 'Compression at the longest sequence measured; throughput and savings at the largest fixed batch, against the FP16 cell with the same setup; accuracy deltas in score points (paired, 95% CI).',
    columns: [
      { header: 'method' },
      { header: 'compression', numeric: true },
      { header: 'at seqLen', numeric: true },
      { header: 'decode tok/s', numeric: true },
      { header: 'at batch', numeric: true },
      { header: 'speed-up vs FP16', numeric: true },
      { header: 'KV saved', numeric: true },
      { header: 'peak RSS saved', numeric: true },
      { header: 'mean Δ vs FP16', numeric: true },
      { header: 'worst task Δ [CI]' },
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
      r.cell.model,
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
  // Score ÷ FP16 score beside the paired delta, as a ratio reads across tasks of different scales.
  const vsFp16 = (r: (typeof records)[number], task: string, score: number): string | null => {
    if (r.status !== 'ok' || r.cell.method === 'fp16') return null;
    const ref = fp16.get(fp16PairKey(r.cell))?.tasks?.find((x) => x.task === task)?.score;
    return ref ? `${fmtNumber(score / ref)}×` : null;
  };
  const rows = okRecords(records)
    .filter((r) => !r.cell.label && r.tasks?.length)
    .sort((a, b) => order.indexOf(a.cell.method) - order.indexOf(b.cell.method) || (a.cellId < b.cellId ? -1 : 1))
    .flatMap((r) =>
      r.tasks!.map((t) => [
        r.cell.method,
        r.cell.workload,
        t.task,
        t.metric,
        t.n,
        fmtNumber(t.score, 4),
        vsFp16(r, t.task, t.score),
        t.deltaVsFp16 ? `${fmtNumber(t.deltaVsFp16.mean)} [${fmtNumber(t.deltaVsFp16.lo)}, ${fmtNumber(t.deltaVsFp16.hi)}]` : null,
        t.agreement ? pct(t.agreement.tokenMatch) : null,
      ]),
    );
  if (rows.length === 0) return null;
  return {
    kind: 'table',
    id: 'accuracy',
    title: 'Accuracy per task',
    columns: [
      { header: 'method' },
      { header: 'workload' },
      { header: 'task' },
      { header: 'metric' },
      { header: 'n', numeric: true },
      { header: 'score', numeric: true },
      { header: 'score ÷ FP16 score', numeric: true },
      { header: 'Δ vs FP16 [95% CI]', numeric: true },
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
