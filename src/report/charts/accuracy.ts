import type { CellResult } from '../../results/record.js';
import { atFloor, deltaBetter, fp16Index, fp16PairKey, lowerIsBetter, relativeToFp16 } from '../cells.js';
import type { VegaLiteSpec } from '../model.js';
import { DEFAULT_PAPER_MODEL, PAPER_LONGBENCH_TASKS, PAPER_METHOD_NAMES, paperLongBench } from '../paper-numbers.js';
import { methodColorScale, methodOrder, okRecords, oursLabel } from './common.js';

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';

/**
 * Per-task paired difference to FP16 (mean and CI from TaskScore.deltaVsFp16), one row per task,
 * oriented so that right of 0 is better for every metric (perplexity: FP16 − ours), one panel per
 * metric (their units differ). Tasks FP16 itself scores at the floor on are left out: a difference
 * there says nothing about the cache (the accuracy table lists them as beyond the model).
 */
export function accuracyDeltaChart(records: readonly CellResult[]): VegaLiteSpec | null {
  const fp16 = fp16Index(records);
  const values: Record<string, unknown>[] = [];
  for (const r of okRecords(records)) {
    if (r.cell.method === 'fp16' || r.cell.label) continue;
    const ref = fp16.get(fp16PairKey(r.cell));
    for (const t of r.tasks ?? []) {
      const d = deltaBetter(t);
      if (!d || atFloor(ref?.tasks?.find((x) => x.task === t.task)?.score, t.metric)) continue;
      const panel = `${t.metric}: ${lowerIsBetter(t.metric) ? 'FP16 − ours' : 'ours − FP16'} (+ = better)`;
      values.push({ method: r.cell.method, task: t.task, metric: t.metric, panel, n: t.n, mean: d.mean, lo: d.lo, hi: d.hi, model: r.cell.model, zero: 0 });
    }
  }
  if (values.length === 0) return null;
  const methods = methodOrder(records).filter((m) => values.some((v) => v.method === m));
  const y = { field: 'task', type: 'nominal', title: 'task' } as const;
  const yOffset = { field: 'method', type: 'nominal', sort: methods } as const;
  const color = { field: 'method', type: 'nominal', scale: methodColorScale(methods), sort: methods } as const;
  const layer = [
    { mark: { type: 'rule', color: '#888' }, encoding: { x: { field: 'zero', type: 'quantitative' } } },
    { mark: { type: 'rule' }, encoding: { y, yOffset, x: { field: 'lo', type: 'quantitative' }, x2: { field: 'hi' }, color } },
    {
      mark: { type: 'point', filled: true, tooltip: true },
      encoding: {
        y,
        yOffset,
        x: { field: 'mean', type: 'quantitative', title: 'difference to FP16 on the same items (+ = better)' },
        color,
        tooltip: [
          { field: 'method', type: 'nominal' },
          { field: 'task', type: 'nominal' },
          { field: 'metric', type: 'nominal' },
          { field: 'n', type: 'quantitative' },
          { field: 'mean', type: 'quantitative', format: '.4f' },
          { field: 'lo', type: 'quantitative', format: '.4f' },
          { field: 'hi', type: 'quantitative', format: '.4f' },
        ],
      },
    },
  ];
  // One panel per metric, each with its own axes (a facet with independent band scales makes Vega-Lite warn).
  const panels = [...new Set(values.map((v) => String(v.panel)))];
  return {
    $schema: SCHEMA,
    title: 'Accuracy vs FP16 per task (paired difference, 95% CI; right of 0 is better)',
    data: { values },
    vconcat: panels.map((panel) => ({ title: panel, transform: [{ filter: { field: 'panel', equal: panel } }], width: 420, height: { step: 12 }, layer })),
  } as VegaLiteSpec;
}

/** Rows of "score as % of FP16" per (method, task): ours from the run, the paper's from its LongBench table. */
export function relativeScoreRows(records: readonly CellResult[], paperModel = DEFAULT_PAPER_MODEL): Record<string, unknown>[] {
  const fp16 = fp16Index(records);
  const ours = oursLabel(records);
  const rows: Record<string, unknown>[] = [];
  const methodsWithTasks = new Set<string>();
  const tasks = new Set<string>();
  for (const r of okRecords(records)) {
    if (r.cell.label) continue;
    const ref = fp16.get(fp16PairKey(r.cell));
    for (const t of r.tasks ?? []) {
      const refScore = ref?.tasks?.find((x) => x.task === t.task)?.score;
      const relative = refScore === undefined ? undefined : relativeToFp16(t.score, refScore, t.metric);
      if (relative === undefined) continue;
      rows.push({ method: r.cell.method, task: t.task, relative, source: ours });
      methodsWithTasks.add(r.cell.method);
      tasks.add(t.task);
    }
  }
  const paper = paperLongBench(paperModel);
  for (const [method, paperMethod] of Object.entries(PAPER_METHOD_NAMES)) {
    if (!methodsWithTasks.has(method)) continue;
    for (const p of paper.filter((x) => x.paperMethod === paperMethod && tasks.has(x.task))) {
      const base = paper.find((x) => x.paperMethod === 'Baseline' && x.task === p.task)?.score;
      if (base) rows.push({ method, task: p.task, relative: p.score / base, source: `paper (${paperModel}, ${paperMethod})` });
    }
  }
  return rows;
}

/** Score as a fraction of FP16 per task, ours beside the paper's LongBench numbers (relative, so models compare). */
export function accuracyVsPaperChart(records: readonly CellResult[], paperModel = DEFAULT_PAPER_MODEL): VegaLiteSpec | null {
  const rows = relativeScoreRows(records, paperModel);
  if (!rows.some((r) => String(r.source).startsWith('paper')) || !rows.some((r) => r.method !== 'fp16')) return null;
  // Only methods the paper reports: the chart is the comparison; the delta chart shows every method.
  const values = rows.filter((r) => r.method !== 'fp16' && PAPER_METHOD_NAMES[r.method as string]).map((r) => ({ ...r, sourceKind: String(r.source).startsWith('paper') ? `paper (${paperModel})` : 'ours' }));
  if (!values.some((v) => v.sourceKind === 'ours') || !values.some((v) => v.sourceKind !== 'ours')) return null;
  const taskOrder = Object.keys(PAPER_LONGBENCH_TASKS);
  return {
    $schema: SCHEMA,
    title: `Score as a fraction of FP16: ours vs the paper (${paperModel})`,
    data: { values },
    facet: { column: { field: 'method', type: 'nominal', title: 'method' } },
    spec: {
      width: { step: 14 },
      height: 220,
      layer: [
        {
          mark: { type: 'bar', tooltip: true },
          encoding: {
            x: { field: 'task', type: 'nominal', sort: taskOrder, axis: { labelAngle: -45 } },
            xOffset: { field: 'sourceKind', type: 'nominal' },
            y: { field: 'relative', type: 'quantitative', title: 'score ÷ FP16 score', axis: { format: '.0%' } },
            color: { field: 'sourceKind', type: 'nominal', title: 'source', scale: { range: ['#4c78a8', '#bab0ac'] }, legend: { labelLimit: 400 } },
            tooltip: [
              { field: 'method', type: 'nominal' },
              { field: 'task', type: 'nominal' },
              { field: 'source', type: 'nominal' },
              { field: 'relative', type: 'quantitative', format: '.1%' },
            ],
          },
        },
        { mark: { type: 'rule', strokeDash: [4, 4], color: '#888' }, encoding: { y: { datum: 1, type: 'quantitative' } } },
      ],
    },
  };
}
