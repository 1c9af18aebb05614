/**
 * Entry of the page bundle (esbuild: runners/browser/host/bundle.ts). It runs the same engine
 * code as the Node runner — runCell → workload → generate / generateOnDevice → methods — on
 * onnxruntime-web, and puts its API (protocol.ts PageApi) on globalThis for the host's
 * page.evaluate calls.
 *
 * onnxruntime-web is not bundled: the page's import map points 'onnxruntime-web' at the build
 * the EP needs (ort.webgpu.min.mjs or ort.wasm.min.mjs) on the local server.
 */
import * as ort from 'onnxruntime-web';
import type { DeviceDecoder } from '../../../src/gpu/device-types.js';
import type { CellResult } from '../../../src/results/record.js';
import { erroredRecord, runCell } from '../../../src/runs/run-cell.js';
import { PAGE_API, PROGRESS_BINDING, type AdapterInfo, type BrowserEp, type PageApi, type PageCellRequest, type PageCellResponse, type PageEnvironment, type PageInit, type ProgressEvent } from '../protocol.js';
import { describeAdapter, requestAdapter } from './adapter.js';
import { fetchText } from './fetch-bytes.js';
import { loadJiebaSegmenter, needsSegmenter } from './jieba-segmenter.js';
import type { GpuDeviceLike } from './gpu-types.js';
import { loadPageModel, type PageModel } from './page-model.js';
import { kvDtypeFor, WebDeviceDecoder } from './web-device-decoder.js';
import { GpuContext } from '../../../src/webgpu/gpu-context.js';
import { WebGpuEngine } from '../../../src/webgpu/engine.js';
import { EngineBackend } from '../../../src/webgpu/engine-backend.js';
import { llama2cEngineConfig, llama2cWeightSource } from '../../../src/webgpu/sources/llama2c-source.js';

let ep: BrowserEp | undefined;
let jiebaData = '';
let adapter: AdapterInfo | undefined;
interface Loaded {
  key: string;
  model: Promise<PageModel>;
  /** The device-resident path's decoder (WebGPU, llama2.c models), built when a cell first asks. */
  device?: Promise<WebDeviceDecoder>;
  /** The project's WGSL engine with this model's weights (cells with engine: webgpu), on first use. */
  engine?: Promise<WebGpuEngine>;
}
let loaded: Loaded | undefined;
/** Set once the WebGPU device is lost: every later cell fails fast and the host reloads the page. */
let deviceLost: string | undefined;
const rejectOnLoss = new Set<(e: Error) => void>();

async function init(i: PageInit): Promise<PageEnvironment> {
  ep = i.ep;
  jiebaData = i.jiebaData;
  ort.env.wasm.wasmPaths = i.wasmPaths;
  // All cores, as the Node runner's intraOpNumThreads; ORT's default is half of them.
  ort.env.wasm.numThreads = i.threads > 0 ? i.threads : crossOriginIsolated ? navigator.hardwareConcurrency : 1;
  ort.env.logLevel = 'error';
  if (i.ep === 'webgpu') adapter = describeAdapter(await requestAdapter());
  return {
    ep: i.ep,
    userAgent: navigator.userAgent,
    crossOriginIsolated,
    wasmThreads: ort.env.wasm.numThreads,
    hardwareConcurrency: navigator.hardwareConcurrency,
    ort: ort.env.versions.web ?? ort.env.versions.common ?? 'unknown',
    ...(adapter ? { adapter } : {}),
  };
}

/** After the first WebGPU session exists, ORT's device is known: watch it for loss. */
async function watchDevice(): Promise<void> {
  if (ep !== 'webgpu') return;
  const device = (await (ort.env.webgpu.device as unknown as Promise<GpuDeviceLike | undefined>)) ?? undefined;
  if (!device || (device as { __watched?: boolean }).__watched) return;
  (device as { __watched?: boolean }).__watched = true;
  void device.lost.then((info) => {
    deviceLost = `WebGPU device lost (${info.reason || 'unknown'}): ${info.message}`;
    for (const r of rejectOnLoss) r(new Error(deviceLost));
    rejectOnLoss.clear();
  });
}

async function dispose(l: Loaded | undefined): Promise<void> {
  if (!l) return;
  (await l.engine?.catch(() => undefined))?.dispose();
  await (await l.device?.catch(() => undefined))?.dispose().catch(() => {});
  await (await l.model.catch(() => undefined))?.backend.dispose().catch(() => {});
}

async function modelFor(req: PageCellRequest): Promise<Loaded> {
  if (loaded?.key !== req.model.key) {
    // One model at a time: a browser tab's memory is the scarce resource.
    const old = loaded;
    loaded = undefined;
    await dispose(old);
    loaded = { key: req.model.key, model: loadPageModel(req.model, ep!) };
  }
  await loaded.model;
  await watchDevice();
  return loaded;
}

/**
 * The device-resident cache path, offered on WebGPU for llama2.c models (the harness builds the
 * decoder with the cache's K/V type). Workloads with a `cache` parameter (sharegpt) use it for
 * every method src/gpu has a device version of; others keep the cache on the host.
 */
function deviceFor(l: Loaded, req: PageCellRequest): (() => Promise<DeviceDecoder>) | undefined {
  if (ep !== 'webgpu' || req.model.card.format !== 'llama2c') return undefined;
  return () =>
    (l.device ??= l.model.then(({ backend, weights }) =>
      WebDeviceDecoder.fromLlama2c(weights!, backend.model, { ep: 'webgpu', kv: kvDtypeFor(adapter?.features ?? []), ropeTheta: req.model.card.ropeTheta, rmsEps: req.model.card.rmsEps }),
    ));
}

/**
 * The WGSL engine in the page: its own device from navigator.gpu (as the Node runner's from Dawn),
 * the llama2.c weights the page already fetched uploaded tensor by tensor. Same engine code, same
 * records as the Node runner.
 */
function engineFor(l: Loaded, req: PageCellRequest): Promise<WebGpuEngine> {
  if (req.model.card.format !== 'llama2c') return Promise.reject(new Error(`the webgpu engine in the page runs llama2.c models; ${req.model.card.name} is ${req.model.card.format}`));
  return (l.engine ??= (async () => {
    const { weights } = await l.model;
    const a = await requestAdapter();
    const ctx = await GpuContext.fromAdapter(a as unknown as GPUAdapter);
    const card = req.model.card;
    return WebGpuEngine.load(ctx, llama2cEngineConfig(weights!, { name: card.name, bos: card.bos, eos: card.eos, maxContext: card.maxContext, ropeTheta: card.ropeTheta, rmsEps: card.rmsEps }), llama2cWeightSource(weights!));
  })());
}

function progressReporter(cellId: string): (done: number, total: number, note?: string) => void {
  const send = (globalThis as unknown as Record<string, ((e: ProgressEvent) => Promise<void>) | undefined>)[PROGRESS_BINDING];
  let last = 0;
  // Throttled: the binding is a round trip to the host and steps can be sub-millisecond.
  return (done, total, note) => {
    const t = performance.now();
    if (!send || (t - last < 200 && done < total)) return;
    last = t;
    void send({ cellId, done, total, ...(note ? { note } : {}) }).catch(() => {});
  };
}

/** The shared errored record, with the page's timing and stack (page errors are hard to reproduce). */
function pageError(req: PageCellRequest, e: unknown, startedAt: string, t0: number): CellResult {
  const base = erroredRecord(req.id, req.cell, req.suite, req.provenance, e);
  const stack = e instanceof Error ? e.stack : undefined;
  return base.status === 'errored' ? { ...base, startedAt, durationMs: performance.now() - t0, error: { ...base.error, ...(stack ? { stack } : {}) } } : base;
}

/** Rejects when the device is lost, so a cell waiting on a dead GPU ends instead of hanging. */
function onDeviceLoss(): { lost: Promise<never>; cancel: () => void } {
  let reject: (e: Error) => void = () => {};
  const lost = new Promise<never>((_, r) => {
    reject = r;
    if (deviceLost) r(new Error(deviceLost));
    else rejectOnLoss.add(r);
  });
  lost.catch(() => {});
  return { lost, cancel: () => rejectOnLoss.delete(reject) };
}

async function runOne(req: PageCellRequest): Promise<PageCellResponse> {
  if (!ep) throw new Error('page: init() was not called');
  const startedAt = new Date().toISOString();
  const t0 = performance.now();
  if (deviceLost) return { record: pageError(req, new Error(deviceLost), startedAt, t0), reload: deviceLost };
  const { lost, cancel } = onDeviceLoss();
  try {
    const work = (async () => {
      const l = await modelFor(req);
      const { backend: ortBackend, tokenizer } = await l.model;
      const engine = req.cell.engine === 'webgpu' ? await engineFor(l, req) : undefined;
      const backend = engine ? new EngineBackend(engine) : ortBackend;
      const data = new Map<string, string>();
      for (const d of req.data) data.set(d.name, await fetchText(d.url));
      const device = engine ? undefined : deviceFor(l, req);
      const segment = needsSegmenter(req.cell.workload) ? await loadJiebaSegmenter(jiebaData) : undefined;
      return runCell(req.id, req.cell, {
        backend,
        tokenizer,
        data,
        provenance: req.provenance,
        suite: req.suite,
        repeats: req.repeats,
        warmup: req.warmup,
        ...(req.nonFinite ? { nonFinite: req.nonFinite } : {}),
        ...(req.baseline ? { baseline: req.baseline } : {}),
        ...(device ? { device } : {}),
        ...(engine ? { engine } : {}),
        ...(segment ? { segment } : {}),
        onProgress: progressReporter(req.id),
      });
    })();
    const res = await Promise.race([work, lost]);
    return deviceLost ? { ...res, reload: deviceLost } : res;
  } catch (e) {
    return { record: pageError(req, e, startedAt, t0), ...(deviceLost ? { reload: deviceLost } : {}) };
  } finally {
    cancel();
  }
}

async function segment(texts: string[]): Promise<string[][]> {
  const cut = await loadJiebaSegmenter(jiebaData);
  return texts.map(cut);
}

const api: PageApi = { init, runCell: runOne, segment };
(globalThis as unknown as Record<string, PageApi>)[PAGE_API] = api;
