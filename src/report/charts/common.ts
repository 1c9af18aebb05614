import type { CellResult, OkRecord } from '../../results/record.js';
import { median } from '../../gate/metric-catalog.js';
import { isOk, modelLabel } from '../cells.js';

/** Methods in a stable, meaningful order: the baseline first, then quantizers, then merging. */
const CANONICAL_ORDER = ['fp16', 'rtn', 'kivi2', 'kivi4', 'mean-merge', 'minicache', 'minicache+kivi4'];

export function methodOrder(records: readonly CellResult[]): string[] {
  const present = [...new Set(records.map((r) => r.cell.method))];
  const rank = (m: string) => {
    const i = CANONICAL_ORDER.indexOf(m);
    return i < 0 ? CANONICAL_ORDER.length : i;
  };
  return present.sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
}

const PALETTE = ['#4c4c4c', '#e45756', '#f58518', '#eeca3b', '#b279a2', '#4c78a8', '#54a24b', '#72b7b2', '#9d755d', '#ff9da6'];

/**
 * One color per method, the same in every chart and every report: known methods by their place in
 * the canonical order, others by a hash of the name. (Colors by position among the methods a chart
 * shows would repaint a method whenever a chart lacks another one.)
 */
export function methodColor(method: string): string {
  const i = CANONICAL_ORDER.indexOf(method);
  if (i >= 0) return PALETTE[i % PALETTE.length]!;
  let h = 0;
  for (const ch of method) h = (Math.imul(h, 31) + ch.charCodeAt(0)) >>> 0;
  return PALETTE[(CANONICAL_ORDER.length + (h % (PALETTE.length - CANONICAL_ORDER.length))) % PALETTE.length]!;
}

export function methodColorScale(methods: readonly string[]): { domain: string[]; range: string[] } {
  return { domain: [...methods], range: methods.map(methodColor) };
}

export function okRecords(records: readonly CellResult[]): OkRecord[] {
  return records.filter(isOk);
}

/** Noisy metric of a record: median over its repeats where recorded, else the single value. */
export function noisyValue(r: OkRecord, name: 'decodeTokensPerSecond' | 'peakRssBytes' | 'prefillTokensPerSecond'): number | undefined {
  const reps = r.metrics.repeats?.[name];
  if (reps && reps.length) return median(reps);
  const v = r.metrics[name];
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

export function repeatRange(r: OkRecord, name: string): { lo: number; hi: number } | undefined {
  const reps = r.metrics.repeats?.[name];
  if (!reps || reps.length < 2) return undefined;
  return { lo: Math.min(...reps), hi: Math.max(...reps) };
}

/** "ours (model-a, model-b)": every chart that shows paper numbers labels ours with our models. */
export function oursLabel(records: readonly CellResult[]): string {
  const models = [...new Set(records.map((r) => modelLabel(r)))].sort();
  return `ours (${models.join(', ')})`;
}

/**
 * Legend for a strokeDash channel on lines drawn with points: as line segments that show the dash.
 * Left alone, Vega-Lite draws filled circles with the dash pattern on an absent stroke, so every
 * entry looks the same and the reader cannot tell which line is which.
 */
export const DASH_LEGEND = {
  symbolType: 'stroke',
  // Both colors are needed: with a stroke color alone the point marks' fill wins and no stroke is drawn.
  symbolStrokeColor: '#333',
  symbolFillColor: 'transparent',
  symbolStrokeWidth: 2,
  symbolSize: 300,
  labelLimit: 400,
} as const;

/**
 * The FP16 baseline as a labelled reference line on a chart relative to FP16 (1× speed-up, 0% saved):
 * FP16 itself has no series there, since its ratio to itself is the constant.
 */
export function fp16BaselineLayer(y: number, label: string) {
  const yEnc = { field: 'y', type: 'quantitative' } as const;
  return {
    data: { values: [{ y, label }] },
    layer: [
      { mark: { type: 'rule' as const, color: '#4c4c4c', strokeWidth: 1.5 }, encoding: { y: yEnc } },
      { mark: { type: 'text' as const, align: 'right' as const, dx: -4, dy: -6, x: 'width' as const, color: '#4c4c4c', fontSize: 10 }, encoding: { y: yEnc, text: { field: 'label' } } },
    ],
  };
}

export const CHART_WIDTH = 420;
export const CHART_HEIGHT = 240;
