import { cellId } from '../results/cell-id.js';
import type { CellSpec } from '../results/record.js';
import type { ResolvedSuite } from './types.js';

export interface PlannedCell {
  id: string;
  spec: CellSpec;
  /** Card path of the cell's model (not part of the id: moving a file does not change a cell). */
  modelCard: string;
}

/** Expand models × engines × workloads × methods × batch sizes into cells, sorted by id (shards rely on it). */
export function planCells(suite: ResolvedSuite): PlannedCell[] {
  const cells: PlannedCell[] = [];
  for (const model of suite.models) {
    for (const engine of suite.engines ?? ['onnxruntime']) {
    for (const w of suite.workloads) {
      for (const m of suite.methods) {
        if (w.methods && !w.methods.some((pattern) => matchesMethod(pattern, m))) continue;
        for (const batch of w.batch) {
          const spec: CellSpec = {
            model: model.id,
            method: m.name,
            methodParams: m.params,
            workload: w.name,
            workloadParams: w.params,
            batch,
            seed: suite.seed,
            runner: suite.runner,
            // the WGSL engine is WebGPU whatever onnxruntime's provider is
            ep: engine === 'webgpu' ? 'webgpu' : suite.ep,
            engine,
            ...(m.label || w.label ? { label: [w.label, m.label].filter(Boolean).join('/') } : {}),
            ...(w.data ? { data: w.data.hash } : {}),
          };
          cells.push({ id: cellId(spec), spec, modelCard: model.card });
        }
      }
    }
    }
  }
  return cells.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/**
 * A workload's `methods` entry selects a method by its label, or by name when it has none;
 * a trailing `*` matches a prefix (e.g. `ablation:*`).
 */
export function matchesMethod(pattern: string, m: { name: string; label?: string }): boolean {
  const key = m.label ?? m.name;
  return pattern.endsWith('*') ? key.startsWith(pattern.slice(0, -1)) : key === pattern;
}
