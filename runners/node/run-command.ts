import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { HarnessError } from '../../src/errors.js';
import type { InferenceBackend, Tokenizer } from '../../src/engine/backend.js';
import { ENGINES, SCHEMA_VERSION, type CellResult, type Engine } from '../../src/results/record.js';
import { workloadCatalogue, getWorkload } from '../../src/runs/catalogue.js';
import { Rounds } from '../../src/runs/combine-repeats.js';
import { baselineKey, erroredRecord, executionOrder, fp16PartnerToRerun, runCell } from '../../src/runs/run-cell.js';
import { planWork, type WorkItem } from '../../src/runs/work-plan.js';
import type { WorkloadOutput } from '../../src/runs/workload.js';
import { legacySuiteHash, loadSuite, suiteHash } from '../../src/suite/load-suite.js';
import { planCells, type PlannedCell } from '../../src/suite/plan.js';
import { parseShard, shardOf } from '../../src/shard/shard-of.js';
import type { ResolvedSuite } from '../../src/suite/types.js';
import type { ShareGptSource } from '../../src/workloads/sharegpt/parse.js';
import { checkSameData, withDataIdentity } from './data-identity.js';
import { checkDummyCells } from './check-dummy.js';
import { loadJiebaSegmenter } from './jieba-segmenter.js';
import { indexShareGptFile } from './sharegpt-file.js';
import { OrtDeviceDecoder } from './ort-gpu-decoder.js';
import { nodeMemoryProbe } from './ort-gpu-memory.js';
import { envEpOptions, type OrtEp } from './ort-ep.js';
import { loadModel } from './load-model.js';
import { loadEngine } from './load-engine.js';
import type { WebGpuEngine } from '../../src/webgpu/engine.js';
import { Progress, type ProgressMessage } from './progress.js';
import { collectProvenance, projectRoot } from './provenance.js';
import { ResultsSink } from './results-sink.js';
import { cardFile, nodeSuiteFiles } from './suite-files.js';

export interface RunOptions {
  out?: string;
  resume?: boolean;
  shard?: string;
  ep?: string;
  /** Engines to run (comma-separated): onnxruntime, webgpu. Overrides the suite's engine. */
  engine?: string;
  /** Timed repeats and warm-up runs per cell, overriding the suite's. */
  repeats?: string | number;
  warmup?: string | number;
  runner?: string;
  quiet?: boolean;
  /** Official LongBench data folder for the suite's longbench workloads. */
  longbench?: string;
  /** Suite-level overrides applied after loading (from CLI flags such as --model). */
  override?: (suite: ResolvedSuite) => ResolvedSuite;
  /** Browser runner: show the browser window, and which browser executable to launch. */
  headed?: boolean;
  browserPath?: string;
  /** Aborts between cells (Ctrl-C); the browser runner closes its browser at once. */
  signal?: AbortSignal;
  /**
   * Run cells in their own child processes (node runner), so that a record's peak RSS and device
   * memory are that cell's alone: in one process, later cells inherit earlier cells' heap and the
   * GPU allocator's cached buffers. `self` is the command that starts this CLI ([node, cli.js]);
   * `only` picks the cells to isolate (default all); the others run here first, as usual.
   */
  isolate?: { self: readonly string[]; only?: (cell: PlannedCell) => boolean };
  /** Internal (a child of --isolate): run only the cell with this id, and do not rewrite the manifest. */
  cell?: string;
  /** Internal (a child of --isolate): take the resolved suite from this run's manifest.json (the parent's overrides included). */
  resolvedFrom?: string;
  /** Internal (a child of --isolate): run one round (one timed repeat) of the cell, for its parent to combine. */
  round?: { index: number; of: number };
}

/** What a cell's own process (--isolate) sends its parent over the IPC channel. */
type ChildMessage = ProgressMessage | { kind: 'record'; record: CellResult };

/** Set by a parent of --isolate for its children: send progress and records over IPC (not to the terminal and results.jsonl). */
const ISOLATE_IPC = 'MINICACHE_PROGRESS_IPC';

export interface RunSummary {
  outDir: string;
  planned: number;
  skipped: number;
  ok: number;
  errored: number;
}

/**
 * Options that only one runner reads: refuse the browser's flags on the Node runner (they would
 * silently do nothing), and say that onnxruntime-node provider options do not reach the page.
 */
function checkRunnerOptions(suite: ResolvedSuite, opts: RunOptions): void {
  if (suite.runner !== 'browser' && (opts.headed || opts.browserPath)) {
    throw new HarnessError('cli.runner-options', `${opts.headed ? '--headed' : '--browser-path'} applies to the browser runner; this run uses the ${suite.runner} runner`, undefined, 'add --runner browser, or drop the option');
  }
  if (suite.runner === 'browser' && process.env.MINICACHE_EP_OPTIONS?.trim() && !opts.quiet && !opts.cell) {
    process.stderr.write('note: --ep-option / MINICACHE_EP_OPTIONS set onnxruntime-node provider options; the browser runner (onnxruntime-web) does not take them, and they are not recorded\n');
  }
}

/**
 * `minicache-bench run SUITE`:
 * 1. load and check the suite (file:line errors), apply CLI overrides;
 * 2. plan cells, take this shard, drop cells already ok in the output folder (--resume);
 * 3. write manifest.json (provenance + resolved suite);
 * 4. run the cells (FP16 first in each group), appending each record as it finishes.
 */
export async function runCommand(suitePath: string, opts: RunOptions): Promise<RunSummary> {
  const suite = opts.resolvedFrom ? (JSON.parse(readFileSync(opts.resolvedFrom, 'utf8')) as { suite: ResolvedSuite }).suite : resolveSuite(suitePath, opts);
  checkEp(suite);
  checkRunnerOptions(suite, opts);
  const outDir = resolve(opts.out ?? `out/${suite.name}`);
  const sink = new ResultsSink(outDir);
  const previous = sink.read();
  if (opts.resume && opts.shard && previous.length > 0 && !opts.cell) checkSameShard(outDir, opts.shard);
  let hash = suiteHash(suite);
  // A run folder whose records carry the older, path-dependent hash of this suite keeps that hash.
  const legacy = legacySuiteHash(suite);
  if (opts.resume && previous.length > 0 && previous.every((r) => r.provenance.suiteHash === legacy)) hash = legacy;
  if (previous.length > 0 && !opts.resume) {
    // --resume continues only a run of this suite: do not suggest it for another suite's folder.
    const same = previous.every((r) => r.provenance.suiteHash === hash || r.provenance.suiteHash === legacy);
    throw new HarnessError(
      'run.exists',
      same ? `${outDir} already holds results of this suite` : `${outDir} already holds results of another suite (or of this one with other settings)`,
      { file: sink.file },
      same ? 'pass --resume to continue that run, or --out to write elsewhere' : 'pass --out to write elsewhere',
    );
  }
  if (opts.resume && previous.some((r) => r.provenance.suiteHash !== hash)) {
    checkSameData(previousManifestSuite(outDir), suite, join(outDir, 'manifest.json'));
    throw new HarnessError('run.resume', `${outDir} holds results of a different suite (its hash differs)`, { file: sink.file }, 'use another --out');
  }

  const all = planCells(suite);
  let cells = all;
  if (opts.shard) {
    const { index, total } = parseShard(opts.shard);
    cells = shardOf(cells, index, total);
  }
  // The cells this run owns: its shard's (a child of --isolate plans one cell).
  const planned = opts.cell ? 1 : cells.length;
  if (opts.cell) {
    cells = cells.filter((c) => c.id === opts.cell);
    if (cells.length === 0) throw new HarnessError('run.cell', `no cell ${opts.cell} in ${suite.file}`, { file: suite.file }, 'list the cells with `minicache-bench validate SUITE`');
  }
  const done = new Set(previous.filter((r) => r.status === 'ok').map((r) => r.cellId));
  const todo = executionOrder(cells.filter((c) => !done.has(c.id)));
  checkDataFiles(todo, suite.file);
  checkDummyCells(todo, suite.file);

  const epOptions = suite.runner === 'node' ? envEpOptions() : undefined;
  const provenance = {
    ...collectProvenance({ runner: suite.runner, executionProvider: suite.ep, suiteHash: hash, seed: suite.seed, executionProviderOptions: epOptions }),
    ...(opts.cell ? { isolated: true } : {}),
  };
  // A child of --isolate leaves the manifest its parent wrote (it lists the whole run).
  if (!opts.cell) {
    sink.writeJson('manifest.json', {
      schemaVersion: SCHEMA_VERSION,
      suite,
      suiteHash: hash,
      shard: opts.shard ?? null,
      ...(opts.isolate ? { isolate: true } : {}),
      cells: cells.map((c) => ({ id: c.id, ...c.spec })),
      provenance,
      updatedAt: new Date().toISOString(),
    });
  }
  const summary: RunSummary = { outDir, planned, skipped: cells.length - todo.length, ok: 0, errored: 0 };
  // Timed cells run in rounds, methods interleaved (planWork). A child of --isolate runs the one
  // item its parent gave it.
  const items: WorkItem<PlannedCell>[] = opts.cell ? todo.map((cell) => (opts.round ? { cell, round: opts.round } : { cell })) : planWork(todo, suite.repeats);
  const isolated = opts.isolate ? (opts.isolate.only ?? (() => true)) : () => false;
  const here = items.filter((i) => !isolated(i.cell));
  const apart = items.filter((i) => isolated(i.cell));
  const progress = Progress.auto(Boolean(opts.quiet), items.length);
  const rounds = new Rounds();
  try {
    if (here.length > 0) await runHere(here, suite, sink, opts, provenance, summary, all, progress, rounds);
    if (apart.length > 0 && !opts.signal?.aborted) await runIsolated(suitePath, apart, sink, opts, summary, suite, provenance, progress, here.length, rounds);
  } finally {
    progress.stop();
  }
  return summary;
}

function itemLabel(item: WorkItem<PlannedCell>): string {
  return `${describe(item.cell)}${item.round ? ` (round ${item.round.index + 1}/${item.round.of})` : ''}`;
}

/** The resolved suite of a run folder's manifest.json, when it has a readable one. */
function previousManifestSuite(outDir: string): ResolvedSuite | undefined {
  try {
    return (JSON.parse(readFileSync(join(outDir, 'manifest.json'), 'utf8')) as { suite?: ResolvedSuite }).suite;
  } catch {
    return undefined;
  }
}

/**
 * --resume --shard i/n continues that shard: a folder holding another shard (or a whole run) would
 * end up with a manifest naming shard i/n beside the other shard's records, and merge would misread it.
 */
function checkSameShard(outDir: string, shard: string): void {
  const file = join(outDir, 'manifest.json');
  if (!existsSync(file)) return;
  let held: unknown;
  try {
    held = (JSON.parse(readFileSync(file, 'utf8')) as { shard?: unknown }).shard ?? null;
  } catch {
    return;
  }
  const want = parseShard(shard);
  const have = typeof held === 'string' ? parseShard(held) : null;
  if (have && have.index === want.index && have.total === want.total) return;
  throw new HarnessError(
    'run.resume',
    `${outDir} holds ${have ? `shard ${have.index}/${have.total}` : 'a run of the whole suite'}, not shard ${want.index}/${want.total}`,
    { file, field: 'shard' },
    have ? `resume it with --shard ${have.index}/${have.total}, or give shard ${want.index}/${want.total} its own --out` : 'resume it without --shard, or give the shard its own --out',
  );
}

/** The suite as the command line makes it: the YAML, then --ep, --runner, --longbench and programmatic overrides. */
export function resolveSuite(suitePath: string, opts: RunOptions): ResolvedSuite {
  let suite = loadSuite(resolve(suitePath), nodeSuiteFiles, workloadCatalogue());
  if (opts.ep) suite = { ...suite, ep: opts.ep as ResolvedSuite['ep'] };
  if (opts.engine) suite = { ...suite, engines: opts.engine.split(',').map((e) => e.trim()) as Engine[] };
  if (opts.repeats !== undefined) suite = { ...suite, repeats: positiveInt(opts.repeats, '--repeats', 1) };
  if (opts.warmup !== undefined) suite = { ...suite, warmup: positiveInt(opts.warmup, '--warmup', 0) };
  if (opts.runner) suite = { ...suite, runner: opts.runner as ResolvedSuite['runner'] };
  if (opts.longbench) {
    const dir = resolve(opts.longbench);
    if (!existsSync(dir)) throw new HarnessError('cli.longbench', `--longbench: no folder at ${dir}`, undefined, 'give the folder holding the official <task>.jsonl files');
    if (!suite.workloads.some((w) => w.name === 'longbench')) throw new HarnessError('cli.longbench', '--longbench: this suite has no longbench workload', { file: suite.file, field: 'workloads' });
    suite = { ...suite, workloads: suite.workloads.map((w) => (w.name === 'longbench' ? { ...w, params: { ...w.params, dataDir: dir } } : w)) };
  }
  if (opts.override) suite = opts.override(suite);
  return withDataIdentity(suite);
}

function positiveInt(v: string | number, flag: string, min: number): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new HarnessError('cli.usage', `${flag} must be an integer ≥ ${min}, got ${JSON.stringify(v)}`);
  return n;
}

/** Errors of loading a model that every cell of the run would hit alike (see ort-ep.ts). */
const EP_UNAVAILABLE = new Set(['ep.cuda-missing', 'ep.webgpu-unavailable', 'engine.webgpu-unavailable']);

/**
 * Runs items in this process (FP16 first in each group, so later cells find their baseline),
 * appending each cell's record as it is complete.
 */
async function runHere(
  items: WorkItem<PlannedCell>[],
  suite: ResolvedSuite,
  sink: ResultsSink,
  opts: RunOptions,
  provenance: CellResult['provenance'],
  summary: RunSummary,
  all: readonly PlannedCell[],
  progress: Progress,
  rounds: Rounds,
): Promise<void> {
  // A record is kept in results.jsonl; a child of --isolate with an IPC channel hands it to its parent instead.
  const viaParent = Boolean(opts.cell && process.send && process.env[ISOLATE_IPC] === '1');
  const keep = (item: WorkItem<PlannedCell>, record: CellResult, caveat = '') => {
    if (viaParent) {
      process.send!({ kind: 'record', record } satisfies ChildMessage);
      return;
    }
    const complete = rounds.add(item, record);
    if (!complete) {
      progress.itemEnd(record.status, headline(record));
      return;
    }
    sink.append(complete);
    if (complete.status === 'ok') summary.ok++;
    else summary.errored++;
    progress.itemEnd(complete.status, complete.status === 'ok' ? headline(complete) + caveat : complete.status === 'errored' ? complete.error.message.split('\n')[0]! : '');
  };

  if (suite.runner === 'browser') {
    // The same cells, run in a Playwright-launched Chromium page (runners/browser); records land here.
    const { runCellsInBrowser, timingCaveat } = await import('../browser/host/run-browser.js');
    await runCellsInBrowser(items, suite, provenance, { headed: opts.headed, browserPath: opts.browserPath, signal: opts.signal }, {
      onBrowser: ({ browser, env }) => progress.line(`browser: ${browser}, ep ${suite.ep}${env.adapter ? `, adapter ${env.adapter.description || env.adapter.vendor}${env.adapter.fallback ? ' (software fallback: timings are not GPU timings)' : ''}` : ''}`),
      onCellStart: (i, item) => progress.itemStart(i, itemLabel(item)),
      onProgress: (d, t, note) => progress.update(d, t, note),
      onRecord: (record, item) => keep(item, record, timingCaveat(record)),
      skip: (item) => rounds.skip(item),
      onLog: (line) => progress.line(line),
    });
    return;
  }

  const models = new Map<string, Promise<{ backend: InferenceBackend; tokenizer: Tokenizer; engine?: WebGpuEngine }>>();
  const baselines = new Map<string, WorkloadOutput>();
  // Device-resident cache path (issue 6): one fp16-KV device decoder per model, built when a cell first asks.
  const devices = new Map<string, Promise<OrtDeviceDecoder>>();
  // device memory from nvidia-smi on a GPU EP, and for cells on the WGSL engine (which runs on the GPU whatever the EP)
  const memory = nodeMemoryProbe({ gpu: suite.ep !== 'cpu' || (suite.engines ?? []).includes('webgpu') });
  // Large ShareGPT files, indexed once per run (their pairs are read back one at a time).
  const shareGptIndexes = new Map<string, Promise<ShareGptSource>>();
  try {
    for (const [i, item] of items.entries()) {
      if (opts.signal?.aborted) break;
      if (rounds.skip(item)) continue;
      const cell = item.cell;
      progress.itemStart(i, itemLabel(item));
      let record: CellResult;
      let output: WorkloadOutput | undefined;
      try {
        const cardPath = cardFile(cell.modelCard);
        // one loaded model per card and engine: onnxruntime's session on the EP, or the WebGPU engine
        const onEngine = cell.spec.engine === 'webgpu';
        const modelKey = `${onEngine ? 'webgpu' : 'onnxruntime'}:${cardPath}`;
        if (!models.has(modelKey)) models.set(modelKey, onEngine ? loadEngine(cardPath, { onProgress: (d, t, note) => progress.update(d, t, note) }) : loadModel(cardPath, { ep: suite.ep as 'cpu' | 'webgpu' | 'cuda' }));
        const { backend, tokenizer, engine } = await models.get(modelKey)!;
        const exec = (c: PlannedCell, onProgress: (d: number, t: number, note?: string) => void) =>
          runCell(c.id, c.spec, {
            backend,
            tokenizer,
            data: loadData(c, suite.file),
            provenance,
            suite: suite.name,
            // One round of an interleaved cell times one repeat (after its warm-up).
            repeats: item.round ? 1 : suite.repeats,
            warmup: suite.warmup,
            ...(baselines.has(baselineKey(c.spec)) ? { baseline: baselines.get(baselineKey(c.spec))! } : {}),
            onProgress,
            segment: (text: string) => loadJiebaSegmenter()(text),
            ...(opts.signal ? { signal: opts.signal } : {}),
            device: () => {
              if (!devices.has(cardPath)) devices.set(cardPath, OrtDeviceDecoder.fromCard(cardPath, backend.model, { ep: suite.ep as OrtEp }));
              return devices.get(cardPath)!;
            },
            ...(engine ? { engine } : {}),
            memoryProbe: memory.probe,
            shareGpt: (name, onProgress) => {
              const path = dataPaths(c, suite.file).find((d) => d.name === name)?.path;
              if (!path) return Promise.reject(new Error(`${name} is not a data file of this cell`));
              if (!shareGptIndexes.has(path)) shareGptIndexes.set(path, indexShareGptFile(path, { onProgress }));
              return shareGptIndexes.get(path)!;
            },
          });
        // A child of --isolate does not rerun FP16: its memory must be its own cell's.
        const fp16 = opts.cell ? undefined : fp16PartnerToRerun(cell, all, baselines.has(baselineKey(cell.spec)));
        if (fp16) {
          const again = await exec(fp16, (d, t) => progress.update(d, 2 * t, 'FP16 outputs to compare with'));
          if (again.record.status === 'ok' && again.output) baselines.set(baselineKey(cell.spec), again.output);
        }
        if (opts.signal?.aborted) break;
        ({ record, output } = await exec(cell, (d, t, note) => progress.update(fp16 ? t + d : d, fp16 ? 2 * t : t, note)));
      } catch (e) {
        // An execution provider that cannot start fails every cell alike: stop with its instruction
        // (how to install CUDA's binaries, which driver WebGPU needs) instead of recording each cell.
        if (e instanceof HarnessError && EP_UNAVAILABLE.has(e.code)) throw e;
        // Failing to load a model or its data is this cell's error; the run goes on.
        record = erroredRecord(cell.id, cell.spec, suite.name, provenance, e);
      }
      if (opts.signal?.aborted) break; // an aborted cell is not recorded: --resume reruns it
      if (record.status === 'ok' && cell.spec.method === 'fp16' && output) baselines.set(baselineKey(cell.spec), output);
      keep(item, record);
    }
  } finally {
    for (const m of models.values()) await m.then((x) => x.backend.dispose()).catch(() => {});
    for (const d of devices.values()) await d.then((x) => x.dispose()).catch(() => {});
    memory.stop();
  }
}

/**
 * --isolate: one child process per item (a cell, or one round of an interleaved cell), each
 * `run SUITE --out DIR --resume --cell ID [--round k/n]` with this run's options. A child sends
 * its progress and its record over the IPC channel; this process keeps the records (combining a
 * cell's rounds), so an interrupted run resumes as usual.
 */
async function runIsolated(
  suitePath: string,
  items: WorkItem<PlannedCell>[],
  sink: ResultsSink,
  opts: RunOptions,
  summary: RunSummary,
  suite: ResolvedSuite,
  provenance: CellResult['provenance'],
  progress: Progress,
  offset: number,
  rounds: Rounds,
): Promise<RunSummary> {
  if (suite.runner !== 'node') throw new HarnessError('run.isolate', '--isolate runs cells as separate node processes: use it with the node runner');
  if (items.some((i) => i.cell.spec.workload === 'longbench' || i.cell.spec.workload === 'longbench-embedded')) {
    progress.line('isolate: LongBench cells run without the FP16 outputs of another process, so their agreement with FP16 is not computed');
  }
  // The children take the resolved suite (every override applied) from the manifest this run wrote.
  const forwarded = ['--resolved-from', join(summary.outDir, 'manifest.json'), ...(opts.quiet ? ['--quiet'] : [])];
  for (const [k, item] of items.entries()) {
    if (opts.signal?.aborted) break;
    if (rounds.skip(item)) continue;
    const cell = item.cell;
    progress.itemStart(offset + k, `${itemLabel(item)}, own process`);
    const [cmd, ...pre] = opts.isolate!.self;
    let delivered: CellResult | undefined;
    const round = item.round ? ['--round', `${item.round.index + 1}/${item.round.of}`] : [];
    const code = await new Promise<number | null>((done) => {
      // The child shares the terminal (errors) and the process group (Ctrl-C reaches it too).
      const child = spawn(cmd!, [...pre, 'run', suitePath, '--out', summary.outDir, '--resume', '--cell', cell.id, ...round, ...forwarded], {
        stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
        env: { ...process.env, [ISOLATE_IPC]: '1' },
      });
      child.on('message', (m: ChildMessage) => {
        if (m.kind === 'progress') progress.update(m.done, m.total, m.note);
        else if (m.kind === 'record') delivered = m.record;
      });
      // A signal sent to this process alone (kill PID, a CI timeout) must stop the child too: left
      // running, it would finish its cell after this run ended.
      const stop = () => child.kill('SIGTERM');
      opts.signal?.addEventListener('abort', stop, { once: true });
      child.on('close', (c) => {
        opts.signal?.removeEventListener('abort', stop);
        done(c);
      });
      child.on('error', () => done(null));
    });
    if (code === 130 || code === 143 || opts.signal?.aborted) break; // interrupted: --resume reruns the cell
    if (code === 2) {
      // The child stopped on a problem that is not its cell's (its error, with a hint, is printed above).
      throw new HarnessError('run.isolate', `the process of cell ${cell.id} stopped with exit code 2 (its error is above); the remaining cells were not run`, undefined, 'fix that, then rerun with --resume');
    }
    // The child died before it could send anything (out of memory, a crash in native code).
    const record = delivered ?? erroredRecord(cell.id, cell.spec, suite.name, { ...provenance, isolated: true }, new Error(`the cell's process exited with code ${code ?? 'unknown'} before recording a result`));
    const complete = rounds.add(item, record);
    if (!complete) {
      progress.itemEnd(record.status, headline(record));
      continue;
    }
    sink.append(complete);
    if (complete.status === 'ok') summary.ok++;
    else summary.errored++;
    progress.itemEnd(complete.status, complete.status === 'ok' ? headline(complete) : complete.status === 'errored' ? complete.error.message.split('\n')[0]! : '');
  }
  return summary;
}

/** The method, and the cell's label when it has one (a workload label alone must not hide the method). */
export function cellName(s: PlannedCell['spec']): string {
  return s.label ? `${s.method} [${s.label}]` : s.method;
}

function describe(c: PlannedCell): string {
  const s = c.spec;
  return `${s.model} ${s.workload} ${cellName(s)} b=${s.batch}${s.engine === 'webgpu' ? ' [webgpu engine]' : ''}`;
}

function headline(r: CellResult): string {
  if (r.status !== 'ok') return '';
  const m = r.metrics;
  const parts = [`ratio ${m.compressionRatio.toFixed(2)}x @${m.seqLen}`];
  if (m.decodeTokensPerSecond) parts.push(`decode ${m.decodeTokensPerSecond.toFixed(1)} tok/s`);
  for (const t of r.tasks ?? []) parts.push(`${t.task} ${t.score}`);
  return parts.join(', ');
}

function checkEp(suite: ResolvedSuite): void {
  const bad = (suite.engines ?? []).filter((e) => !ENGINES.includes(e));
  if (bad.length) throw new HarnessError('run.engine', `unknown engine "${bad[0]}"`, { file: suite.file, field: 'engine' }, `choose ${ENGINES.join(' or ')}`);
  const ok = suite.runner === 'browser' ? ['wasm', 'webgpu'] : ['cpu', 'webgpu', 'cuda'];
  if (!ok.includes(suite.ep)) {
    throw new HarnessError('run.ep', `execution provider "${suite.ep}" is not available in the ${suite.runner} runner (choose ${ok.join(' or ')})`, { file: suite.file, field: 'ep' });
  }
}

/** Where each data file a cell's workload asks for lives: `model:` paths from the model folder, `project:` from this package, others from the suite's folder. */
export function dataPaths(cell: PlannedCell, suiteFile: string): { name: string; path: string; optional: boolean }[] {
  const workload = getWorkload(cell.spec.workload)!;
  return workload.dataFiles(cell.spec.workloadParams).map((name) => {
    const optional = name.endsWith('?');
    const bare = optional ? name.slice(0, -1) : name;
    const path = bare.startsWith('model:')
      ? resolve(dirname(cardFile(cell.modelCard)), bare.slice('model:'.length))
      : bare.startsWith('project:')
        ? resolve(projectRoot, bare.slice('project:'.length))
        : isAbsolute(bare)
        ? bare
        : resolve(dirname(suiteFile), bare);
    return { name, path, optional };
  });
}

/** Fail before running anything when a required data file is missing. */
export function checkDataFiles(cells: PlannedCell[], suiteFile: string): void {
  for (const cell of cells) {
    let paths;
    try {
      paths = dataPaths(cell, suiteFile);
    } catch (e) {
      throw new HarnessError('data.params', (e as Error).message, { file: suiteFile, field: `workloads(${cell.spec.workload}).params` });
    }
    for (const d of paths) {
      if (!d.optional && !existsSync(d.path)) {
        throw new HarnessError('data.missing', `data file not found: ${d.path}`, { file: suiteFile, field: `workloads(${cell.spec.workload}).params` }, 'check dataDir / text paths (relative to the suite file; model: means the model folder)');
      }
    }
  }
}

/** Read the files a cell's workload asks for (missing optional files are left out; large ones are streamed by the workload through shareGpt). */
export function loadData(cell: PlannedCell, suiteFile: string): Map<string, string> {
  const data = new Map<string, string>();
  const large = new Set(getWorkload(cell.spec.workload)!.largeFiles?.(cell.spec.workloadParams) ?? []);
  for (const d of dataPaths(cell, suiteFile)) {
    if (large.has(d.name)) continue;
    if (!existsSync(d.path)) {
      if (d.optional) continue;
      throw new HarnessError('data.missing', `data file not found: ${d.path}`, { file: suiteFile, field: `workloads(${cell.spec.workload}).params` });
    }
    data.set(d.name, readFileSync(d.path, 'utf8'));
  }
  return data;
}
