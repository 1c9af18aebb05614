import { bootstrapMedianCi } from '../measure/bootstrap.js';
import type { CellResult, Metrics, OkRecord } from '../results/record.js';
import { median } from './serving-metrics.js';
import type { WorkItem } from './work-plan.js';

/** Serving figures reported as the median over repeats (their per-repeat values are in metrics.repeats). */
const MEDIAN_OF_REPEATS = [
  'decodeTokensPerSecond',
  'prefillTokensPerSecond',
  'requestsPerSecond',
  'cacheOpMsPerStep',
  'modelMsPerStep',
  'outputTokensPerSecond',
  'totalTokensPerSecond',
] as const;

/** Median decode throughput over repeats with a seeded percentile-bootstrap 95% interval (undefined for one repeat). */
export function decodeTpsCi(perRepeat: readonly number[], seed: number): { lo: number; hi: number; confidence: number; n: number } | undefined {
  if (perRepeat.length < 2) return undefined;
  const ci = bootstrapMedianCi([...perRepeat], { seed: `decode-tps:${seed}`, resamples: 2000 });
  return { lo: ci.lo, hi: ci.hi, confidence: 0.95, n: ci.n };
}

/**
 * One record from the records of a cell's rounds (each one timed repeat, run interleaved with the
 * other methods of its group): what timedGeneration would have recorded for all repeats in one go.
 * - per-repeat figures (metrics.repeats) are concatenated in round order (repeat i of every
 *   method of the group ran in round i);
 * - serving medians and the decode CI are recomputed over them; latency distributions, tokens and
 *   diagnostics come from the round with the median decode throughput;
 * - peak RSS is kept per round (each round is its own process under --isolate) and reported as
 *   their median; device memory is the highest any round reached;
 * - bytes are deterministic and taken from the last round.
 */
export function combineRepeats(rounds: readonly OkRecord[]): OkRecord {
  if (rounds.length === 0) throw new Error('combineRepeats: no rounds');
  if (rounds.length === 1) return { ...rounds[0]!, metrics: { ...rounds[0]!.metrics, interleavedRounds: 1 } };
  const repeats: Record<string, number[]> = {};
  for (const r of rounds) {
    for (const [k, v] of Object.entries(r.metrics.repeats ?? {})) repeats[k] = [...(repeats[k] ?? []), ...v];
  }
  const tps = repeats.decodeTokensPerSecond ?? rounds.map((r) => r.metrics.decodeTokensPerSecond ?? NaN);
  const order = rounds.map((r, i) => [r.metrics.decodeTokensPerSecond ?? 0, i] as const).sort((a, b) => a[0] - b[0]);
  const mid = rounds[order[(order.length - 1) >> 1]![1]]!;
  const last = rounds[rounds.length - 1]!;
  const metrics: Metrics = { ...mid.metrics, ...bytesOf(last.metrics), repeats, interleavedRounds: rounds.length };
  for (const k of MEDIAN_OF_REPEATS) {
    const xs = rounds.map((r) => r.metrics[k]).filter((x): x is number => typeof x === 'number');
    if (xs.length === rounds.length) metrics[k] = median(xs);
  }
  const ci = decodeTpsCi(tps, mid.cell.seed);
  if (ci) metrics.decodeTokensPerSecondCi = ci;
  else delete metrics.decodeTokensPerSecondCi;
  // Peak RSS of each round (its own process under --isolate): kept per repeat like the timings,
  // the median reported, so the report can draw its spread. Device memory: the highest seen.
  const rss = rounds.map((r) => r.metrics.peakRssBytes).filter((x): x is number => typeof x === 'number');
  if (rss.length === rounds.length) {
    repeats.peakRssBytes = rss;
    metrics.peakRssBytes = median(rss);
  }
  const device = rounds.map((r) => r.metrics.deviceMemoryBytes).filter((x): x is number => typeof x === 'number');
  if (device.length) metrics.deviceMemoryBytes = Math.max(...device);
  return {
    ...mid,
    startedAt: rounds[0]!.startedAt,
    durationMs: rounds.reduce((a, r) => a + r.durationMs, 0),
    metrics,
  };
}

/** The deterministic byte accounting of a record (identical in every round). */
function bytesOf(m: Metrics): Partial<Metrics> {
  const keys = ['kvBytes', 'kvBytesBaseline', 'compressionRatio', 'seqLen', 'kvBytesByComponent', 'kvBytesPackedEquivalent', 'kvBytesHeldByComponent', 'generatedTokens', 'batch', 'batchChosen'];
  return Object.fromEntries(keys.filter((k) => m[k] !== undefined).map((k) => [k, m[k]]));
}

/**
 * The rounds of interleaved cells: each round's record waits here until the cell's last round,
 * then the cell's one record is their combination. A failed round ends its cell (errored), and
 * its later rounds are not run.
 */
export class Rounds {
  private readonly pending = new Map<string, OkRecord[]>();
  private readonly failed = new Set<string>();

  /** A later round of a cell whose earlier round failed. */
  skip(item: WorkItem<{ id: string }>): boolean {
    return item.round !== undefined && this.failed.has(item.cell.id);
  }

  /** The record to keep for this item's outcome, or undefined while its cell still has rounds to run. */
  add(item: WorkItem<{ id: string }>, record: CellResult): CellResult | undefined {
    if (!item.round) return record;
    const id = item.cell.id;
    if (record.status !== 'ok') {
      this.failed.add(id);
      this.pending.delete(id);
      return record.status === 'errored' ? { ...record, error: { ...record.error, message: `round ${item.round.index + 1} of ${item.round.of}: ${record.error.message}` } } : record;
    }
    const list = [...(this.pending.get(id) ?? []), record];
    if (item.round.index < item.round.of - 1) {
      this.pending.set(id, list);
      return undefined;
    }
    this.pending.delete(id);
    return combineRepeats(list);
  }
}
