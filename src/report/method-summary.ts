import type { CellResult, OkRecord } from '../results/record.js';
import { representativeByMethod } from './charts/compression.js';
import { methodOrder, noisyValue, okRecords } from './charts/common.js';
import { atFloor, deltaBetter, fp16Index, fp16PairKey, lowerIsBetter, relativeToFp16, workloadMode } from './cells.js';
import { ratioFlag, ratioSpread, repeatSpread, type NoiseFlag, type Spread } from './noise.js';

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
  /** The speed-up (ratio of medians) with its range over the repeats, and its flag. */
  speedup?: Spread;
  speedupFlag?: NoiseFlag;
  /** Decode tokens/s over the repeats. */
  decode?: Spread;
  /** 1 − peak RSS ÷ FP16 peak RSS at that batch. */
  memorySavingVsFp16?: number;
  /** Both peak RSS values of that comparison come from cells run alone in their own process (--isolate). */
  rssIsolated?: boolean;
  kvSavingVsFp16?: number;
  /**
   * Mean over higher-is-better tasks of the paired difference to FP16 (score points, + = better),
   * and the worst task; tasks FP16 itself cannot do (atFloor) are left out and counted.
   */
  meanTaskDelta?: number;
  worstTask?: { task: string; mean: number; lo: number; hi: number };
  floorTasks: number;
  /** Perplexity through the cache against FP16's: FP16 ÷ ours (higher is better, 1 = as FP16). */
  perplexityVsFp16?: number;
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
      floorTasks: 0,
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
      s.decode = repeatSpread(top, 'decodeTokensPerSecond');
      if (ref && refTps) {
        s.speedup = ratioSpread(top, ref, 'decodeTokensPerSecond');
        s.speedupVsFp16 = s.speedup?.value ?? s.decodeTps! / refTps;
        if (s.speedup) s.speedupFlag = ratioFlag(s.speedup);
      }
      const rss = noisyValue(top, 'peakRssBytes');
      const refRss = ref && noisyValue(ref, 'peakRssBytes');
      if (rss !== undefined && refRss) {
        s.memorySavingVsFp16 = 1 - rss / refRss;
        s.rssIsolated = Boolean(top.provenance?.isolated && ref!.provenance?.isolated);
      }
      if (ref) s.kvSavingVsFp16 = 1 - top.metrics.kvBytes / ref.metrics.kvBytes;
    }
    const deltas: { task: string; mean: number; lo: number; hi: number }[] = [];
    const floor = new Set<string>();
    for (const r of ok.filter((x) => x.cell.method === method)) {
      const ref = fp16.get(fp16PairKey(r.cell));
      for (const t of r.tasks ?? []) {
        const base = ref?.tasks?.find((x) => x.task === t.task)?.score;
        if (lowerIsBetter(t.metric)) {
          if (t.task === 'perplexity' && base !== undefined && method !== 'fp16') s.perplexityVsFp16 = relativeToFp16(t.score, base, t.metric);
          continue;
        }
        if (atFloor(base, t.metric)) floor.add(t.task);
        else if (deltaBetter(t)) deltas.push({ task: t.task, ...deltaBetter(t)! });
      }
    }
    s.floorTasks = method === 'fp16' ? 0 : floor.size;
    s.tasks = new Set(ok.filter((r) => r.cell.method === method).flatMap((r) => (r.tasks ?? []).map((t) => t.task))).size;
    if (deltas.length) {
      s.meanTaskDelta = deltas.reduce((a, d) => a + d.mean, 0) / deltas.length;
      s.worstTask = deltas.reduce((w, d) => (d.mean < w.mean ? d : w));
    }
    return s;
  });
}
