import type { TopLevelSpec } from 'vega-lite';

export type VegaLiteSpec = TopLevelSpec;

/**
 * The report as data: sections of blocks, built from records by a layout. Renderers (HTML,
 * Markdown) only walk this model; they never look at records, so a new layout or section is a
 * new builder, not a renderer change. Every string in it is plain text (renderers escape it).
 */
export interface ChartBlock {
  kind: 'chart';
  /** File-name-safe id: charts/<id>.svg, element ids. Unique within a report. */
  id: string;
  title: string;
  caption?: string;
  spec: VegaLiteSpec;
}

export type TableValue = string | number | null;

export interface TableBlock {
  kind: 'table';
  id: string;
  title: string;
  caption?: string;
  columns: { header: string; numeric?: boolean }[];
  rows: TableValue[][];
}

/** A paragraph of plain text. */
export interface NoteBlock {
  kind: 'note';
  text: string;
}

/** Preformatted text (e.g. the resolved suite as JSON), collapsed by default. */
export interface CodeBlock {
  kind: 'code';
  title: string;
  text: string;
}

export type ReportBlock = ChartBlock | TableBlock | NoteBlock | CodeBlock;

export interface ReportSection {
  id: string;
  title: string;
  intro?: string;
  blocks: ReportBlock[];
}

export interface ReportModel {
  title: string;
  layout: string;
  sections: ReportSection[];
}

export function chartBlocks(model: ReportModel): ChartBlock[] {
  return model.sections.flatMap((s) => s.blocks.filter((b): b is ChartBlock => b.kind === 'chart'));
}
