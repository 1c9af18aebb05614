import type { CellResult, OkRecord } from '../../results/record.js';
import { fp16Index, fp16PairKey, modelLabel, workloadMode } from '../cells.js';
import type { VegaLiteSpec } from '../model.js';
import { PAPER_SERVING } from '../paper-numbers.js';
import { flagMark, ratioFlag, ratioSpread } from '../noise.js';
import { CHART_HEIGHT, CHART_WIDTH, DASH_LEGEND, fp16BaselineLayer, methodColorScale, methodOrder, noisyValue, okRecords, repeatRange } from './common.js';

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';

function fixedBatch(records: readonly CellResult[]): OkRecord[] {
  return okRecords(records).filter((r) => workloadMode(r.cell) !== 'memory-budget' && noisyValue(r, 'decodeTokensPerSecond') !== undefined);
}

/** Decode tokens/s (median over repeats, min–max band) against batch size, one line per method. */
export function throughputVsBatchChart(records: readonly CellResult[]): VegaLiteSpec | null {
  const cells = fixedBatch(records);
  if (cells.length === 0) return null;
  const methods = methodOrder(cells);
  const values = cells.map((r) => {
    const range = repeatRange(r, 'decodeTokensPerSecond');
    const tps = noisyValue(r, 'decodeTokensPerSecond')!;
    const repeats = r.metrics.repeats?.decodeTokensPerSecond?.length ?? 1;
    return { method: r.cell.method, workload: r.cell.workload, model: modelLabel(r), batch: r.cell.batch, tps, lo: range?.lo ?? tps, hi: range?.hi ?? tps, repeats, mark: repeats < 2 ? flagMark('one repeat').trim() : '' };
  });
  const color = { field: 'method', type: 'nominal', scale: methodColorScale(methods), sort: methods } as const;
  const x = { field: 'batch', type: 'quantitative', scale: { type: 'log', base: 2 }, title: 'batch size' } as const;
  return {
    $schema: SCHEMA,
    title: 'Decode throughput vs batch size',
    data: { values },
    width: CHART_WIDTH,
    height: CHART_HEIGHT,
    layer: [
      // strokeOpacity, not opacity: the method legend takes its symbols' opacity from this layer, and faded swatches did not match the lines.
      { mark: { type: 'rule', strokeOpacity: 0.6 }, encoding: { x, y: { field: 'lo', type: 'quantitative' }, y2: { field: 'hi' }, color } },
      {
        mark: { type: 'line', point: true, tooltip: true },
        encoding: {
          x,
          y: { field: 'tps', type: 'quantitative', title: 'decode tokens/s (median of repeats)' },
          color,
          strokeDash: { field: 'workload', type: 'nominal', legend: DASH_LEGEND },
          detail: { field: 'model', type: 'nominal' },
          tooltip: [
            { field: 'method', type: 'nominal' },
            { field: 'model', type: 'nominal' },
            { field: 'workload', type: 'nominal' },
            { field: 'batch', type: 'quantitative' },
            { field: 'tps', type: 'quantitative', format: ',.1f', title: 'tokens/s (median)' },
            { field: 'lo', type: 'quantitative', format: ',.1f', title: 'slowest repeat' },
            { field: 'hi', type: 'quantitative', format: ',.1f', title: 'fastest repeat' },
            { field: 'repeats', type: 'quantitative' },
          ],
        },
      },
      // A point from one timed repeat has no spread to draw: it is marked, not left to look certain.
      { transform: [{ filter: "datum.mark != ''" }], mark: { type: 'text', dx: 7, dy: -7, fontSize: 12 }, encoding: { x, y: { field: 'tps', type: 'quantitative' }, text: { field: 'mark' }, color } },
    ],
  };
}

/**
 * Speed-up over the FP16 cell with the same setup (ratio of medians), with its range over the
 * repeats (slowest over fastest to fastest over slowest), and the paper's ≈5× at batch serving as
 * a reference line. A point from one repeat, or whose range is wider than its distance from 1×, is
 * marked (¹, ≈).
 */
export function speedupVsBatchChart(records: readonly CellResult[]): VegaLiteSpec | null {
  const fp16 = fp16Index(records);
  const values: Record<string, unknown>[] = [];
  for (const r of fixedBatch(records)) {
    const ref = fp16.get(fp16PairKey(r.cell));
    if (!ref || r.cell.method === 'fp16' || !noisyValue(ref, 'decodeTokensPerSecond')) continue;
    const s = ratioSpread(r, ref, 'decodeTokensPerSecond');
    if (!s) continue;
    const flag = ratioFlag(s);
    values.push({ method: r.cell.method, workload: r.cell.workload, model: modelLabel(r), batch: r.cell.batch, speedup: s.value, lo: s.lo, hi: s.hi, repeats: s.n, interleaved: s.interleaved, flag: flag ?? '', mark: flagMark(flag).trim() });
  }
  if (values.length === 0) return null;
  const methods = methodOrder(records).filter((m) => values.some((v) => v.method === m));
  const paperLabel = `paper: ≈${PAPER_SERVING.throughputSpeedup}× (4-bit MiniCache vs FP16, ${PAPER_SERVING.model}, ${PAPER_SERVING.setting})`;
  const x = { field: 'batch', type: 'quantitative', scale: { type: 'log', base: 2 }, title: 'batch size' } as const;
  const color = { field: 'method', type: 'nominal', scale: methodColorScale(methods), sort: methods } as const;
  return {
    $schema: SCHEMA,
    title: 'Decode speed-up over FP16 at the same batch',
    width: CHART_WIDTH,
    height: CHART_HEIGHT,
    layer: [
      { data: { values }, mark: { type: 'rule', strokeOpacity: 0.6, strokeWidth: 2 }, encoding: { x, y: { field: 'lo', type: 'quantitative' }, y2: { field: 'hi' }, color } },
      {
        data: { values },
        mark: { type: 'line', point: true, tooltip: true },
        encoding: {
          x,
          y: { field: 'speedup', type: 'quantitative', title: 'tokens/s ÷ FP16 tokens/s (median, range of repeats)' },
          color,
          strokeDash: { field: 'workload', type: 'nominal', legend: DASH_LEGEND },
          detail: { field: 'model', type: 'nominal' },
          tooltip: [
            { field: 'method', type: 'nominal' },
            { field: 'batch', type: 'quantitative' },
            { field: 'speedup', type: 'quantitative', format: '.3f' },
            { field: 'lo', type: 'quantitative', format: '.3f', title: 'lowest' },
            { field: 'hi', type: 'quantitative', format: '.3f', title: 'highest' },
            { field: 'repeats', type: 'quantitative' },
            { field: 'interleaved', type: 'nominal', title: 'methods interleaved' },
            { field: 'flag', type: 'nominal' },
          ],
        },
      },
      { data: { values }, transform: [{ filter: "datum.mark != ''" }], mark: { type: 'text', dx: 8, dy: -8, fontSize: 13, fontWeight: 'bold' }, encoding: { x, y: { field: 'speedup', type: 'quantitative' }, text: { field: 'mark' }, color } },
      fp16BaselineLayer(1, 'FP16 (1×)'),
      {
        data: { values: [{ y: PAPER_SERVING.throughputSpeedup, label: paperLabel }] },
        layer: [
          { mark: { type: 'rule', strokeDash: [4, 4], color: '#888' }, encoding: { y: { field: 'y', type: 'quantitative' } } },
          { mark: { type: 'text', align: 'left', dx: 4, dy: -6, x: 0, color: '#666', fontSize: 10 }, encoding: { y: { field: 'y', type: 'quantitative' }, text: { field: 'label' } } },
        ],
      },
    ],
  };
}

/**
 * Throughput at equal memory: cells run in memory-budget mode pick the largest batch that fits
 * the budget, so a smaller cache shows up as a larger batch and more tokens/s.
 */
export function throughputEqualMemoryChart(records: readonly CellResult[]): VegaLiteSpec | null {
  const cells = okRecords(records).filter((r) => workloadMode(r.cell) === 'memory-budget' && noisyValue(r, 'decodeTokensPerSecond') !== undefined);
  if (cells.length === 0) return null;
  const methods = methodOrder(cells);
  // The batch the budget allowed (the cell's batch is only where calibration started).
  const ran = (r: OkRecord) => (typeof r.metrics.batch === 'number' ? r.metrics.batch : r.cell.batch);
  const values = cells.map((r) => ({
    method: r.cell.method,
    budget: budgetLabel(r),
    batch: ran(r),
    batchLabel: `b${ran(r)}`,
    tps: noisyValue(r, 'decodeTokensPerSecond')!,
    model: modelLabel(r),
  }));
  const x = { field: 'method', type: 'nominal', sort: methods, axis: { labelAngle: -30 } } as const;
  const y = { field: 'tps', type: 'quantitative', title: 'decode tokens/s (median)' } as const;
  return {
    $schema: SCHEMA,
    title: 'Decode throughput at equal memory (batch chosen to fit the budget)',
    data: { values },
    facet: { column: { field: 'budget', type: 'nominal', title: 'memory budget' } },
    spec: {
      width: { step: 36 },
      height: CHART_HEIGHT,
      layer: [
        {
          mark: { type: 'bar', tooltip: true },
          encoding: {
            x,
            y,
            color: { field: 'method', type: 'nominal', scale: methodColorScale(methods), sort: methods, legend: null },
            tooltip: [
              { field: 'method', type: 'nominal' },
              { field: 'model', type: 'nominal' },
              { field: 'budget', type: 'nominal' },
              { field: 'batch', type: 'quantitative' },
              { field: 'tps', type: 'quantitative', format: ',.1f' },
            ],
          },
        },
        { mark: { type: 'text', dy: -6, fontSize: 10 }, encoding: { x, y, text: { field: 'batchLabel' } } },
      ],
    },
  };
}

function budgetLabel(r: OkRecord): string {
  const kv = r.metrics.kvBudgetBytes;
  if (typeof kv === 'number' && kv > 0) return `KV ${(kv / 2 ** 20).toFixed(1)} MiB`;
  const p = r.cell.workloadParams;
  const bytes = p.memoryBudgetBytes ?? p.budgetBytes;
  if (typeof bytes === 'number') return `${(bytes / 2 ** 30).toFixed(bytes >= 2 ** 30 ? 1 : 3)} GiB`;
  return typeof p.memoryBudget === 'string' ? p.memoryBudget : 'budget';
}
