import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildReport, type BuildReportOptions } from '../src/report/build-report.js';
import { CHARTS } from '../src/report/charts/index.js';
import { chartBlocks } from '../src/report/model.js';
import { summaryMarkdown } from '../src/report/summary-markdown.js';
import type { CellResult } from '../src/results/record.js';
import { chartSvg, svgToPng } from './chart-images.js';
import { renderReportHtml } from './html/render-html.js';

export interface WriteReportOptions extends BuildReportOptions {
  /** Also write charts/<id>.svg and .png (default true). */
  images?: boolean;
}

export interface WrittenReport {
  html: string;
  summary: string;
  charts: { id: string; svg: string; png: string }[];
}

/** Write through a temporary name, so a reader never sees half a file. */
function writeAtomic(path: string, data: string | Buffer): void {
  writeFileSync(`${path}.tmp`, data);
  renameSync(`${path}.tmp`, path);
}

/**
 * Write a run folder's report files.
 * Phases: build the report model (layout) → report.html (self-contained) → charts/<id>.svg and
 * .png for each chart → summary.md.
 */
export async function writeReport(outDir: string, records: readonly CellResult[], opts: WriteReportOptions = {}): Promise<WrittenReport> {
  const model = buildReport(records, opts);
  mkdirSync(outDir, { recursive: true });
  const html = join(outDir, 'report.html');
  writeAtomic(html, renderReportHtml(model));
  const charts: WrittenReport['charts'] = [];
  if (opts.images !== false) {
    const dir = join(outDir, 'charts');
    mkdirSync(dir, { recursive: true });
    // A chart an earlier report wrote that this one has no data for (another layout, a run whose
    // cells changed) would be left behind beside the fresh ones: remove the report's own chart files.
    const current = new Set(chartBlocks(model).map((c) => c.id));
    for (const { id } of Object.values(CHARTS)) {
      if (current.has(id)) continue;
      for (const ext of ['svg', 'png']) {
        const stale = join(dir, `${id}.${ext}`);
        if (existsSync(stale)) rmSync(stale);
      }
    }
    for (const c of chartBlocks(model)) {
      const svgText = await chartSvg(c.spec);
      const svg = join(dir, `${c.id}.svg`);
      const png = join(dir, `${c.id}.png`);
      writeAtomic(svg, svgText);
      writeAtomic(png, svgToPng(svgText));
      charts.push({ id: c.id, svg, png });
    }
  }
  const summary = join(outDir, 'summary.md');
  writeAtomic(summary, summaryMarkdown(records, { reportPath: 'report.html', ...(opts.manifest ? { manifest: opts.manifest } : {}) }));
  return { html, summary, charts };
}
