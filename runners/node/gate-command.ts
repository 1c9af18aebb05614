import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { HarnessError } from '../../src/errors.js';
import { parseGateConfig } from '../../src/gate/config.js';
import { evaluateGate } from '../../src/gate/evaluate.js';
import { gateMarkdown } from '../../src/gate/markdown.js';
import type { GateReport } from '../../src/gate/types.js';
import type { CellResult } from '../../src/results/record.js';
import { readRunDir } from '../../reports/run-dir.js';
import { projectRoot } from './provenance.js';

export interface GateCommandOptions {
  /** Baseline run folder for vs-baseline rules. Only ever read. */
  baseline?: string;
  /** Gate rules (default configs/gates.yaml in the working directory, else the one this package ships). */
  config?: string;
  /** Where to append the Markdown verdict (default $GITHUB_STEP_SUMMARY when set). */
  stepSummary?: string;
  log?: (text: string) => void;
  error?: (text: string) => void;
}

/**
 * `minicache-bench gate DIR [--baseline BASE] [--config FILE]`.
 * Phases: read the rules → read the run and the baseline (any problem is recorded, not thrown,
 * so the table still names it) → evaluate → print the Markdown table (and append it to the step
 * summary) → exit 0 pass, 1 regression in an error rule, 2 unusable input.
 */
export async function gateCommand(dir: string, opts: GateCommandOptions = {}): Promise<number> {
  const log = opts.log ?? ((t: string) => console.log(t));
  const error = opts.error ?? ((t: string) => console.error(t));
  const configFile = opts.config ? resolve(opts.config) : defaultConfig();
  let rules;
  try {
    if (!existsSync(configFile)) throw new HarnessError('gates.missing', 'gate rules file not found', { file: configFile }, 'pass --config FILE');
    rules = parseGateConfig(readFileSync(configFile, 'utf8'), configFile).rules;
  } catch (e) {
    if (!(e instanceof HarnessError)) throw e;
    error(e.format());
    return 2;
  }
  const inputErrors: string[] = [];
  const records = readOrNote(dir, 'run', inputErrors);
  const baseline = opts.baseline ? readOrNote(opts.baseline, 'baseline', inputErrors) : undefined;
  const report: GateReport = evaluateGate({ records: records ?? [], ...(opts.baseline ? { baseline: baseline ?? [] } : {}), rules, inputErrors });
  const markdown = gateMarkdown(report);
  log(markdown);
  const summaryFile = opts.stepSummary ?? process.env.GITHUB_STEP_SUMMARY;
  if (summaryFile) appendFileSync(summaryFile, `${markdown}\n`);
  for (const v of report.verdicts.filter((x) => x.outcome !== 'pass' && x.outcome !== 'skipped')) {
    const what = v.outcome === 'unusable' ? 'unusable' : v.rule.level === 'error' ? 'FAILED' : 'warning';
    error(`gate: rule "${v.rule.name}" ${what}: ${v.summary}`);
  }
  return report.exitCode;
}

/** configs/gates.yaml of the working directory when there is one, else this package's (`npx minicache-bench gate` from any folder). */
function defaultConfig(): string {
  const local = resolve('configs/gates.yaml');
  return existsSync(local) ? local : join(projectRoot, 'configs', 'gates.yaml');
}

function readOrNote(dir: string, role: string, notes: string[]): CellResult[] | undefined {
  try {
    return readRunDir(resolve(dir)).records;
  } catch (e) {
    if (!(e instanceof HarnessError)) throw e;
    notes.push(`${role}: ${e.format()}`);
    return undefined;
  }
}
