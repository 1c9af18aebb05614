import type { CellResult, OkRecord } from '../../results/record.js';
import type { VegaLiteSpec } from '../model.js';
import { PAPER_COMPRESSION } from '../paper-numbers.js';
import { CHART_HEIGHT, methodOrder, okRecords, oursLabel } from './common.js';

const COMPONENT_ORDER = ['data', 'residual', 'scales', 'zeroPoints', 'magnitudes', 'retained', 'indices'];

/**
 * The record that stands for a method: an unlabelled cell (the method's main configuration; a
 * labelled cell such as ablation:S=2 runs other parameters) where the method has one, the one
 * measured at the longest sequence (compression depends on length through residual windows),
 * ties broken by workload then cell id.
 */
export function representativeByMethod(records: readonly CellResult[]): Map<string, OkRecord> {
  const best = new Map<string, OkRecord>();
  for (const r of okRecords(records)) {
    const cur = best.get(r.cell.method);
    const better =
      !cur ||
      (!r.cell.label && Boolean(cur.cell.label)) ||
      (!r.cell.label === !cur.cell.label && r.metrics.seqLen > cur.metrics.seqLen) ||
      (!r.cell.label === !cur.cell.label &&
        r.metrics.seqLen === cur.metrics.seqLen &&
        (r.cell.workload < cur.cell.workload || (r.cell.workload === cur.cell.workload && r.cellId < cur.cellId)));
    if (better) best.set(r.cell.method, r);
  }
  return best;
}

/**
 * Compression ratio per method (measured from bytes held) beside the paper's reported ratio, and
 * the bytes held as a fraction of FP16 stacked by component, so overheads (scales, zero points,
 * residual windows, magnitudes, retained tokens, indices) are visible, not folded in.
 */
export function compressionChart(records: readonly CellResult[]): VegaLiteSpec | null {
  const reps = representativeByMethod(records);
  if (reps.size === 0) return null;
  const methods = methodOrder([...reps.values()]);
  const ours = oursLabel([...reps.values()]);
  const ratioRows: Record<string, unknown>[] = [];
  const byteRows: Record<string, unknown>[] = [];
  for (const m of methods) {
    const r = reps.get(m)!;
    ratioRows.push({ method: m, ratio: r.metrics.compressionRatio, source: ours, seqLen: r.metrics.seqLen, workload: r.cell.workload });
    const paper = PAPER_COMPRESSION[m];
    if (paper) ratioRows.push({ method: m, ratio: paper.ratio, source: 'paper (LLaMA-2-7B / -Chat)', seqLen: null, workload: paper.source });
    for (const [component, bytes] of Object.entries(r.metrics.kvBytesByComponent)) {
      if (!bytes) continue;
      byteRows.push({ method: m, component, bytes, fraction: bytes / r.metrics.kvBytesBaseline, seqLen: r.metrics.seqLen, order: COMPONENT_ORDER.indexOf(component) });
    }
  }
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: 'KV-cache compression (measured from bytes held)',
    resolve: { scale: { color: 'independent' } },
    hconcat: [
      {
        title: 'Compression ratio vs FP16',
        data: { values: ratioRows },
        width: 300,
        height: CHART_HEIGHT,
        mark: { type: 'bar', tooltip: true },
        encoding: {
          x: { field: 'method', type: 'nominal', sort: methods, title: 'method', axis: { labelAngle: -30 } },
          xOffset: { field: 'source', type: 'nominal' },
          y: { field: 'ratio', type: 'quantitative', title: 'compression ratio (×)' },
          color: { field: 'source', type: 'nominal', title: 'source', scale: { range: ['#4c78a8', '#bab0ac'] }, legend: { orient: 'bottom', direction: 'vertical', labelLimit: 400 } },
          tooltip: [
            { field: 'method', type: 'nominal' },
            { field: 'source', type: 'nominal' },
            { field: 'ratio', type: 'quantitative', format: '.3f' },
            { field: 'seqLen', type: 'quantitative', title: 'measured at seqLen' },
            { field: 'workload', type: 'nominal', title: 'workload / source' },
          ],
        },
      },
      {
        title: 'Bytes held as a fraction of FP16, by component',
        data: { values: byteRows },
        width: 260,
        height: CHART_HEIGHT,
        mark: { type: 'bar', tooltip: true },
        encoding: {
          x: { field: 'method', type: 'nominal', sort: methods, title: 'method', axis: { labelAngle: -30 } },
          y: { field: 'fraction', type: 'quantitative', stack: 'zero', title: 'bytes / FP16 bytes' },
          color: { field: 'component', type: 'nominal', title: 'component', sort: COMPONENT_ORDER },
          order: { field: 'order', type: 'quantitative' },
          tooltip: [
            { field: 'method', type: 'nominal' },
            { field: 'component', type: 'nominal' },
            { field: 'bytes', type: 'quantitative', format: ',' },
            { field: 'fraction', type: 'quantitative', format: '.4f' },
            { field: 'seqLen', type: 'quantitative' },
          ],
        },
      },
    ],
  };
}
