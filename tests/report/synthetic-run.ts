/**
 * Realistic synthetic results for report, gate and shard tests: seven methods on a ShareGPT-style
 * serving workload (batch 1..128, fixed-batch and memory-budget modes) and on embedded LongBench
 * tasks (per-item scores, paired deltas vs FP16), MiniCache diagnostics per layer pair, ablation
 * cells. Values follow the shapes real runs produce (bytes from the accounting formulas), but are
 * made up; tweak() plants regressions.
 */
import { cellId } from '../../src/results/cell-id.js';
import { SCHEMA_VERSION, type CellResult, type CellSpec, type OkRecord, type Provenance, type TaskScore } from '../../src/results/record.js';

export const METHODS = ['fp16', 'kivi2', 'kivi4', 'minicache', 'minicache+kivi4', 'rtn', 'mean-merge'] as const;
export const BATCHES = [1, 2, 4, 8, 16, 32, 64, 128];
export const TASKS = ['lcc', 'repobench-p', 'passage_retrieval_en', 'trec', '2wikimqa', 'gov_report', 'multifieldqa_zh'];
export const SUITE_HASH = 'a1b2c3d4e5f60718';

const LAYERS = 8;
const KV_HEADS = 4;
const HEAD_DIM = 32;

/** Bits per element and fixed overheads, per method (roughly the spec's byte formulas). */
const METHOD_SHAPE: Record<string, { ratio: number; components: Record<string, number> }> = {
  fp16: { ratio: 1, components: { data: 1 } },
  kivi2: { ratio: 3.7, components: { data: 0.5, scales: 0.12, zeroPoints: 0.12, residual: 0.26 } },
  kivi4: { ratio: 2.9, components: { data: 0.72, scales: 0.09, zeroPoints: 0.09, residual: 0.1 } },
  rtn: { ratio: 3.2, components: { data: 0.8, scales: 0.1, zeroPoints: 0.1 } },
  minicache: { ratio: 1.29, components: { data: 0.9, magnitudes: 0.03, retained: 0.06, indices: 0.01 } },
  'minicache+kivi4': { ratio: 4.1, components: { data: 0.62, scales: 0.08, zeroPoints: 0.08, residual: 0.1, magnitudes: 0.05, retained: 0.05, indices: 0.02 } },
  'mean-merge': { ratio: 1.33, components: { data: 1 } },
};
const SPEED: Record<string, number> = { fp16: 1, kivi2: 2.6, kivi4: 2.1, rtn: 2.3, minicache: 1.3, 'minicache+kivi4': 3.4, 'mean-merge': 1.3 };
const ACCURACY_LOSS: Record<string, number> = { fp16: 0, kivi2: 0.04, kivi4: 0.004, rtn: 0.5, minicache: 0.003, 'minicache+kivi4': 0.006, 'mean-merge': 0.25 };

export function provenance(over: Partial<Provenance> = {}): Provenance {
  return {
    gitSha: '0123456789abcdef0123456789abcdef01234567',
    gitDirty: false,
    packageVersion: '0.1.0',
    versions: { 'onnxruntime-node': '1.30.0', node: 'v20.20.2' },
    node: 'v20.20.2',
    runner: 'node',
    executionProvider: 'cpu',
    cpu: 'Synthetic CPU @ 2.0GHz',
    cpuCount: 2,
    platform: 'linux-x64',
    suiteHash: SUITE_HASH,
    seed: 0,
    ...over,
  };
}

function spec(over: Partial<CellSpec> & Pick<CellSpec, 'method' | 'workload' | 'batch'>): CellSpec {
  return { model: 'minillama-12l', methodParams: {}, workloadParams: {}, seed: 0, runner: 'node', ep: 'cpu', ...over };
}

function base(cell: CellSpec) {
  return { schemaVersion: SCHEMA_VERSION, cellId: cellId(cell), suite: 'synthetic', cell, provenance: provenance(), startedAt: '2026-11-29T10:00:00.000Z', durationMs: 1234 };
}

function bytesFor(method: string, batch: number, seqLen: number) {
  const fp16 = 2 * LAYERS * batch * KV_HEADS * seqLen * HEAD_DIM * 2;
  const shape = METHOD_SHAPE[method]!;
  const held = Math.round(fp16 / shape.ratio);
  const kvBytesByComponent: Record<string, number> = {};
  let sum = 0;
  const entries = Object.entries(shape.components);
  entries.forEach(([k, share], i) => {
    const v = i === entries.length - 1 ? held - sum : Math.round(held * share);
    kvBytesByComponent[k] = v;
    sum += v;
  });
  return { kvBytes: held, kvBytesBaseline: fp16, compressionRatio: fp16 / held, seqLen, kvBytesByComponent };
}

/** Deterministic pseudo-random in [0,1) from a string (so fixtures never change). */
function rand(key: string): number {
  let h = 2166136261;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 16777619);
  return ((h >>> 0) % 100000) / 100000;
}

function pairs(method: string) {
  if (!method.includes('minicache') && method !== 'mean-merge') return undefined;
  const out = [];
  for (let l = LAYERS / 2; l + 1 < LAYERS; l += 2) {
    const cos = 0.55 + 0.05 * (l - LAYERS / 2) + 0.02 * rand(`${method}${l}`);
    const retained = method === 'mean-merge' ? 0 : 0.03 + 0.02 * rand(`r${method}${l}`);
    out.push({ pair: [l, l + 1] as [number, number], cosK: cos, cosV: cos - 0.08, retainedFracK: retained, retainedFracV: retained * 1.3, angle: { mean: 0.25, p10: 0.12, p50: 0.24, p90: 0.4, max: 0.9 } });
  }
  return { pairs: out };
}

function servingRecord(method: string, batch: number, mode: 'fixed-batch' | 'memory-budget', budget?: number): OkRecord {
  const workloadParams: Record<string, unknown> = { mode, promptLen: 160, outputLen: 338 };
  if (budget) workloadParams.memoryBudgetBytes = budget;
  const cell = spec({ method, workload: 'sharegpt', batch, workloadParams });
  const tpsBase = 40 * batch ** 0.85 * (1 + (SPEED[method]! - 1) * Math.min(1, batch / 32));
  const repeats = [0.97, 1.0, 1.02].map((f, i) => Number((tpsBase * f * (1 + 0.01 * rand(`${method}${batch}${i}`))).toFixed(3)));
  const bytes = bytesFor(method, batch, 498);
  const weights = 48_000_000;
  return {
    ...base(cell),
    status: 'ok',
    metrics: {
      ...bytes,
      decodeTokensPerSecond: repeats[1]!,
      prefillTokensPerSecond: repeats[1]! * 9,
      ttftMs: 20 + batch,
      tpotMs: 1000 / (repeats[1]! / batch),
      peakRssBytes: weights + bytes.kvBytes * 1.4 + 60_000_000,
      modelWeightBytes: weights,
      repeats: { decodeTokensPerSecond: repeats, peakRssBytes: [1, 1.001, 0.999].map((f) => Math.round((weights + bytes.kvBytes * 1.4 + 60_000_000) * f)) },
    },
    ...(pairs(method) ? { diagnostics: pairs(method) } : {}),
    sampleTokens: [[1, 15, 27, 99, 4 + (method === 'fp16' ? 0 : 1)]],
  };
}

function taskScores(method: string, loss: number): TaskScore[] {
  return TASKS.map((task) => {
    const n = 20;
    const fp16Items = Array.from({ length: n }, (_, i) => Math.round(100 * (0.3 + 0.5 * rand(`${task}${i}`))) / 100);
    const items = fp16Items.map((x, i) => Math.max(0, Math.round(100 * (x - loss * x * (0.5 + rand(`${method}${task}${i}`)))) / 100));
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const d = mean(items) - mean(fp16Items);
    const score = Math.round(mean(items) * 10000) / 100;
    return {
      task,
      metric: task === 'trec' ? 'classification' : task === 'lcc' || task === 'repobench-p' ? 'code_sim' : 'qa_f1',
      score,
      n,
      items,
      agreement: { tokenMatch: 1 - loss, rougeL: 1 - loss / 2 },
      ...(method === 'fp16' ? {} : { deltaVsFp16: { mean: d * 100, lo: (d - 0.01 - loss * 0.1) * 100, hi: (d + 0.01) * 100 } }),
    };
  });
}

function longbenchRecord(method: string, label?: string, methodParams: Record<string, unknown> = {}, lossScale = 1): OkRecord {
  const cell = spec({ method, workload: 'longbench-embedded', batch: 1, methodParams, workloadParams: { maxLength: 2048 }, ...(label ? { label } : {}) });
  return {
    ...base(cell),
    status: 'ok',
    metrics: bytesFor(method, 1, 1800),
    tasks: taskScores(method, ACCURACY_LOSS[method]! * lossScale),
    ...(pairs(method) ? { diagnostics: pairs(method) } : {}),
  };
}

export interface SyntheticOptions {
  /** Add an errored cell and a skipped cell. */
  withFailures?: boolean;
  /** Ablation cells (ablation:t=…, ablation:gamma=…, ablation:S=…) and merge:<strategy> cells. */
  withAblations?: boolean;
}

export function syntheticRun(opts: SyntheticOptions = {}): CellResult[] {
  const out: CellResult[] = [];
  for (const m of METHODS) for (const b of BATCHES) out.push(servingRecord(m, b, 'fixed-batch'));
  const budget = 2 * 2 ** 30;
  const fit: Record<string, number> = { fp16: 16, kivi2: 56, kivi4: 44, rtn: 48, minicache: 20, 'minicache+kivi4': 64, 'mean-merge': 21 };
  for (const m of METHODS) out.push(servingRecord(m, fit[m]!, 'memory-budget', budget));
  for (const m of METHODS) out.push(longbenchRecord(m));
  if (opts.withAblations) {
    for (const t of [0.2, 0.4, 0.6, 0.8]) out.push(longbenchRecord('minicache', `ablation:t=${t}`, { t }, 1 + Math.abs(t - 0.6) * 4));
    for (const gamma of [0, 0.05, 0.1, 0.2]) out.push(longbenchRecord('minicache', `ablation:gamma=${gamma}`, { gamma }, 1.5 - gamma * 4));
    for (const S of [2, 4, 6]) out.push(longbenchRecord('minicache', `ablation:S=${S}`, { startLayer: S }, 6 / (S + 1)));
    out.push(longbenchRecord('mean-merge', 'merge:mean', {}, 1));
    out.push(longbenchRecord('minicache', 'merge:slerp', {}, 1));
  }
  if (opts.withFailures) {
    const cell = spec({ method: 'kivi2', workload: 'sharegpt', batch: 256, workloadParams: { mode: 'fixed-batch', promptLen: 160, outputLen: 338 } });
    out.push({ ...base(cell), status: 'errored', error: { name: 'RangeError', message: 'Array buffer allocation failed' } });
    const cell2 = spec({ method: 'minicache', workload: 'sharegpt', batch: 1, ep: 'webgpu', workloadParams: { mode: 'fixed-batch' } });
    out.push({ ...base(cell2), status: 'skipped', reason: 'webgpu adapter unavailable' });
  }
  return out;
}

/** Manifest like the runner writes, for a run of these records. */
export function manifestFor(records: readonly CellResult[], shard: string | null = null) {
  return {
    schemaVersion: SCHEMA_VERSION,
    suite: { name: 'synthetic', file: 'suites/synthetic.yaml' },
    suiteHash: SUITE_HASH,
    shard,
    cells: records.map((r) => ({ id: r.cellId, ...r.cell })),
    provenance: provenance(),
    updatedAt: '2026-11-29T10:00:00.000Z',
  };
}

/** A deep copy with `edit` applied to the ok records `where` selects. */
export function tweak(records: readonly CellResult[], where: (r: OkRecord) => boolean, edit: (r: OkRecord) => void): CellResult[] {
  const copy = JSON.parse(JSON.stringify(records)) as CellResult[];
  for (const r of copy) if (r.status === 'ok' && where(r)) edit(r);
  return copy;
}
