#!/usr/bin/env node
import { Command, InvalidArgumentError, Option } from 'commander';
import { HarnessError, Problems } from '../../src/errors.js';
import type { ModelCard } from '../../src/model/model-card.js';
import { getMethod, methodNames } from '../../src/methods/registry.js';
import { workloadCatalogue } from '../../src/runs/catalogue.js';
import { planCells } from '../../src/suite/plan.js';
import { packageVersion } from './provenance.js';
import { cellName, checkDataFiles, resolveSuite, runCommand } from './run-command.js';

const program = new Command();
program
  .name('minicache-bench')
  .description(
    'Benchmark KV-cache compression (MiniCache, KIVI, their composition) on real models. ' +
      'YAML suites expand models x methods x workloads x batch sizes into cells; each finished cell ' +
      'is appended to OUT/results.jsonl, so runs resume, shard and merge.',
  )
  .version(packageVersion())
  .showHelpAfterError()
  // A usage error (unknown option or command, missing argument) is a user error: exit 2 like the
  // others; --help and --version still exit 0. Subcommands inherit this.
  .exitOverride((e) => process.exit(e.exitCode === 0 ? 0 : 2));

program
  .command('run')
  .description('Run a suite: every cell of models x methods x workloads x batch sizes')
  .argument('<suite>', 'suite YAML file (see suites/ and configs/suite.schema.json)')
  .option('-o, --out <dir>', 'output folder for results.jsonl and manifest.json (default: out/<suite name>)')
  .option('--resume', 'continue a run in --out: cells already ok are skipped, nothing is duplicated')
  .option('--shard <i/n>', 'run only shard i of n (deterministic partition by cell id; combine with `merge`)')
  .addOption(new Option('--ep <ep>', 'execution provider (overrides the suite)').choices(['cpu', 'webgpu', 'cuda', 'wasm']))
  .addOption(new Option('--runner <runner>', 'where the engine runs (overrides the suite)').choices(['node', 'browser']))
  .addOption(
    new Option('--engine <engine>', 'what runs the model (overrides the suite): onnxruntime (its graph on --ep), webgpu (the WGSL engine, KV cache on the GPU), or onnxruntime,webgpu for both').choices([
      'onnxruntime',
      'webgpu',
      'onnxruntime,webgpu',
      'webgpu,onnxruntime',
    ]),
  )
  .option('--repeats <n>', "timed repeats per cell (overrides the suite's repeats)")
  .option('--warmup <n>', "untimed warm-up runs per cell (overrides the suite's warmup)")
  .option('--ep-option <key=value>', 'onnxruntime provider option, repeatable (e.g. validationMode=disabled for webgpu); same as MINICACHE_EP_OPTIONS, recorded in provenance', (v: string, acc: string[]) => {
    if (v.indexOf('=') <= 0) throw new InvalidArgumentError('expected key=value, e.g. --ep-option validationMode=disabled');
    return [...acc, v];
  }, [] as string[])
  .option('-q, --quiet', 'no progress output')
  .option('--longbench <dir>', "official LongBench v1 data folder (<task>.jsonl files): sets dataDir of the suite's longbench workloads")
  .option('--headed', 'browser runner: show the browser window (a desktop session, so WebGPU gets the real GPU)')
  .option('--browser-path <path>', 'browser runner: Chromium/Chrome executable (default: /usr/bin/chromium, else Playwright\'s chromium)')
  .option('--isolate', "node runner: run each cell in its own process, so its peak RSS and GPU memory are its own (in one process later cells inherit earlier cells' memory); slower start per cell")
  .addOption(new Option('--cell <id>', 'run only this cell (used by --isolate)').hideHelp())
  .addOption(new Option('--resolved-from <manifest>', "take the resolved suite from a run's manifest.json (used by --isolate)").hideHelp())
  .addOption(
    new Option('--round <k/n>', 'run round k of n of the cell: one timed repeat, for the parent to combine (used by --isolate)')
      .hideHelp()
      .argParser((v: string) => {
        const m = /^(\d+)\/(\d+)$/.exec(v);
        if (!m || Number(m[1]) < 1 || Number(m[1]) > Number(m[2])) throw new InvalidArgumentError('expected k/n with 1 <= k <= n');
        return { index: Number(m[1]) - 1, of: Number(m[2]) };
      }),
  )
  .addHelpText(
    'after',
    '\nExecution providers: node runner: cpu (default), webgpu (Dawn over Vulkan), cuda (needs onnxruntime-node with CUDA);\n' +
      'browser runner: wasm, webgpu. They apply to --engine onnxruntime (the default).\n' +
      'Engines: onnxruntime runs the model as an ONNX graph; webgpu runs it on the project\'s WGSL engine (llama2.c\n' +
      'models) with the KV cache on the GPU: pick it on a GPU for throughput and memory figures. Without a GPU it\n' +
      'runs on SwiftShader (chromium\'s software Vulkan): correct, slow, labelled as such.\n' +
      'Interrupt with Ctrl-C: finished cells are kept; rerun with --resume.',
  )
  .action(async (suite: string, o) => {
    if (o.epOption?.length) process.env.MINICACHE_EP_OPTIONS = [process.env.MINICACHE_EP_OPTIONS, ...o.epOption].filter(Boolean).join(',');
    const ac = new AbortController();
    // Ctrl-C, and SIGTERM from a CI timeout, `timeout`, docker stop or kill: stop between cells the
    // same way (the cell in flight is not recorded; --isolate stops its child too).
    let exitOnSignal = 130;
    const interrupt = (signal: NodeJS.Signals, code: number) => () => {
      if (ac.signal.aborted) return;
      exitOnSignal = code;
      process.stderr.write(`\ninterrupted (${signal}): finishing nothing more; finished cells are in results.jsonl (rerun with --resume)\n`);
      ac.abort();
    };
    process.once('SIGINT', interrupt('SIGINT', 130));
    process.once('SIGTERM', interrupt('SIGTERM', 143));
    const s = await runCommand(suite, { ...o, isolate: o.isolate ? { self: [process.execPath, process.argv[1]!] } : undefined, signal: ac.signal });
    // A child of --isolate (--cell) leaves the summary to its parent: one line per run, not per cell.
    if (!o.cell) process.stderr.write(`done: ${s.ok} ok, ${s.errored} errored, ${s.skipped} already done (of ${s.planned} cells) → ${s.outDir}\n`);
    if (ac.signal.aborted) process.exitCode = exitOnSignal;
    else if (s.errored > 0) process.exitCode = 1;
  });

program
  .command('validate')
  .description('Check a suite (schema, names, model cards, files) and list its cells without running them')
  .argument('<suite>', 'suite YAML file')
  .option('--longbench <dir>', "official LongBench v1 data folder, as for run (sets dataDir of the suite's longbench workloads)")
  .action(async (suite: string, o: { longbench?: string }) => {
    const s = resolveSuite(suite, o);
    // A model card with a mistake fails every cell of its model at run time: say so here, file:line.
    const { readModelCard } = await import('./load-model.js');
    const problems = new Problems();
    const cards = s.models.map((m) => {
      try {
        return readModelCard(m.card);
      } catch (e) {
        problems.absorb(e); // every card's problems, not only the first card's
        return undefined;
      }
    });
    problems.throwIfAny();
    // A parameter value a method refuses (kivi bits: 3) would fail each of its cells at run time.
    const { checkMethodsOnModels } = await import('./check-methods.js');
    checkMethodsOnModels(s, cards as ModelCard[]);
    const cells = planCells(s);
    // The data files run would read first (held-out text, LongBench dataDir), so validate fails where run would.
    checkDataFiles(cells, s.file);
    // Cells a dummy-weight model cannot run (accuracy workloads, the onnxruntime engine), as run refuses them.
    const { checkDummyCells } = await import('./check-dummy.js');
    checkDummyCells(cells, s.file);
    for (const c of cells) console.log(`${c.id}  ${c.spec.model} ${c.spec.workload} ${cellName(c.spec)} batch=${c.spec.batch}${c.spec.engine === 'webgpu' ? ' engine=webgpu' : ''}`);
    console.log(`${s.name}: ${cells.length} cells`);
  });

program
  .command('report')
  .description('Write DIR/report.html (self-contained, Vega-Lite charts), DIR/charts/*.svg|png and DIR/summary.md')
  .argument('<dir>', 'a run folder holding results.jsonl')
  .addOption(new Option('--layout <layout>', 'report layout: default (charts, tables, provenance) or paper (the paper\'s five results)').choices(['default', 'paper']).default('default'))
  .option('--paper-model <name>', "the paper's model whose LongBench row stands beside ours", 'Llama-2-7B-Chat')
  .option('--out <dir>', 'write the report elsewhere (default: DIR)')
  .option('--no-images', 'skip charts/*.svg and *.png')
  .action(async (dir: string, o) => {
    const { reportCommand } = await import('./report-command.js');
    process.exitCode = await reportCommand(dir, { layout: o.layout, paperModel: o.paperModel, images: o.images, ...(o.out ? { out: o.out } : {}) });
  });

program
  .command('show')
  .description("Print a run's answer in the terminal: the paper's claims beside ours (verdict and why), then the per-method table")
  .argument('<dir>', 'a run folder holding results.jsonl')
  .action(async (dir: string) => {
    const { showCommand } = await import('./show-command.js');
    process.exitCode = showCommand(dir);
  });

program
  .command('gate')
  .description('Check results against rules (vs FP16 in the run, vs a baseline run, absolute); exit 0 pass, 1 regression, 2 unusable input')
  .argument('<dir>', 'a run folder holding results.jsonl')
  .option('--baseline <dir>', 'baseline run folder for relative rules (never modified)')
  .option('--config <file>', 'gate rules (default: configs/gates.yaml in the working directory, else the one shipped with minicache-bench)')
  .action(async (dir: string, o) => {
    const { gateCommand } = await import('./gate-command.js');
    process.exitCode = await gateCommand(dir, o);
  });

program
  .command('merge')
  .description('Merge shard folders into one run folder (dedupe by cell id; a merged run equals an unsharded one)')
  .argument('<dirs...>', 'shard run folders')
  .requiredOption('--out <dir>', 'merged run folder')
  .action(async (dirs: string[], o) => {
    const { mergeCommand } = await import('./merge-command.js');
    process.exitCode = await mergeCommand(dirs, o);
  });

program
  .command('score')
  .description("Score LongBench predictions as LongBench's eval.py does: PRED_DIR/<task>.jsonl (lines with pred, answers, all_classes, length) → PRED_DIR/result.json and a table")
  .argument('<pred_dir>', 'folder of prediction files, one <task>.jsonl per task (LongBench pred.py writes pred/<model>/)')
  .option('--e', 'LongBench-E: scores by length bucket 0-4k, 4-8k, 8k+ (eval.py --e)')
  .action(async (dir: string, o: { e?: boolean }) => {
    const { scoreCommand } = await import('./score-command.js');
    process.exitCode = await scoreCommand(dir, { e: !!o.e });
  });

program
  .command('reproduce')
  .description("Reproduce the MiniCache paper's tables and figures on the embedded model (or --model) and write the HTML report")
  .option('--quick', 'a reduced run for CI (about a minute on 2 CPU cores)')
  .option('--model <dir>', 'your model: a folder with model.yaml or model.json (ONNX decoder with KV I/O + tokenizer.json), or the card file')
  .option('--longbench <dir>', 'official LongBench v1 data folder (<task>.jsonl files)')
  .addOption(new Option('--ep <ep>', 'execution provider').choices(['cpu', 'webgpu', 'cuda']))
  .option('-o, --out <dir>', 'output folder (default out/paper, or out/paper-quick with --quick)')
  .option('--fresh', 'discard an earlier reproduction in --out (by default finished cells are reused)')
  .option('--repeats <n>', "timed repeats per cell (overrides the paper suite's; fewer is quicker on a 7B model, with a wider spread)")
  .option('--warmup <n>', "untimed warm-up runs per cell (overrides the paper suite's)")
  .option('--no-isolate', 'run the serving (throughput and memory) cells in this process too: faster, but their peak RSS then includes earlier cells\' memory')
  .option('--no-report', 'run the cells only (on a machine without the report\'s packages); the same command without it later reuses every cell and writes the report')
  .option('-q, --quiet', 'no progress output')
  .action(async (o) => {
    const { reproduceCommand } = await import('./reproduce-command.js');
    process.exitCode = await reproduceCommand({ ...o, self: [process.execPath, process.argv[1]!] });
  });

program
  .command('list')
  .description('List the registered methods and workloads with their parameters and defaults')
  .action(() => {
    console.log('methods:');
    for (const n of methodNames()) console.log(`  ${n.padEnd(16)} ${getMethod(n)!.description}\n  ${''.padEnd(16)} ${JSON.stringify(getMethod(n)!.defaults)}`);
    console.log('workloads:');
    for (const [n, w] of Object.entries(workloadCatalogue())) console.log(`  ${n.padEnd(18)} ${w.description}\n  ${''.padEnd(18)} ${JSON.stringify(w.defaults)}`);
  });

program.parseAsync().catch((e: unknown) => {
  if (e instanceof HarnessError) {
    process.stderr.write(`error: ${e.format()}\n`);
    process.exitCode = 2;
  } else if (fileSystemError(e)) {
    // An output folder that is a file, unwritable or full: say which path, without a stack trace.
    process.stderr.write(`error: ${fileSystemError(e)}\n  hint: check the path (--out and the folders given)\n`);
    process.exitCode = 2;
  } else {
    process.stderr.write(`error: ${(e as Error)?.stack ?? String(e)}\n`);
    process.exitCode = 1;
  }
});

/** `cannot mkdir /x/out: a file is in the way (EEXIST)` for a Node file-system error, else undefined. */
function fileSystemError(e: unknown): string | undefined {
  const x = e as NodeJS.ErrnoException | undefined;
  if (typeof x?.code !== 'string' || typeof x.syscall !== 'string' || typeof x.path !== 'string') return undefined;
  const why: Record<string, string> = {
    EEXIST: 'a file is in the way',
    ENOTDIR: 'a file is in the way (not a folder)',
    EISDIR: 'it is a folder',
    EACCES: 'permission denied',
    EPERM: 'permission denied',
    EROFS: 'read-only file system',
    ENOSPC: 'no space left on the device',
    ENOENT: 'no such file or folder',
  };
  return `cannot ${x.syscall} ${x.path}: ${why[x.code] ?? x.message} (${x.code})`;
}
