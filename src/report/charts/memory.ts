import type { CellResult } from '../../results/record.js';
import { fp16Index, fp16PairKey, modelLabel, workloadMode } from '../cells.js';
import type { VegaLiteSpec } from '../model.js';
import { PAPER_SERVING } from '../paper-numbers.js';
import { CHART_HEIGHT, DASH_LEGEND, fp16BaselineLayer, methodColorScale, methodOrder, noisyValue, okRecords } from './common.js';

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';
const KV = 'KV cache bytes (held)';
const RSS = 'peak RSS (process)';

/**
 * KV bytes and peak process memory against batch, side by side: they are different things (a
 * cache restored in full each step saves storage, not peak memory), so both are shown.
 */
export function memoryVsBatchChart(records: readonly CellResult[]): VegaLiteSpec | null {
  const cells = okRecords(records).filter((r) => workloadMode(r.cell) !== 'memory-budget');
  const values: Record<string, unknown>[] = [];
  for (const r of cells) {
    const base = { method: r.cell.method, batch: r.cell.batch, workload: r.cell.workload, model: modelLabel(r), weights: r.metrics.modelWeightBytes ?? null };
    // Batch-1 accuracy workloads still hold a cache; only serving-style cells (with throughput) tell a batch story.
    if (r.metrics.decodeTokensPerSecond === undefined && !r.metrics.repeats?.decodeTokensPerSecond) continue;
    values.push({ ...base, measure: KV, bytes: r.metrics.kvBytes, mib: r.metrics.kvBytes / 2 ** 20 });
    const rss = noisyValue(r, 'peakRssBytes');
    if (rss !== undefined) values.push({ ...base, measure: RSS, bytes: rss, mib: rss / 2 ** 20 });
  }
  if (values.length === 0) return null;
  const methods = methodOrder(cells.filter((r) => values.some((v) => v.method === r.cell.method)));
  return {
    $schema: SCHEMA,
    title: 'Memory vs batch size',
    data: { values },
    facet: { column: { field: 'measure', type: 'nominal', title: null, sort: [KV, RSS] } },
    resolve: { scale: { y: 'independent' } },
    spec: {
      width: 300,
      height: CHART_HEIGHT,
      mark: { type: 'line', point: true, tooltip: true },
      encoding: {
        x: { field: 'batch', type: 'quantitative', scale: { type: 'log', base: 2 }, title: 'batch size' },
        // MiB, as the tables print bytes (an SI '~s' axis read 1G where the cells table says 936 MiB).
        y: { field: 'mib', type: 'quantitative', title: 'MiB (2²⁰ bytes)' },
        color: { field: 'method', type: 'nominal', scale: methodColorScale(methods), sort: methods },
        strokeDash: { field: 'workload', type: 'nominal', legend: DASH_LEGEND },
        detail: { field: 'model', type: 'nominal' },
        tooltip: [
          { field: 'method', type: 'nominal' },
          { field: 'measure', type: 'nominal' },
          { field: 'batch', type: 'quantitative' },
          { field: 'bytes', type: 'quantitative', format: ',' },
          { field: 'weights', type: 'quantitative', format: ',', title: 'model weight bytes' },
        ],
      },
    },
  };
}

/** 1 − ours / FP16 for KV bytes and peak RSS at each batch, with the paper's −41% memory as a reference. */
export function memorySavingChart(records: readonly CellResult[]): VegaLiteSpec | null {
  const fp16 = fp16Index(records);
  const values: Record<string, unknown>[] = [];
  for (const r of okRecords(records)) {
    if (workloadMode(r.cell) === 'memory-budget' || r.cell.method === 'fp16') continue;
    if (r.metrics.decodeTokensPerSecond === undefined && !r.metrics.repeats?.decodeTokensPerSecond) continue;
    const ref = fp16.get(fp16PairKey(r.cell));
    if (!ref) continue;
    const base = { method: r.cell.method, batch: r.cell.batch, workload: r.cell.workload };
    values.push({ ...base, measure: KV, saving: 1 - r.metrics.kvBytes / ref.metrics.kvBytes });
    const rss = noisyValue(r, 'peakRssBytes');
    const refRss = noisyValue(ref, 'peakRssBytes');
    if (rss !== undefined && refRss) values.push({ ...base, measure: RSS, saving: 1 - rss / refRss });
  }
  if (values.length === 0) return null;
  const methods = methodOrder(records).filter((m) => values.some((v) => v.method === m));
  const paper = `paper: −${PAPER_SERVING.memoryReduction * 100}% memory (4-bit MiniCache vs FP16, ${PAPER_SERVING.model}, ${PAPER_SERVING.setting})`;
  return {
    $schema: SCHEMA,
    title: 'Memory saved vs FP16 at the same batch',
    width: 420,
    height: CHART_HEIGHT,
    layer: [
      {
        data: { values },
        mark: { type: 'line', point: true, tooltip: true },
        encoding: {
          x: { field: 'batch', type: 'quantitative', scale: { type: 'log', base: 2 }, title: 'batch size' },
          y: { field: 'saving', type: 'quantitative', title: 'saved vs FP16', axis: { format: '.0%' } },
          color: { field: 'method', type: 'nominal', scale: methodColorScale(methods), sort: methods },
          strokeDash: { field: 'measure', type: 'nominal', title: 'measure', legend: DASH_LEGEND },
          detail: { field: 'workload', type: 'nominal' },
        },
      },
      fp16BaselineLayer(0, 'FP16 (0%)'),
      {
        data: { values: [{ y: PAPER_SERVING.memoryReduction, label: paper }] },
        layer: [
          { mark: { type: 'rule', strokeDash: [4, 4], color: '#888' }, encoding: { y: { field: 'y', type: 'quantitative' } } },
          { mark: { type: 'text', align: 'left', dx: 4, dy: -6, x: 0, color: '#666', fontSize: 10 }, encoding: { y: { field: 'y', type: 'quantitative' }, text: { field: 'label' } } },
        ],
      },
    ],
  };
}
