import type { CellResult, OkRecord } from '../../results/record.js';
import { fp16Index, fp16PairKey, lowerIsBetter, relativeToFp16 } from '../cells.js';
import { mergeStrategyLabel, mergeStrategyOf, parseAblationLabel } from '../labels.js';
import type { VegaLiteSpec } from '../model.js';
import { okRecords } from './common.js';

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';

/** Mean over tasks of score ÷ FP16 score (same setup), or undefined without tasks or FP16. */
export function meanRelativeScore(r: OkRecord, fp16: Map<string, OkRecord>): number | undefined {
  const ref = fp16.get(fp16PairKey(r.cell));
  const ratios: number[] = [];
  for (const t of r.tasks ?? []) {
    const base = ref?.tasks?.find((x) => x.task === t.task)?.score;
    const rel = base === undefined ? undefined : relativeToFp16(t.score, base, t.metric);
    if (rel !== undefined) ratios.push(rel);
  }
  return ratios.length ? ratios.reduce((a, b) => a + b, 0) / ratios.length : undefined;
}

/**
 * What a relative-to-FP16 value is, for axis titles: relativeToFp16 inverts lower-is-better
 * metrics (perplexity: FP16 ÷ ours), so "score ÷ FP16" would describe them backwards.
 */
export function relativeLabel(metrics: readonly string[], mean = false): string {
  const all = [...new Set(metrics)];
  const lower = all.filter(lowerIsBetter);
  if (lower.length === 0) return mean ? 'mean score ÷ FP16' : 'score ÷ FP16 score';
  if (all.length === 1) return `FP16 ${lower[0]} ÷ ${lower[0]}`;
  return `${mean ? 'mean ' : ''}score relative to FP16 (${lower.join(', ')}: FP16 ÷ ours)`;
}

function meanTokenMatch(r: OkRecord): number | undefined {
  const xs = (r.tasks ?? []).map((t) => t.agreement?.tokenMatch).filter((x): x is number => typeof x === 'number');
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : undefined;
}

/** The method parameter an ablation's label names (S is startLayer). */
const PARAM_KEYS: Record<string, string> = { S: 'startLayer' };

/**
 * The main setting's value of an ablated parameter: the unlabelled cell's own parameter, or for a
 * default start layer (null) the shallower layer of its first merged pair.
 */
function mainValue(r: OkRecord, param: string): number | undefined {
  const v = (r.cell.methodParams as Record<string, unknown>)[PARAM_KEYS[param] ?? param];
  if (typeof v === 'number') return v;
  const pairs = r.diagnostics?.pairs;
  return param === 'S' && v == null && pairs?.length ? Math.min(...pairs.map((p) => p.pair[0])) : undefined;
}

/**
 * Ablation rows: one per (labelled cell, measure), and the main setting's (the unlabelled cell of
 * the same method and setup) on every parameter its method is ablated over, so each line passes
 * through the setting the other results use.
 */
export function ablationRows(records: readonly CellResult[]): Record<string, unknown>[] {
  const fp16 = fp16Index(records);
  const rows: Record<string, unknown>[] = [];
  const ok = okRecords(records);
  const key = (r: OkRecord) => `${r.cell.method}\u0000${fp16PairKey(r.cell)}`;
  const main = new Map(ok.filter((r) => !r.cell.label).map((r) => [key(r), r]));
  const points: { r: OkRecord; param: string; value: number; setting: string }[] = [];
  const seen = new Set<string>();
  for (const r of ok) {
    const point = parseAblationLabel(r.cell.label);
    if (!point) continue;
    points.push({ r, ...point, setting: 'ablation' });
    const m = main.get(key(r));
    const value = m && mainValue(m, point.param);
    if (m && value !== undefined && !seen.has(`${key(r)}\u0000${point.param}`)) {
      seen.add(`${key(r)}\u0000${point.param}`);
      points.push({ r: m, param: point.param, value, setting: 'main setting' });
    }
  }
  for (const { r, param, value, setting } of points) {
    const base = { param, value, setting, method: r.cell.method, workload: r.cell.workload, label: r.cell.label ?? 'main setting' };
    rows.push({ ...base, measure: 'compression ratio (×)', y: r.metrics.compressionRatio });
    const rel = meanRelativeScore(r, fp16);
    if (rel !== undefined) rows.push({ ...base, measure: relativeLabel((r.tasks ?? []).map((t) => t.metric), true), y: rel });
    const agree = meanTokenMatch(r);
    if (agree !== undefined) rows.push({ ...base, measure: 'token match with FP16', y: agree });
  }
  return rows;
}

/**
 * Ablations over t / γ / S (cells labelled `ablation:<param>=<value>`): each measure against each
 * parameter. Every measure is 1 for FP16 (compression ratio, score relative to FP16, token match),
 * so each panel's axis starts at 0 and shows FP16's 1: a change of 0.06% cannot look steep.
 */
export function ablationChart(records: readonly CellResult[]): VegaLiteSpec | null {
  const values = ablationRows(records);
  if (values.length === 0) return null;
  return {
    $schema: SCHEMA,
    title: 'Ablations (cells labelled ablation:<param>=<value>)',
    data: { values },
    facet: { row: { field: 'measure', type: 'nominal', title: null }, column: { field: 'param', type: 'nominal', title: 'parameter' } },
    resolve: { scale: { x: 'independent', y: 'independent' } },
    spec: {
      width: 220,
      height: 140,
      layer: [
        // FP16's 1, from the panel's own data (a datum layer makes Vega-Lite warn under independent facet scales).
        { transform: [{ calculate: '1', as: 'fp16' }], mark: { type: 'rule', strokeDash: [4, 4], color: '#888' }, encoding: { y: { field: 'fp16', type: 'quantitative' } } },
        {
          mark: { type: 'line', point: true, tooltip: true },
          encoding: {
            x: { field: 'value', type: 'quantitative', title: 'value', scale: { zero: false } },
            y: { aggregate: 'mean', field: 'y', type: 'quantitative', title: null, scale: { zero: true } },
            color: { field: 'method', type: 'nominal' },
            // The main setting's point (the unlabelled cell) stands apart from the ablation points.
            shape: { field: 'setting', type: 'nominal', title: null },
            detail: { field: 'workload', type: 'nominal' },
          },
        },
      ],
    },
  };
}

/** Merge strategy rows: per (strategy, task) score ÷ FP16, from merge:<strategy> cells or mean-merge / minicache. */
export function mergeStrategyRows(records: readonly CellResult[]): Record<string, unknown>[] {
  const fp16 = fp16Index(records);
  const labelled = records.some((r) => mergeStrategyLabel(r.cell.label) !== undefined);
  const rows: Record<string, unknown>[] = [];
  for (const r of okRecords(records)) {
    const strategy = mergeStrategyOf(r.cell, labelled);
    if (!strategy) continue;
    const ref = fp16.get(fp16PairKey(r.cell));
    for (const t of r.tasks ?? []) {
      const base = ref?.tasks?.find((x) => x.task === t.task)?.score;
      const relative = base === undefined ? undefined : relativeToFp16(t.score, base, t.metric);
      if (relative !== undefined) rows.push({ strategy, task: t.task, metric: t.metric, relative, method: r.cell.method, tokenMatch: t.agreement?.tokenMatch ?? null });
    }
  }
  return rows;
}

/** Mean merging vs SLERP merging: per-task score relative to FP16. */
export function mergeStrategyChart(records: readonly CellResult[]): VegaLiteSpec | null {
  const values = mergeStrategyRows(records);
  if (new Set(values.map((v) => v.strategy)).size === 0) return null;
  return {
    $schema: SCHEMA,
    title: `Merge strategy: mean vs SLERP (${relativeLabel(values.map((v) => String(v.metric)))} per task)`,
    data: { values },
    width: { step: 16 },
    height: 220,
    layer: [
      {
        mark: { type: 'bar', tooltip: true },
        encoding: {
          x: { field: 'task', type: 'nominal', axis: { labelAngle: -45 } },
          xOffset: { field: 'strategy', type: 'nominal' },
          y: { aggregate: 'mean', field: 'relative', type: 'quantitative', title: relativeLabel(values.map((v) => String(v.metric))), axis: { format: '.0%' } },
          color: { field: 'strategy', type: 'nominal', title: 'merge strategy' },
        },
      },
      { mark: { type: 'rule', strokeDash: [4, 4], color: '#888' }, encoding: { y: { datum: 1, type: 'quantitative' } } },
    ],
  };
}
