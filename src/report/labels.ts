import type { CellSpec } from '../results/record.js';

/**
 * How the paper layout recognises cells by their suite label (cell.label):
 *   ablation:<param>=<number>   an ablation point, e.g. `ablation:t=0.4`, `ablation:gamma=0.1`,
 *                               `ablation:S=12` (param names are free; t, gamma and S are the paper's)
 *   merge:<strategy>            a merge-strategy comparison cell, e.g. `merge:mean`, `merge:slerp`
 * Unlabelled cells are the main results; methods `mean-merge` and `minicache` also count as the
 * mean and SLERP strategies when no merge: cells exist.
 */
export interface AblationPoint {
  param: string;
  value: number;
}

const PARAM_ALIASES: Record<string, string> = { γ: 'gamma', startLayer: 'S', s: 'S' };

export function parseAblationLabel(label: string | undefined): AblationPoint | undefined {
  const m = label ? /^ablation:\s*([^=\s]+)\s*=\s*(-?[\d.]+(?:e-?\d+)?)\s*$/i.exec(label) : null;
  if (!m) return undefined;
  const value = Number(m[2]);
  if (!Number.isFinite(value)) return undefined;
  return { param: PARAM_ALIASES[m[1]!] ?? m[1]!, value };
}

export function mergeStrategyLabel(label: string | undefined): string | undefined {
  const m = label ? /^merge:\s*(\S+)\s*$/i.exec(label) : null;
  return m ? m[1]!.toLowerCase() : undefined;
}

/** The merge strategy of a cell from its label, or (unlabelled) from its method name. */
export function mergeStrategyOf(cell: CellSpec, labelledCellsExist: boolean): string | undefined {
  if (labelledCellsExist) return mergeStrategyLabel(cell.label);
  if (cell.label) return undefined;
  if (cell.method === 'mean-merge') return 'mean';
  if (cell.method === 'minicache') return 'slerp';
  return undefined;
}
