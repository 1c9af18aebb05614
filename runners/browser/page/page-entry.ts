/**
 * Entry of the page bundle (esbuild: runners/browser/host/bundle.ts). It runs the same engine
 * code as the Node runner — runCell → workload → generate → methods — on onnxruntime-web, and
 * puts its API (protocol.ts PageApi) on globalThis for the host's page.evaluate calls.
 *
 * onnxruntime-web is not bundled: the page's import map points 'onnxruntime-web' at the build
 * the EP needs (ort.webgpu.min.mjs or ort.wasm.min.mjs) on the local server.
 */
import * as ort from 'onnxruntime-web';
import { SCHEMA_VERSION, type CellResult } from '../../../src/results/record.js';
import { runCell } from '../../../src/runs/run-cell.js';
import { PAGE_API, PROGRESS_BINDING, type BrowserEp, type PageApi, type PageCellRequest, type PageCellResponse, type PageEnvironment, type PageInit, type ProgressEvent } from '../protocol.js';
import { describeAdapter, requestAdapter } from './adapter.js';
import { fetchText } from './fetch-bytes.js';
import type { GpuDeviceLike } from './gpu-types.js';
import { installDeviceFp16 } from './device-method.js';
import { loadPageModel, type PageModel } from './page-model.js';
import { makeBackend, ResidentWebBackend } from './resident-backend.js';

let ep: BrowserEp | undefined;
let loaded: { key: string; model: Promise<PageModel> } | undefined;
/** Set once the WebGPU device is lost: every later cell fails fast and the host reloads the page. */
let deviceLost: string | undefined;
const rejectOnLoss = new Set<(e: Error) => void>();
/** The backend of the cell in flight: fp16 keeps its cache on the device when it is resident-capable. */
let active: PageModel['backend'] | undefined;
installDeviceFp16(() => (active instanceof ResidentWebBackend ? active : undefined));

async function init(i: PageInit): Promise<PageEnvironment> {
  ep = i.ep;
  ort.env.wasm.wasmPaths = i.wasmPaths;
  // All cores, as the Node runner's intraOpNumThreads; ORT's default is half of them.
  ort.env.wasm.numThreads = i.threads > 0 ? i.threads : crossOriginIsolated ? navigator.hardwareConcurrency : 1;
  ort.env.logLevel = 'error';
  const env: PageEnvironment = {
    ep: i.ep,
    userAgent: navigator.userAgent,
    crossOriginIsolated,
    wasmThreads: ort.env.wasm.numThreads,
    hardwareConcurrency: navigator.hardwareConcurrency,
    ort: ort.env.versions.web ?? ort.env.versions.common ?? 'unknown',
  };
  if (i.ep === 'webgpu') env.adapter = describeAdapter(await requestAdapter());
  return env;
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

async function modelFor(req: PageCellRequest): Promise<PageModel> {
  if (loaded?.key !== req.model.key) {
    // One model at a time: a browser tab's memory is the scarce resource.
    const old = loaded;
    loaded = undefined;
    if (old) await (await old.model.catch(() => undefined))?.backend.dispose();
    loaded = { key: req.model.key, model: loadPageModel(req.model, ep!, makeBackend) };
  }
  const m = await loaded.model;
  await watchDevice();
  return m;
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

function erroredRecord(req: PageCellRequest, e: unknown, startedAt: string, t0: number): CellResult {
  const err = e instanceof Error ? e : new Error(String(e));
  return {
    schemaVersion: SCHEMA_VERSION,
    cellId: req.id,
    suite: req.suite,
    cell: req.cell,
    provenance: req.provenance,
    startedAt,
    durationMs: performance.now() - t0,
    status: 'errored',
    error: { name: err.name, message: err.message, ...(err.stack ? { stack: err.stack } : {}) },
  };
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
  if (deviceLost) return { record: erroredRecord(req, new Error(deviceLost), startedAt, t0), reload: deviceLost };
  const { lost, cancel } = onDeviceLoss();
  try {
    const work = (async () => {
      const { backend, tokenizer } = await modelFor(req);
      const data = new Map<string, string>();
      for (const d of req.data) data.set(d.name, await fetchText(d.url));
      backend.beginCell();
      active = backend;
      const res = await runCell(req.id, req.cell, {
        backend,
        tokenizer,
        data,
        provenance: req.provenance,
        suite: req.suite,
        repeats: req.repeats,
        warmup: req.warmup,
        ...(req.baseline ? { baseline: req.baseline } : {}),
        onProgress: progressReporter(req.id),
      });
      // Where the cache lived between steps: the reader of a browser timing must know whether it
      // includes a per-step host round trip of the whole cache.
      if (res.record.status === 'ok') res.record.metrics.cacheLocation = backend.cacheLocationOf();
      return res;
    })();
    const res = await Promise.race([work, lost]);
    return deviceLost ? { ...res, reload: deviceLost } : res;
  } catch (e) {
    return { record: erroredRecord(req, e, startedAt, t0), ...(deviceLost ? { reload: deviceLost } : {}) };
  } finally {
    cancel();
    active = undefined;
  }
}

const api: PageApi = { init, runCell: runOne };
(globalThis as unknown as Record<string, PageApi>)[PAGE_API] = api;
