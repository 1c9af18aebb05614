import type { CellResult } from '../../results/record.js';
import { atFloor, BEYOND_MODEL, fp16Index, fp16PairKey } from '../cells.js';
import { okRecords } from '../charts/common.js';
import { fmtNumber } from '../markdown.js';
import type { TableBlock } from '../model.js';
import {
  DEFAULT_PAPER_MODEL,
  PAPER_FIG1B,
  PAPER_LONGBENCH_TASKS,
  PAPER_METHOD_NAMES,
  paperLongBench,
  paperLongBenchAverage,
} from '../paper-numbers.js';

/** A change as a signed percentage: −62.7% for a saving, +0.902% for a growth. */
export function signedPercent(change: number): string {
  const v = fmtNumber(Math.abs(change) * 100);
  return `${change < 0 ? '−' : '+'}${v}%`;
}

/**
 * Table 1 (LongBench): per method and task, our score and the paper's score for `paperModel`,
 * each also as a fraction of its own FP16 baseline (the comparable quantity across models).
 */
export function longBenchComparisonTable(records: readonly CellResult[], paperModel = DEFAULT_PAPER_MODEL): TableBlock | null {
  const fp16 = fp16Index(records);
  const paper = paperLongBench(paperModel);
  const rows: (string | number | null)[][] = [];
  const tasks = Object.keys(PAPER_LONGBENCH_TASKS);
  for (const r of okRecords(records)) {
    if (r.cell.label || !r.tasks?.some((t) => tasks.includes(t.task))) continue;
    const paperMethod = PAPER_METHOD_NAMES[r.cell.method];
    const ref = fp16.get(fp16PairKey(r.cell));
    for (const task of tasks) {
      const t = r.tasks.find((x) => x.task === task);
      if (!t) continue;
      const refScore = ref?.tasks?.find((x) => x.task === task)?.score;
      const p = paperMethod ? paper.find((x) => x.paperMethod === paperMethod && x.task === task)?.score : undefined;
      const pBase = paper.find((x) => x.paperMethod === 'Baseline' && x.task === task)?.score;
      rows.push([
        r.cell.method,
        PAPER_LONGBENCH_TASKS[task]!,
        fmtNumber(t.score, 4),
        atFloor(refScore, t.metric) ? BEYOND_MODEL : refScore ? `${fmtNumber((100 * t.score) / refScore)}%` : null,
        p === undefined ? null : fmtNumber(p, 4),
        p !== undefined && pBase ? `${fmtNumber((100 * p) / pBase)}%` : null,
      ]);
    }
    if (paperMethod) rows.push([r.cell.method, 'Average (paper\'s printed)', null, null, fmtNumber(paperLongBenchAverage(paperModel, paperMethod), 4), null]);
  }
  if (rows.length === 0) return null;
  return {
    kind: 'table',
    id: 'table1-longbench',
    title: `Table 1 (LongBench): ours vs the paper (${paperModel})`,
    caption: 'The paper\'s "MiniCache" rows are 4-bit MiniCache (our minicache+kivi4). Its printed Average is not the mean of the seven columns shown (see the spec §4.1).',
    columns: [
      { header: 'method' },
      { header: 'task' },
      { header: `ours (${[...new Set(records.map((r) => r.cell.model))].join(', ')})`, numeric: true },
      { header: 'ours ÷ FP16', numeric: true },
      { header: `paper (${paperModel})`, numeric: true },
      { header: 'paper ÷ its baseline', numeric: true },
    ],
    rows,
  };
}

/** Fig. 1b digitised (mean merging vs SLERP by layers merged), for the merge-strategy section. */
export function paperFig1bTable(): TableBlock {
  return {
    kind: 'table',
    id: 'paper-fig1b',
    title: `Paper Fig. 1b (${PAPER_FIG1B.model}, ${PAPER_FIG1B.task}; baseline ${PAPER_FIG1B.baseline}), digitised`,
    columns: [{ header: 'layers merged', numeric: true }, { header: 'SLERP (MiniCache)', numeric: true }, { header: 'mean merging', numeric: true }],
    rows: PAPER_FIG1B.layersMerged.map((n, i) => [n, PAPER_FIG1B.slerp[i]!, PAPER_FIG1B.mean[i]!]),
  };
}
