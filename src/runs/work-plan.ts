import type { CellSpec } from '../results/record.js';
import { baselineKey, executionOrder } from './run-cell.js';
import { getWorkload } from './catalogue.js';

/**
 * One unit of a run: a whole cell, or one timed repeat (a round) of a cell whose repeats are
 * interleaved with its group's other methods.
 */
export interface WorkItem<T> {
  cell: T;
  /** 0-based round of an interleaved cell, and how many rounds it has. */
  round?: { index: number; of: number };
}

/** Does this cell's workload time its repeats (serving and generation workloads)? */
export function isTimed(spec: CellSpec): boolean {
  return Boolean(getWorkload(spec.workload)?.timed);
}

/**
 * The order a run goes through its cells. Cells of one group (same model, workload, parameters
 * and batch; methods differ) keep FP16 first (executionOrder). A group of timed cells with more
 * than one repeat runs in rounds: one timed repeat of each method, then the next round, so that a
 * machine getting slower or faster during the group (other processes, thermal state) touches
 * every method alike instead of the one that happened to run then.
 */
export function planWork<T extends { id: string; spec: CellSpec }>(cells: readonly T[], repeats: number): WorkItem<T>[] {
  const ordered = executionOrder([...cells]);
  const groups: T[][] = [];
  for (const c of ordered) {
    const last = groups[groups.length - 1];
    if (last && baselineKey(last[0]!.spec) === baselineKey(c.spec)) last.push(c);
    else groups.push([c]);
  }
  const items: WorkItem<T>[] = [];
  for (const g of groups) {
    if (repeats > 1 && isTimed(g[0]!.spec)) {
      for (let index = 0; index < repeats; index++) for (const cell of g) items.push({ cell, round: { index, of: repeats } });
    } else {
      for (const cell of g) items.push({ cell });
    }
  }
  return items;
}
