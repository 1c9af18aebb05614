import type { CellResult } from '../../results/record.js';
import type { VegaLiteSpec } from '../model.js';
import { PAPER_FIG1A } from '../paper-numbers.js';
import { CHART_HEIGHT, CHART_WIDTH, DASH_LEGEND, methodColorScale, methodOrder, okRecords, oursLabel } from './common.js';

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';

interface PairRow {
  method: string;
  model: string;
  pair: string;
  shallow: number;
  kv: 'keys' | 'values';
  cos: number;
  retained: number;
}

/** Series name of a similarity survey over all adjacent layers (the similarity workload), whatever the cell's method. */
export const SURVEY_SERIES = 'all adjacent pairs (exact cache)';

/**
 * Whether pairs overlap (a layer in two pairs): then they survey every adjacent pair of the exact
 * cache (Fig. 1a), rather than describe the pairs a method merged, and carry no retention.
 */
function isSurvey(pairs: readonly { pair: [number, number] }[]): boolean {
  const seen = new Set<number>();
  for (const p of pairs) {
    if (seen.has(p.pair[0]) || seen.has(p.pair[1])) return true;
    seen.add(p.pair[0]);
    seen.add(p.pair[1]);
  }
  return false;
}

/**
 * One row per (record, layer pair, K|V) from MiniCache-style diagnostics. Unlabelled cells only
 * (ablations vary the pairs). `merged: false` rows come from an all-pairs survey.
 */
export function pairRows(records: readonly CellResult[], opts: { mergedOnly?: boolean } = {}): PairRow[] {
  const rows: PairRow[] = [];
  for (const r of okRecords(records)) {
    if (r.cell.label) continue;
    const pairs = r.diagnostics?.pairs ?? [];
    const survey = isSurvey(pairs);
    if (survey && opts.mergedOnly) continue;
    for (const p of pairs) {
      const base = { method: survey ? SURVEY_SERIES : r.cell.method, model: r.cell.model, pair: `${p.pair[0]}–${p.pair[1]}`, shallow: p.pair[0] };
      rows.push({ ...base, kv: 'keys', cos: p.cosK, retained: p.retainedFracK });
      rows.push({ ...base, kv: 'values', cos: p.cosV, retained: p.retainedFracV });
    }
  }
  return rows;
}

function seriesOrder(records: readonly CellResult[], rows: PairRow[]): string[] {
  const methods = methodOrder(records).filter((m) => rows.some((r) => r.method === m));
  return rows.some((r) => r.method === SURVEY_SERIES) ? [SURVEY_SERIES, ...methods] : methods;
}

function pairSort(rows: PairRow[]): string[] {
  return [...new Map(rows.map((r) => [r.pair, r.shallow])).entries()].sort((a, b) => a[1] - b[1]).map(([p]) => p);
}

/** Mean cosine similarity of each merged layer pair's keys and values (over tokens, heads, sequences, cells). */
export function similarityChart(records: readonly CellResult[]): VegaLiteSpec | null {
  const rows = pairRows(records);
  if (rows.length === 0) return null;
  const methods = seriesOrder(records, rows);
  return {
    $schema: SCHEMA,
    // A survey (the similarity workload) covers every adjacent pair, not only the pairs a method merged.
    title: rows.some((r) => r.method === SURVEY_SERIES) ? 'Cross-layer similarity per adjacent layer pair' : 'Cross-layer similarity per merged layer pair',
    data: { values: rows },
    width: CHART_WIDTH,
    height: CHART_HEIGHT,
    mark: { type: 'line', point: true, tooltip: true },
    encoding: {
      x: { field: 'pair', type: 'ordinal', sort: pairSort(rows), title: 'layer pair' },
      y: { aggregate: 'mean', field: 'cos', type: 'quantitative', title: 'mean cosine similarity' },
      color: { field: 'method', type: 'nominal', title: 'series', scale: methodColorScale(methods), sort: methods },
      strokeDash: { field: 'kv', type: 'nominal', title: 'K / V' },
      shape: { field: 'kv', type: 'nominal', title: 'K / V' },
      detail: { field: 'model', type: 'nominal' },
    },
  };
}

/** Fraction of vectors kept unmerged (retained) per pair, keys and values side by side. */
export function retainedChart(records: readonly CellResult[]): VegaLiteSpec | null {
  const rows = pairRows(records, { mergedOnly: true });
  if (rows.length === 0) return null;
  const methods = methodOrder(records).filter((m) => rows.some((r) => r.method === m));
  return {
    $schema: SCHEMA,
    title: 'Retained (unmerged) fraction per layer pair',
    data: { values: rows },
    facet: { column: { field: 'kv', type: 'nominal', title: null } },
    spec: {
      width: { step: 16 },
      height: CHART_HEIGHT,
      mark: { type: 'bar', tooltip: true },
      encoding: {
        x: { field: 'pair', type: 'ordinal', sort: pairSort(rows), title: 'layer pair' },
        xOffset: { field: 'method', type: 'nominal', sort: methods },
        y: { aggregate: 'mean', field: 'retained', type: 'quantitative', title: 'retained fraction', axis: { format: '.1%' } },
        color: { field: 'method', type: 'nominal', scale: methodColorScale(methods), sort: methods },
      },
    },
  };
}

/**
 * Ours against the paper's Fig. 1a on a relative-depth axis (layer / layer count), since the
 * paper's model (LLaMA-3-70B, 80 layers) and ours differ in depth. Our layer count is inferred
 * from the deepest merged layer + 1 (pairs run to the last layer).
 */
export function similarityVsPaperChart(records: readonly CellResult[]): VegaLiteSpec | null {
  const rows = pairRows(records);
  if (rows.length === 0) return null;
  const layersByModel = new Map<string, number>();
  for (const r of okRecords(records)) {
    for (const p of r.diagnostics?.pairs ?? []) layersByModel.set(r.cell.model, Math.max(layersByModel.get(r.cell.model) ?? 0, p.pair[1] + 1));
  }
  const ours = oursLabel(records);
  const paper = `paper (${PAPER_FIG1A.model})`;
  const values: Record<string, unknown>[] = rows.map((r) => ({
    series: `${r.method}, ${r.kv}`,
    source: ours,
    depth: (r.shallow + 0.5) / layersByModel.get(r.model)!,
    cos: r.cos,
  }));
  for (const [dataset, points] of Object.entries(PAPER_FIG1A.series)) {
    for (const [half, cos] of points) values.push({ series: `${dataset} (paper)`, source: paper, depth: (2 * half) / PAPER_FIG1A.layers, cos });
  }
  return {
    $schema: SCHEMA,
    title: `Adjacent-layer similarity by relative depth: ours vs the paper's Fig. 1a (${PAPER_FIG1A.model})`,
    data: { values },
    width: CHART_WIDTH,
    height: CHART_HEIGHT,
    mark: { type: 'line', point: true, tooltip: true },
    encoding: {
      x: { field: 'depth', type: 'quantitative', title: 'relative depth (layer ÷ layer count)', scale: { domain: [0, 1] } },
      y: { aggregate: 'mean', field: 'cos', type: 'quantitative', title: 'cosine similarity' },
      color: { field: 'series', type: 'nominal', title: 'series', legend: { labelLimit: 400 } },
      strokeDash: { field: 'source', type: 'nominal', title: 'source', legend: DASH_LEGEND },
    },
  };
}
