import type { InferenceBackend, Tokenizer } from '../engine/backend.js';
import { guardMethod, type NonFinitePolicy, type NonFiniteStats } from '../methods/guard.js';
import { createMethod } from '../methods/registry.js';
import { cellIdentity } from '../results/cell-id.js';
import { SCHEMA_VERSION, type CellResult, type CellSpec, type Provenance } from '../results/record.js';
import { getWorkload } from './catalogue.js';
import type { GpuContext } from '../webgpu/gpu-context.js';
import type { WorkloadContext, WorkloadOutput } from './workload.js';

export interface CellEnv {
  backend: InferenceBackend;
  tokenizer: Tokenizer;
  data: ReadonlyMap<string, string>;
  provenance: Provenance;
  suite: string;
  repeats: number;
  warmup: number;
  baseline?: WorkloadOutput;
  onProgress?: (done: number, total: number, note?: string) => void;
  signal?: AbortSignal;
  now?: () => number;
  segment?: (text: string) => string[];
  /** What a method does with NaN/Inf in the K/V handed to it (the suite's nonFinite; default error). */
  nonFinite?: NonFinitePolicy;
  /** Device-resident cache path and memory probe, passed to the workload as given by the runner. */
  device?: WorkloadContext['device'];
  /** The WebGPU engine, for cells with engine: webgpu. */
  engine?: WorkloadContext['engine'];
  memoryProbe?: WorkloadContext['memoryProbe'];
  shareGpt?: WorkloadContext['shareGpt'];
}

/**
 * Run one cell and turn its outcome into a record: ok with metrics, or errored with the error
 * (the run goes on with the next cell). Returns the workload output too, so an FP16 cell can
 * serve as the baseline of the cells that follow it.
 */
/** The engine settings a host changed from the defaults, for provenance. */
function engineChoices(ctx: GpuContext): Pick<Provenance, 'engineMatmul' | 'engineF16Off' | 'engineAttention'> {
  return {
    ...(ctx.decodeKernel ? { engineAttention: ctx.decodeKernel } : {}),
    ...(Object.keys(ctx.matmul).length ? { engineMatmul: { ...ctx.matmul } } : {}),
    ...(ctx.f16Declined ? { engineF16Off: true } : {}),
  };
}

export async function runCell(id: string, cell: CellSpec, env: CellEnv): Promise<{ record: CellResult; output?: WorkloadOutput }> {
  const now = env.now ?? (() => performance.now());
  const startedAt = new Date().toISOString();
  const t0 = now();
  // A cell on the WebGPU engine records the engine and its adapter (Dawn's, or the page's).
  const dummy = env.backend.model.weights === 'dummy';
  const provenance: Provenance = {
    ...(env.engine ? { ...env.provenance, engine: 'webgpu' as const, adapter: env.engine.ctx.adapter, ...engineChoices(env.engine.ctx) } : { ...env.provenance, engine: 'onnxruntime' as const }),
    ...(dummy ? { weights: 'dummy' as const } : {}),
  };
  const base = { schemaVersion: SCHEMA_VERSION, cellId: id, suite: env.suite, cell: { ...cell, engine: cell.engine ?? 'onnxruntime' }, provenance, startedAt };
  env.engine?.ctx.resetPeak();
  const nonFinite: NonFiniteStats = { values: 0 };
  try {
    const workload = getWorkload(cell.workload);
    if (!workload) throw new Error(`unknown workload "${cell.workload}"`);
    if (dummy && workload.needsRealWeights) throw new Error(dummyRefusal(cell.workload, cell.model));
    const output = await workload.run({
      backend: env.backend,
      tokenizer: env.tokenizer,
      cell,
      createMethod: (g) => guardMethod(createMethod(cell.method, g, cell.methodParams), { nonFinite: env.nonFinite ?? 'error', stats: nonFinite }),
      data: env.data,
      repeats: env.repeats,
      warmup: env.warmup,
      ...(env.baseline ? { baseline: env.baseline } : {}),
      ...(env.onProgress ? { onProgress: env.onProgress } : {}),
      ...(env.signal ? { signal: env.signal } : {}),
      ...(env.segment ? { segment: env.segment } : {}),
      ...(env.device ? { device: env.device } : {}),
      ...(env.engine ? { engine: env.engine } : {}),
      ...(env.memoryProbe ? { memoryProbe: env.memoryProbe } : {}),
      ...(env.shareGpt ? { shareGpt: env.shareGpt } : {}),
    });
    const record: CellResult = {
      ...base,
      durationMs: now() - t0,
      status: 'ok',
      // NaN/Inf that reached the method (counted under nonFinite: count; the default ends the cell).
      metrics: {
        ...output.metrics,
        // NaN/Inf that reached the method (counted under nonFinite: count; the default ends the cell).
        ...(nonFinite.values > 0 ? { nonFiniteKv: { ...nonFinite } } : {}),
        ...(dummy ? { weights: 'dummy' } : {}),
        // device bytes the engine allocated by category, for workloads that do not report them
        ...(env.engine && !output.metrics.deviceBytesByCategory ? { engine: 'webgpu', deviceBytesByCategory: env.engine.ctx.peakByCategory() } : {}),
      },
      ...(output.tasks ? { tasks: output.tasks } : {}),
      ...(output.diagnostics ? { diagnostics: output.diagnostics } : {}),
      ...(output.sampleTokens ? { sampleTokens: output.sampleTokens } : {}),
    };
    return { record, output };
  } catch (e) {
    const err = e as Error;
    return {
      record: {
        ...base,
        durationMs: now() - t0,
        status: 'errored',
        error: { name: err?.name ?? 'Error', message: err?.message ?? String(e), ...(err?.stack ? { stack: err.stack } : {}) },
      },
    };
  }
}

/** Why a workload that measures what the weights know cannot run on dummy weights. */
export function dummyRefusal(workload: string, model: string): string {
  return `${workload} measures what a model's weights know (accuracy, perplexity or K/V similarity), and ${model} has dummy weights (seeded values in its shapes): its numbers would mean nothing. Dummy weights run throughput and memory workloads (sharegpt, sharegpt-requests, generate); give a model folder with real weights for ${workload}`;
}

/**
 * Execution order: within each (model, workload, params, batch) group FP16 runs first so later
 * methods can be compared with it; groups keep their id order.
 */
export function executionOrder<T extends { id: string; spec: CellSpec }>(cells: T[]): T[] {
  const key = baselineKey;
  const groups = new Map<string, T[]>();
  for (const c of cells) {
    const k = key(c.spec);
    if (!groups.has(k)) groups.set(k, []);
    groups.get(k)!.push(c);
  }
  const out: T[] = [];
  for (const g of groups.values()) out.push(...g.filter((c) => c.spec.method === 'fp16'), ...g.filter((c) => c.spec.method !== 'fp16'));
  return out;
}

/** Cells that differ only in method share it (their data known by content, as in cell ids). */
export function baselineKey(cell: CellSpec): string {
  const c = cellIdentity(cell);
  return JSON.stringify([c.model, c.workload, c.workloadParams, c.batch, c.seed, c.ep]);
}

/**
 * The FP16 cell to run again, unrecorded, before `cell`: a cell whose workload compares with
 * FP16's outputs (usesBaseline) needs them in this process, and when its FP16 partner is not here
 * (another shard, or finished before a --resume) a sharded or resumed run would otherwise record
 * less than one whole run. Undefined when the outputs are at hand or not needed.
 */
export function fp16PartnerToRerun<T extends { spec: CellSpec }>(cell: T, all: readonly T[], haveBaseline: boolean): T | undefined {
  if (haveBaseline || cell.spec.method === 'fp16' || !getWorkload(cell.spec.workload)?.usesBaseline) return undefined;
  const key = baselineKey(cell.spec);
  return all.find((c) => c.spec.method === 'fp16' && baselineKey(c.spec) === key);
}

/** The record of a cell that failed before its workload could run (model or data would not load). */
export function erroredRecord(id: string, cell: CellSpec, suite: string, provenance: Provenance, e: unknown): CellResult {
  const err = e as Error & { format?: () => string };
  return {
    schemaVersion: SCHEMA_VERSION,
    cellId: id,
    suite,
    cell,
    provenance,
    startedAt: new Date().toISOString(),
    durationMs: 0,
    status: 'errored',
    // A HarnessError formats itself with its file:line and hint.
    error: { name: err?.name ?? 'Error', message: typeof err?.format === 'function' ? err.format() : (err?.message ?? String(e)) },
  };
}
