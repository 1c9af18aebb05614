import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { getWorkload, workloadCatalogue } from '../../src/runs/catalogue.js';
import { loadSuite } from '../../src/suite/load-suite.js';
import { join, resolve } from 'node:path';
import { HarnessError } from '../../src/errors.js';
import { modelIdFromPath } from '../../src/suite/load-suite.js';
import { PAPER_LONGBENCH_TASKS } from '../../src/workloads/longbench/config.js';
import type { PlannedCell } from '../../src/suite/plan.js';
import type { ResolvedSuite } from '../../src/suite/types.js';
import { projectRoot } from './provenance.js';
import { readModelCard } from './load-model.js';
import { runCommand } from './run-command.js';
import { nodeSuiteFiles } from './suite-files.js';

/** The paper-scale serving workloads (Fig. 5 over batch, at FP16@128's budget and at an 80 GB card's) that replace paper.yaml's for a Hugging Face model. */
export const PAPER_SCALE_SERVING = join(projectRoot, 'suites', 'fig5-7b-dummy.yaml');

/** What a reproduction folder holds (run outputs and the report); --fresh deletes only such a folder. */
const RUN_OUTPUTS = new Set(['results.jsonl', 'manifest.json', 'report.html', 'summary.md', 'charts']);

export interface ReproduceOptions {
  quick?: boolean;
  model?: string;
  longbench?: string;
  ep?: string;
  out?: string;
  fresh?: boolean;
  quiet?: boolean;
  /** Timed repeats and warm-up runs per cell, overriding the paper suite's (as `run --repeats/--warmup`). */
  repeats?: string | number;
  warmup?: string | number;
  /**
   * Run each serving cell (the Fig.-5 throughput and memory cells) in its own process, so that the
   * report's peak-RSS comparison with FP16 compares like with like (default true).
   */
  isolate?: boolean;
  /** The command that starts this CLI ([node, cli.js]), for those processes. */
  self?: readonly string[];
  /**
   * false: run the cells only, no report (a machine without the report's packages, such as a GPU
   * machine given only the runtime's); `reproduce` again with the same settings reuses every cell
   * and writes it.
   */
  report?: boolean;
}

/**
 * `minicache-bench reproduce`: the paper's tables and figures in one command.
 * 1. run suites/paper.yaml (or paper-quick.yaml), resuming what an earlier call finished;
 * 2. with --model, the user's model replaces the embedded one; with --longbench, the official
 *    LongBench tasks replace the embedded task set;
 * 3. write the report with the paper layout (paper numbers beside ours).
 */
export async function reproduceCommand(o: ReproduceOptions): Promise<number> {
  const suiteFile = join(projectRoot, 'suites', o.quick ? 'paper-quick.yaml' : 'paper.yaml');
  const out = resolve(o.out ?? (o.quick ? 'out/paper-quick' : 'out/paper'));
  if (o.fresh && existsSync(out)) {
    // --fresh discards a reproduction, never a folder that holds anything else (--out . or a typo).
    const foreign = statSync(out).isDirectory() ? readdirSync(out).filter((n) => !RUN_OUTPUTS.has(n) && !n.endsWith('.tmp')) : [out];
    if (foreign.length > 0) {
      throw new HarnessError('cli.fresh', `--fresh would delete ${out}, which holds more than a reproduction (${foreign.slice(0, 3).join(', ')}${foreign.length > 3 ? ', …' : ''})`, undefined, 'point --out at the reproduction folder, or move those files away');
    }
    rmSync(out, { recursive: true });
  }
  const override = reproduceOverride(o);
  const isolate = o.isolate !== false && o.self ? { self: o.self, only: (c: PlannedCell) => c.spec.workload === 'sharegpt' } : undefined;
  const summary = await runCommand(suiteFile, {
    out,
    resume: true,
    ...(o.ep ? { ep: o.ep } : {}),
    ...(o.repeats !== undefined ? { repeats: o.repeats } : {}),
    ...(o.warmup !== undefined ? { warmup: o.warmup } : {}),
    quiet: Boolean(o.quiet),
    override,
    ...(isolate ? { isolate } : {}),
  }).catch((e: unknown) => {
    // a reproduction's settings are part of its suite: say which ones, and how to go on
    if (e instanceof HarnessError && e.code === 'run.resume')
      throw new HarnessError('reproduce.settings', `${out} holds a reproduction made with other settings (--repeats, --warmup, --model, --longbench or --ep)`, e.location, 'give the same settings to continue it, --fresh to start over, or another --out');
    throw e;
  });
  process.stderr.write(`reproduce: ${summary.ok} cells ran, ${summary.skipped} reused, ${summary.errored} errored\n`);
  if (o.report === false) {
    process.stderr.write(`reproduce: no report (--no-report); the same command without it reuses every cell and writes ${join(out, 'report.html')}\n`);
    return summary.errored > 0 ? 1 : 0;
  }
  // loaded here, not above: --no-report runs where the report's packages (Vega, resvg) are not installed
  const { reportCommand } = await import('./report-command.js');
  const { showCommand } = await import('./show-command.js');
  const reported = await reportCommand(out, { layout: 'paper' });
  // The answer in the terminal too (what `minicache-bench show DIR` prints).
  if (reported === 0 && !o.quiet) showCommand(out, { log: (t) => process.stdout.write(`\n${t}\n`) });
  return Math.max(reported, summary.errored > 0 ? 1 : 0);
}

/**
 * What --model and --longbench change in the paper suite. --longbench swaps the embedded task set
 * for the official data: the workload becomes `longbench` over the paper's seven tasks (the
 * resolved embedded parameters name embedded tasks, so they cannot be kept), with the suite's
 * item and length limits.
 */
/**
 * A Hugging Face model (a folder, or an hf card with dummy weights) runs on the WGSL engine, and its
 * Fig.-5 cells are the paper's scale: batch 1 to 128 and the largest batch at FP16@128's and at an
 * 80 GB card's KV budget (suites/fig5-7b-dummy.yaml), in place of the embedded model's small sweep.
 * Dummy weights run only those: the accuracy sections need real weights.
 */
function paperScale(s: ResolvedSuite, card: string, quiet = false): ResolvedSuite {
  let c;
  try {
    c = readModelCard(card);
  } catch {
    return s; // the run reports a card that does not load, at its cells
  }
  if (c.format !== 'hf') return s;
  const fig5 = loadSuite(PAPER_SCALE_SERVING, nodeSuiteFiles, workloadCatalogue());
  // its workloads run that suite's methods (fp16, kivi2, minicache+kivi4), not every method of paper.yaml
  const serving = fig5.workloads.filter((w) => w.name === 'sharegpt').map((w) => ({ ...w, methods: w.methods ?? fig5.methods.map((m) => m.label ?? m.name) }));
  let workloads = [...s.workloads.filter((w) => w.name !== 'sharegpt'), ...serving];
  if (c.weights === 'dummy') {
    const dropped = workloads.filter((w) => getWorkload(w.name)?.needsRealWeights).map((w) => w.name);
    workloads = workloads.filter((w) => !getWorkload(w.name)?.needsRealWeights);
    if (dropped.length && !quiet) process.stderr.write(`reproduce: ${c.name} has dummy weights: only the Fig. 5 section runs (${[...new Set(dropped)].join(', ')} need real weights)\n`);
  }
  return { ...s, engines: ['webgpu'], workloads };
}

export function reproduceOverride(o: Pick<ReproduceOptions, 'model' | 'longbench' | 'quiet'>): (suite: ResolvedSuite) => ResolvedSuite {
  return (suite) => {
    let s = suite;
    if (o.model) {
      const card = resolve(o.model);
      if (!existsSync(card)) throw new HarnessError('cli.model', `--model: no model card or folder at ${card}`);
      s = { ...s, models: [{ id: modelIdFromPath(card), card }] };
      s = paperScale(s, card, o.quiet);
    }
    if (o.longbench) {
      const dir = resolve(o.longbench);
      if (!existsSync(dir)) throw new HarnessError('cli.longbench', `--longbench: no folder at ${dir}`, undefined, 'give the folder holding the official <task>.jsonl files (LongBench v1 data.zip, unpacked)');
      s = {
        ...s,
        workloads: s.workloads.map((w) => (w.name === 'longbench-embedded' ? { ...w, name: 'longbench', params: { ...w.params, dataDir: dir, tasks: [...PAPER_LONGBENCH_TASKS] } } : w)),
      };
    }
    return s;
  };
}
