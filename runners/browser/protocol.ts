/**
 * The typed host↔page protocol of the browser runner. The host (Node, Playwright) calls the
 * page's API through page.evaluate; the page reports progress through an exposed binding.
 * Everything crossing the boundary is plain JSON-like data (Playwright serialises it): files
 * travel as URLs of the local server, never as inline bytes.
 *
 * Imported by both sides, so it holds types and constants only.
 */
import type { ModelCard } from '../../src/model/model-card.js';
import type { CellResult, CellSpec, Provenance } from '../../src/results/record.js';
import type { WorkloadOutput } from '../../src/runs/workload.js';

export type BrowserEp = 'wasm' | 'webgpu';
export const BROWSER_EPS: readonly BrowserEp[] = ['wasm', 'webgpu'];

/** Name of the page's API object on `globalThis`, and of the progress binding the host exposes. */
export const PAGE_API = '__minicacheBench';
export const PROGRESS_BINDING = '__minicacheBenchProgress';

export interface PageInit {
  ep: BrowserEp;
  /** Base URL of onnxruntime-web's .wasm/.mjs files on the local server. */
  wasmPaths: string;
  /** Base URL of data/jieba's files (Chinese segmentation, loaded only when a LongBench cell needs it). */
  jiebaData: string;
  /** WASM threads (0: all the page's hardwareConcurrency). */
  threads: number;
}

export type AdapterInfo = NonNullable<Provenance['adapter']> & {
  /** WebGPU features the adapter offers (shader-f16 decides whether fp16 kernels exist). */
  features: string[];
  maxBufferSize: number;
};

/** What the page found about itself, for provenance and for the user. */
export interface PageEnvironment {
  ep: BrowserEp;
  userAgent: string;
  /** COOP/COEP took effect: threaded WASM and 5 µs timers are available. */
  crossOriginIsolated: boolean;
  wasmThreads: number;
  hardwareConcurrency: number;
  /** onnxruntime-web version as the page loaded it. */
  ort: string;
  /** The WebGPU adapter (webgpu EP only); `fallback` marks software adapters (SwiftShader). */
  adapter?: AdapterInfo;
}

/** A model card whose `path` and `tokenizer` are URLs of the local server. */
export interface PageModelSource {
  /** Cache key: the same card is loaded once per page. */
  key: string;
  card: ModelCard;
  /** ONNX external-data files (`model.onnx.data`) by the name the graph refers to. */
  externalData?: { path: string; url: string }[];
  /** Bytes of the model files on disk (ONNX models: weightBytes). */
  fileBytes: number;
}

export interface PageCellRequest {
  id: string;
  cell: CellSpec;
  model: PageModelSource;
  /** Data files the workload asked for, keyed as the workload names them. */
  data: { name: string; url: string }[];
  provenance: Provenance;
  suite: string;
  repeats: number;
  warmup: number;
  /** The suite's nonFinite (NaN/Inf in the K/V: error, the default, or count). */
  nonFinite?: 'error' | 'count';
  /** The FP16 cell's output of the same group, kept by the host across page reloads. */
  baseline?: WorkloadOutput;
}

export interface PageCellResponse {
  record: CellResult;
  output?: WorkloadOutput;
  /** Set when the page is no longer usable (WebGPU device lost): the host opens a fresh page. */
  reload?: string;
}

export interface PageApi {
  init(init: PageInit): Promise<PageEnvironment>;
  runCell(req: PageCellRequest): Promise<PageCellResponse>;
  /** The page's Chinese segmentation of each text (the zh metrics' jieba), for checking it against Python's. */
  segment(texts: string[]): Promise<string[][]>;
}

/** The progress binding's argument. */
export interface ProgressEvent {
  cellId: string;
  done: number;
  total: number;
  note?: string;
}
