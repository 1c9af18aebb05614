import type { CellResult, OkRecord } from '../results/record.js';
import { representativeByMethod } from './charts/compression.js';
import { methodOrder, noisyValue, okRecords } from './charts/common.js';
import { fp16Index, fp16PairKey, workloadMode } from './cells.js';

/** The headline numbers of one method, shared by the summary table, summary.md and the paper comparison. */
export interface MethodSummary {
  method: string;
  compressionRatio?: number;
  seqLen?: number;
  kvBytes?: number;
  /** Decode tokens/s (median of repeats) at the largest fixed batch this method ran. */
  decodeTps?: number;
  atBatch?: number;
  speedupVsFp16?: number;
  /** 1 − peak RSS ÷ FP16 peak RSS at that batch. */
  memorySavingVsFp16?: number;
  /** Both peak RSS values of that comparison come from cells run alone in their own process (--isolate). */
  rssIsolated?: boolean;
  kvSavingVsFp16?: number;
  /** Mean over tasks of the paired difference to FP16 (score points), and the worst task. */
  meanTaskDelta?: number;
  worstTask?: { task: string; mean: number; lo: number; hi: number };
  tasks: number;
  cells: number;
  errored: number;
  skipped: number;
}

export function methodSummaries(records: readonly CellResult[]): MethodSummary[] {
  const reps = representativeByMethod(records);
  const fp16 = fp16Index(records);
  const ok = okRecords(records).filter((r) => !r.cell.label);
  return methodOrder(records).map((method) => {
    const mine = records.filter((r) => r.cell.method === method);
    const s: MethodSummary = {
      method,
      tasks: 0,
      cells: mine.length,
      errored: mine.filter((r) => r.status === 'errored').length,
      skipped: mine.filter((r) => r.status === 'skipped').length,
    };
    const rep = reps.get(method);
    if (rep) Object.assign(s, { compressionRatio: rep.metrics.compressionRatio, seqLen: rep.metrics.seqLen, kvBytes: rep.metrics.kvBytes });
    const isServing = (r: OkRecord) => r.cell.method === method && workloadMode(r.cell) !== 'memory-budget' && noisyValue(r, 'decodeTokensPerSecond') !== undefined;
    // Unlabelled cells are the headline; a run whose serving cells all carry labels (the H200
    // suites) still gets its throughput row.
    const unlabelled = ok.filter(isServing);
    const serving = (unlabelled.length > 0 ? unlabelled : okRecords(records).filter(isServing)).sort((a, b) => b.cell.batch - a.cell.batch || (a.cellId < b.cellId ? -1 : 1));
    const top = serving[0];
    if (top) {
      s.decodeTps = noisyValue(top, 'decodeTokensPerSecond');
      s.atBatch = top.cell.batch;
      const ref = fp16.get(fp16PairKey(top.cell));
      const refTps = ref && noisyValue(ref, 'decodeTokensPerSecond');
      if (ref && refTps) s.speedupVsFp16 = s.decodeTps! / refTps;
      const rss = noisyValue(top, 'peakRssBytes');
      const refRss = ref && noisyValue(ref, 'peakRssBytes');
      if (rss !== undefined && refRss) {
        s.memorySavingVsFp16 = 1 - rss / refRss;
        s.rssIsolated = Boolean(top.provenance?.isolated && ref!.provenance?.isolated);
      }
      if (ref) s.kvSavingVsFp16 = 1 - top.metrics.kvBytes / ref.metrics.kvBytes;
    }
    const deltas = ok.filter((r) => r.cell.method === method).flatMap((r) => (r.tasks ?? []).filter((t) => t.deltaVsFp16).map((t) => ({ task: t.task, ...t.deltaVsFp16! })));
    s.tasks = new Set(ok.filter((r) => r.cell.method === method).flatMap((r) => (r.tasks ?? []).map((t) => t.task))).size;
    if (deltas.length) {
      s.meanTaskDelta = deltas.reduce((a, d) => a + d.mean, 0) / deltas.length;
      s.worstTask = deltas.reduce((w, d) => (d.mean < w.mean ? d : w));
    }
    return s;
  });
}
