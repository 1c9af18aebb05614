import { HarnessError, didYouMean } from '../errors.js';
import type { CellResult } from '../results/record.js';
import { defaultLayout } from './layouts/default-layout.js';
import { paperLayout } from './layouts/paper-layout.js';
import type { Layout } from './layouts/types.js';
import type { ReportModel } from './model.js';

const LAYOUTS: Record<string, Layout> = { default: defaultLayout, paper: paperLayout };

export function layoutNames(): string[] {
  return Object.keys(LAYOUTS);
}

/** Register another layout (a name → sections builder); later reports can ask for it by name. */
export function registerLayout(name: string, layout: Layout): void {
  LAYOUTS[name] = layout;
}

export interface BuildReportOptions {
  layout?: string;
  title?: string;
  manifest?: Record<string, unknown>;
  paperModel?: string;
}

/**
 * Records → report model.
 * Phases: pick the layout by name → the layout builds its sections (each chart a pure function
 * of the records, null when it has no data, and dropped) → title from the suite name.
 */
export function buildReport(records: readonly CellResult[], opts: BuildReportOptions = {}): ReportModel {
  const name = opts.layout ?? 'default';
  const layout = LAYOUTS[name];
  if (!layout) throw new HarnessError('report.layout', `unknown report layout "${name}"`, undefined, didYouMean(name, layoutNames()) ?? `known: ${layoutNames().join(', ')}`);
  const suites = [...new Set(records.map((r) => r.suite))].sort();
  const title = opts.title ?? `minicache-bench report: ${suites.join(', ') || 'no results'}`;
  return { title, layout: name, sections: layout({ records, ...(opts.manifest ? { manifest: opts.manifest } : {}), ...(opts.paperModel ? { paperModel: opts.paperModel } : {}) }) };
}
