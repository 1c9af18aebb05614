import { resolve } from 'node:path';
import { HarnessError } from '../../src/errors.js';
import { readRunDir } from '../../reports/run-dir.js';
import { writeReport } from '../../reports/write-report.js';

export interface ReportCommandOptions {
  /** Report layout: 'default' (charts, tables, provenance) or 'paper' (the paper's five results). */
  layout?: string;
  /** Where to write report.html, charts/ and summary.md (default: the run folder itself). */
  out?: string;
  /** Paper model to compare LongBench scores with (default Llama-2-7B-Chat). */
  paperModel?: string;
  /** Skip charts/*.svg|png (default: written). */
  images?: boolean;
  /** Where messages go (default console.log / console.error). */
  log?: (line: string) => void;
  error?: (line: string) => void;
}

/**
 * `minicache-bench report DIR`: DIR/report.html, DIR/charts/*.svg|png, DIR/summary.md.
 * Exit 0 when written, 2 when the run folder cannot be read.
 */
export async function reportCommand(dir: string, opts: ReportCommandOptions = {}): Promise<number> {
  const log = opts.log ?? ((l: string) => console.log(l));
  const error = opts.error ?? ((l: string) => console.error(l));
  try {
    const run = readRunDir(resolve(dir));
    const out = resolve(opts.out ?? dir);
    const written = await writeReport(out, run.records, {
      ...(opts.layout ? { layout: opts.layout } : {}),
      ...(opts.paperModel ? { paperModel: opts.paperModel } : {}),
      ...(run.manifest ? { manifest: run.manifest } : {}),
      images: opts.images !== false,
    });
    log(`report: ${written.html}`);
    log(`summary: ${written.summary}`);
    if (written.charts.length) log(`charts: ${written.charts.length} × (svg, png) in ${resolve(out, 'charts')}`);
    return 0;
  } catch (e) {
    if (e instanceof HarnessError) {
      error(e.format());
      return 2;
    }
    throw e;
  }
}
