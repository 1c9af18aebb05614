/**
 * The browser runner's loop, called by `minicache-bench run` for suites with runner: browser.
 *  1. build (or reuse) the page bundle and start the local server;
 *  2. launch Chromium and open the page for the EP; read the browser version and WebGPU adapter
 *     into the run's provenance;
 *  3. per cell: resolve its model card and data files on the host, register them with the
 *     server (the page fetches them), run the cell in the page, hand the record back;
 *  4. close the browser on the way out, on error and on abort (Ctrl-C).
 * Records land through the caller's sink exactly as the Node runner's do.
 */
import { existsSync, statSync } from 'node:fs';
import { HarnessError } from '../../../src/errors.js';
import type { CellResult, Provenance } from '../../../src/results/record.js';
import { baselineKey, fp16PartnerToRerun } from '../../../src/runs/run-cell.js';
import type { WorkloadOutput } from '../../../src/runs/workload.js';
import type { WorkItem } from '../../../src/runs/work-plan.js';
import { planCells, type PlannedCell } from '../../../src/suite/plan.js';
import type { ResolvedSuite } from '../../../src/suite/types.js';
import { readModelCard } from '../../node/load-model.js';
import { dataPaths } from '../../node/run-command.js';
import { erroredRecord } from '../../../src/runs/run-cell.js';
import { cardFile } from '../../node/suite-files.js';
import type { BrowserEp, PageCellRequest, PageEnvironment, PageModelSource } from '../protocol.js';
import { pageBundle } from './bundle.js';
import { BrowserSession } from './page-session.js';
import { startPageServer, type PageServer } from './server.js';

export interface BrowserRunOptions {
  headed?: boolean;
  browserPath?: string;
  signal?: AbortSignal;
  /** WASM threads in the page (default: all cores). */
  threads?: number;
}

export interface BrowserRunHooks {
  /** The browser is up: its version and adapter are known. */
  onBrowser?: (info: { browser: string; env: PageEnvironment }) => void;
  onCellStart?: (index: number, item: WorkItem<PlannedCell>) => void;
  onProgress?: (done: number, total: number, note?: string) => void;
  /** A finished item (a cell, or one round of it); not called for one cut short by abort (--resume reruns it). */
  onRecord: (record: CellResult, item: WorkItem<PlannedCell>) => void;
  /** A later round of a cell whose earlier round failed: not run. */
  skip?: (item: WorkItem<PlannedCell>) => boolean;
  /** Page console errors and runner notices. */
  onLog?: (line: string) => void;
}

/** Provenance of browser records: the browser and, on WebGPU, the adapter (fallback = software). */
export function browserProvenance(base: Provenance, browser: string, env: PageEnvironment): Provenance {
  const a = env.adapter;
  return {
    ...base,
    browser: `${browser} (${env.userAgent.includes('Headless') ? 'headless' : 'headed'}; wasm threads ${env.wasmThreads}${env.crossOriginIsolated ? '' : ', not cross-origin isolated'})`,
    versions: { ...base.versions, 'onnxruntime-web (page)': env.ort },
    ...(a ? { adapter: { vendor: a.vendor, architecture: a.architecture, description: a.description, fallback: a.fallback } } : {}),
  };
}

/** The model of a cell as the page will fetch it. */
function modelSource(cell: PlannedCell, server: PageServer): PageModelSource {
  const file = cardFile(cell.modelCard);
  const card = readModelCard(file);
  if (card.format === 'hf') {
    // the page's engines are onnxruntime-web's: Hugging Face folders and dummy weights run on the Node runner's WGSL engine
    throw new HarnessError('engine.model', `${card.name} is a Hugging Face folder${card.weights === 'dummy' ? ' with dummy weights' : ''}: the browser runner cannot load it`, { file: card.file, field: 'format' }, 'run it with the node runner and --engine webgpu');
  }
  const externalData = card.format === 'onnx' ? [`${card.path}.data`, `${card.path}_data`].filter((p) => existsSync(p)) : [];
  const fileBytes = [card.path, ...externalData].reduce((s, p) => s + statSync(p).size, 0);
  return {
    key: file,
    card: { ...card, path: server.register(card.path), tokenizer: server.register(card.tokenizer) },
    externalData: externalData.map((p) => ({ path: p.slice(p.lastIndexOf('/') + 1), url: server.register(p) })),
    fileBytes,
  };
}

function hostError(cell: PlannedCell, suite: ResolvedSuite, provenance: Provenance, e: unknown): CellResult {
  return erroredRecord(cell.id, cell.spec, suite.name, provenance, e);
}

/**
 * Runs the items in one browser page, in order: whole cells, or one round (one timed repeat) of an
 * interleaved cell, whose records the caller combines (planWork, combineRepeats).
 */
export async function runCellsInBrowser(items: WorkItem<PlannedCell>[], suite: ResolvedSuite, base: Provenance, opts: BrowserRunOptions, hooks: BrowserRunHooks): Promise<void> {
  if (items.length === 0 || opts.signal?.aborted) return;
  const ep = suite.ep as BrowserEp;
  const server = await startPageServer({ bundle: await pageBundle() });
  let session: BrowserSession | undefined;
  const abort = () => void session?.close();
  opts.signal?.addEventListener('abort', abort, { once: true });
  try {
    session = await BrowserSession.open(server, { ep, headed: opts.headed, browserPath: opts.browserPath, threads: opts.threads, onConsole: hooks.onLog });
    if (opts.signal?.aborted) return;
    hooks.onBrowser?.({ browser: session.browserVersion, env: session.env });
    const provenance = browserProvenance(base, session.browserVersion, session.env);
    const baselines = new Map<string, WorkloadOutput>();
    // Every cell of the suite, to find a cell's FP16 partner when it is not among these cells.
    const all = planCells(suite);
    const request = (c: PlannedCell, repeats = suite.repeats): PageCellRequest => ({
      id: c.id,
      cell: c.spec,
      model: modelSource(c, server),
      data: dataPaths(c, suite.file)
        .filter((d) => !d.optional || existsSync(d.path))
        .map((d) => ({ name: d.name, url: server.register(d.path) })),
      provenance,
      suite: suite.name,
      repeats,
      warmup: suite.warmup,
      ...(suite.nonFinite ? { nonFinite: suite.nonFinite } : {}),
      ...(baselines.has(baselineKey(c.spec)) ? { baseline: baselines.get(baselineKey(c.spec))! } : {}),
    });
    for (const [i, item] of items.entries()) {
      if (opts.signal?.aborted) break;
      if (hooks.skip?.(item)) continue;
      const cell = item.cell;
      hooks.onCellStart?.(i, item);
      let record: CellResult;
      let output: WorkloadOutput | undefined;
      try {
        // FP16's outputs for the comparison, when its cell is not in this run (as on the Node runner).
        const fp16 = fp16PartnerToRerun(cell, all, baselines.has(baselineKey(cell.spec)));
        if (fp16) {
          const again = await session.runCell(request(fp16), (e) => hooks.onProgress?.(e.done, 2 * e.total, 'FP16 outputs to compare with'));
          if (again.record.status === 'ok' && again.output) baselines.set(baselineKey(cell.spec), again.output);
          if (opts.signal?.aborted) break;
        }
        ({ record, output } = await session.runCell(request(cell, item.round ? 1 : suite.repeats), (e) => hooks.onProgress?.(fp16 ? e.total + e.done : e.done, fp16 ? 2 * e.total : e.total, e.note)));
      } catch (e) {
        if (opts.signal?.aborted) break;
        record = hostError(cell, suite, provenance, e);
      }
      if (opts.signal?.aborted) break; // an aborted cell is not recorded: --resume reruns it
      if (record.status === 'ok' && cell.spec.method === 'fp16' && output) baselines.set(baselineKey(cell.spec), output);
      hooks.onRecord(record, item);
    }
  } finally {
    opts.signal?.removeEventListener('abort', abort);
    await session?.close();
    await server.close();
  }
}

/** Words to print beside a browser timing: software adapters are never shown as GPU timings. */
export function timingCaveat(record: CellResult): string {
  const p = record.provenance;
  if (p.runner !== 'browser') return '';
  if (p.adapter?.fallback) return ` [${p.adapter.architecture || 'software'} adapter: CPU-emulated WebGPU, not a GPU timing]`;
  if (p.executionProvider === 'wasm') return ' [browser wasm: CPU]';
  return '';
}
