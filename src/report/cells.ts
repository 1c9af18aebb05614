import { cellIdentity } from '../results/cell-id.js';
import { canonicalJson } from '../results/canonical-json.js';
import type { CellResult, CellSpec, OkRecord, TaskScore } from '../results/record.js';

/** The FP16 baseline method's name: every "relative to FP16" view pairs cells with it. */
export const FP16_METHOD = 'fp16';

/**
 * The key under which a cell meets its FP16 counterpart in the same run: everything but the
 * method, its parameters and the label (an ablation's label does not change the FP16 cell).
 */
export function fp16PairKey(cell: CellSpec): string {
  const { method: _m, methodParams: _p, label: _l, ...rest } = cellIdentity(cell);
  return canonicalJson(rest);
}

/** FP16 ok records by pair key (the first by cell id when several share one). */
export function fp16Index(records: readonly CellResult[]): Map<string, OkRecord> {
  const index = new Map<string, OkRecord>();
  const fp16 = records.filter((r): r is OkRecord => r.status === 'ok' && r.cell.method === FP16_METHOD);
  fp16.sort((a, b) => (a.cellId < b.cellId ? -1 : a.cellId > b.cellId ? 1 : 0));
  for (const r of fp16) {
    const key = fp16PairKey(r.cell);
    if (!index.has(key)) index.set(key, r);
  }
  return index;
}

/** The workload's run mode: `memory-budget` cells pick their batch to fit a memory budget. */
export function workloadMode(cell: CellSpec): string {
  const mode = cell.workloadParams?.mode;
  return typeof mode === 'string' ? mode : 'fixed-batch';
}

/** Marks a model that ran dummy weights wherever reports name it (tables, chart series and titles). */
export const DUMMY_MARK = ' (dummy weights)';

/** The model as reports name it: with DUMMY_MARK when the record ran dummy weights. */
export function modelLabel(r: Pick<CellResult, 'cell' | 'provenance'>): string {
  // the engine is part of what ran: a run with both engines draws a line for each
  const base = r.cell.engine === 'webgpu' ? `${r.cell.model} [webgpu engine]` : r.cell.model;
  return r.provenance?.weights === 'dummy' ? `${base}${DUMMY_MARK}` : base;
}

/** A short human name for a cell: `model · method · workload · b8 · label`. */
export function cellSubject(cell: CellSpec): string {
  const parts = [cell.model, cell.method, cell.workload, `b${cell.batch}`];
  if (workloadMode(cell) === 'memory-budget') parts.push('memory-budget');
  if (cell.label) parts.push(cell.label);
  return parts.join(' · ');
}

/**
 * Cells the run planned (manifest.json `cells`) that have no record in results.jsonl: a run that
 * stopped early, was interrupted, or is still going. A report must say they are missing.
 */
export function plannedWithoutRecord(records: readonly CellResult[], manifest: Record<string, unknown> | undefined): (CellSpec & { id: string })[] {
  const planned = manifest?.cells;
  if (!Array.isArray(planned)) return [];
  const have = new Set(records.map((r) => r.cellId));
  return planned.filter((c): c is CellSpec & { id: string } => typeof c === 'object' && c !== null && typeof (c as { id?: unknown }).id === 'string' && !have.has((c as { id: string }).id));
}

export function isOk(r: CellResult): r is OkRecord {
  return r.status === 'ok';
}

export function byCellId<T extends { cellId: string }>(a: T, b: T): number {
  return a.cellId < b.cellId ? -1 : a.cellId > b.cellId ? 1 : 0;
}

/** Task metrics where lower is better (perplexity, losses): relative views invert them. */
export function lowerIsBetter(metric: string): boolean {
  return /perplexity|nll|loss|error/i.test(metric);
}

/**
 * A score relative to FP16 on one scale for every metric: 1 = as good as FP16, below 1 = worse.
 * Lower-is-better metrics are inverted (FP16 ÷ ours). Undefined when the reference is 0.
 */
export function relativeToFp16(score: number, fp16Score: number, metric: string): number | undefined {
  if (lowerIsBetter(metric)) return score === 0 ? undefined : fp16Score / score;
  return fp16Score === 0 ? undefined : score / fp16Score;
}

/**
 * A task score at or below this (LongBench scores run 0–100) means FP16 itself does not do the
 * task: the model is too small for it, and a difference to FP16 says nothing about the cache.
 */
export const FLOOR_SCORE = 1;

/** A higher-is-better task whose FP16 score is at the floor: "beyond this model", never a CI. */
export function atFloor(fp16Score: number | undefined, metric: string): boolean {
  return fp16Score !== undefined && !lowerIsBetter(metric) && fp16Score <= FLOOR_SCORE;
}

/** What the reports print for a task at the floor, in place of a difference and its interval. */
export const BEYOND_MODEL = 'beyond this model';

/** A task's paired difference to FP16 oriented so that positive is better (lower-is-better deltas flipped). */
export function deltaBetter(t: TaskScore): { mean: number; lo: number; hi: number } | undefined {
  const d = t.deltaVsFp16;
  if (!d) return undefined;
  return lowerIsBetter(t.metric) ? { mean: -d.mean, lo: -d.hi, hi: -d.lo } : d;
}
