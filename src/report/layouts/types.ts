import type { CellResult } from '../../results/record.js';
import type { ReportSection } from '../model.js';

export interface LayoutInput {
  records: readonly CellResult[];
  manifest?: Record<string, unknown>;
  /** Which of the paper's LongBench models to compare with (default Llama-2-7B-Chat). */
  paperModel?: string;
}

/** A layout turns records into sections; sections without data are left out. */
export type Layout = (input: LayoutInput) => ReportSection[];
