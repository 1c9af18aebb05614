import { canonicalJson } from '../results/canonical-json.js';
import type { OkRecord } from '../results/record.js';

/**
 * The metrics rules (and merge's conflict check) can name, with how each one is compared:
 * deterministic metrics (bytes, ratios, tokens on a fixed seed) are compared as they are, exactly;
 * noisy ones (timings, throughput, RSS) by the median over `metrics.repeats[name]` when repeats
 * were recorded.
 */
export type MetricNature = 'deterministic' | 'noisy';

/** One value a metric yields for a record: `subject` is '' for cell metrics or the task name. */
export interface Measurement {
  subject: string;
  /** A number, or a canonical JSON string for metrics that can only be compared for equality. */
  value: number | string;
}

export interface MetricDef {
  name: string;
  nature: MetricNature;
  scope: 'cell' | 'task';
  higherIsBetter: boolean;
  /** Equality-only metrics (token sequences) cannot take min/max. */
  equalityOnly?: boolean;
  description: string;
  measure(record: OkRecord): Measurement[];
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function cellMetric(name: string, nature: MetricNature, higherIsBetter: boolean, description: string): MetricDef {
  const path = name.split('.');
  return {
    name,
    nature,
    scope: 'cell',
    higherIsBetter,
    description,
    measure(record) {
      const repeats = record.metrics.repeats?.[name];
      if (nature === 'noisy' && repeats && repeats.length > 0) return [{ subject: '', value: median(repeats) }];
      let v: unknown = record.metrics;
      for (const key of path) v = typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[key] : undefined;
      return typeof v === 'number' && Number.isFinite(v) ? [{ subject: '', value: v }] : [];
    },
  };
}

function taskMetric(name: string, higherIsBetter: boolean, description: string, pick: (t: NonNullable<OkRecord['tasks']>[number]) => number | undefined): MetricDef {
  return {
    name,
    nature: 'deterministic',
    scope: 'task',
    higherIsBetter,
    description,
    measure(record) {
      const out: Measurement[] = [];
      for (const t of record.tasks ?? []) {
        const v = pick(t);
        if (typeof v === 'number' && Number.isFinite(v)) out.push({ subject: t.task, value: v });
      }
      return out;
    },
  };
}

const defs: MetricDef[] = [
  cellMetric('kvBytes', 'deterministic', false, 'KV bytes held (peak), every component counted'),
  cellMetric('kvBytesBaseline', 'deterministic', false, 'FP16 bytes for the same tokens'),
  cellMetric('compressionRatio', 'deterministic', true, 'kvBytesBaseline / kvBytes'),
  cellMetric('seqLen', 'deterministic', true, 'token slots per sequence at which bytes were measured'),
  cellMetric('modelWeightBytes', 'deterministic', false, 'model weight bytes'),
  cellMetric('decodeTokensPerSecond', 'noisy', true, 'decode throughput, tokens/s'),
  cellMetric('prefillTokensPerSecond', 'noisy', true, 'prefill throughput, tokens/s'),
  cellMetric('requestsPerSecond', 'noisy', true, 'request throughput'),
  cellMetric('ttftMs', 'noisy', false, 'time to first token, ms'),
  cellMetric('tpotMs', 'noisy', false, 'time per output token, ms'),
  cellMetric('cacheOpMsPerStep', 'noisy', false, 'cache restore+append per decode step, ms'),
  cellMetric('modelMsPerStep', 'noisy', false, 'model time per decode step, ms'),
  cellMetric('peakRssBytes', 'noisy', false, 'peak resident set size, bytes'),
  ...['ttft', 'tpot', 'itl', 'e2e'].flatMap((s) =>
    ['mean', 'median', 'p90', 'p99'].map((q) => cellMetric(`${s}.${q}`, 'noisy', false, `${s.toUpperCase()} ${q}, ms`)),
  ),
  taskMetric('taskScore', true, 'task score (per task)', (t) => t.score),
  taskMetric('taskDeltaVsFp16', true, 'paired mean difference to FP16 (per task)', (t) => t.deltaVsFp16?.mean),
  taskMetric('taskDeltaVsFp16Lo', true, 'lower bound of the CI of the difference to FP16 (per task)', (t) => t.deltaVsFp16?.lo),
  taskMetric('taskTokenMatch', true, 'token agreement with FP16 (per task)', (t) => t.agreement?.tokenMatch),
  {
    name: 'sampleTokens',
    nature: 'deterministic',
    scope: 'cell',
    higherIsBetter: true,
    equalityOnly: true,
    description: 'generated tokens of the first sequences (fixed seed): equal or not',
    measure: (r) => (r.sampleTokens ? [{ subject: '', value: canonicalJson(r.sampleTokens) }] : []),
  },
];

const byName = new Map(defs.map((d) => [d.name, d]));

export function metricDef(name: string): MetricDef | undefined {
  return byName.get(name);
}

export function metricNames(): string[] {
  return defs.map((d) => d.name);
}

/** Cell-level deterministic metrics: two ok records of one cell must agree on all of them. */
export function deterministicCellMetrics(): MetricDef[] {
  return defs.filter((d) => d.nature === 'deterministic' && d.scope === 'cell');
}

export { median };
