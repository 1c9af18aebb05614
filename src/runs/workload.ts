import type { InferenceBackend, Tokenizer } from '../engine/backend.js';
import type { CacheGeometry } from '../engine/kv-block.js';
import type { KVCacheMethod, MethodDiagnostics } from '../methods/types.js';
import type { CellSpec, Metrics, TaskScore } from '../results/record.js';
import type { DeviceDecoder } from '../gpu/device-types.js';
import type { ShareGptSource } from '../workloads/sharegpt/parse.js';
import type { MemoryProbe } from './memory.js';
import type { WebGpuEngine } from '../webgpu/engine.js';

/** What a workload gets from the host runner. Everything is already loaded: no I/O from here. */
export interface WorkloadContext {
  backend: InferenceBackend;
  tokenizer: Tokenizer;
  cell: CellSpec;
  createMethod: (geometry: CacheGeometry) => KVCacheMethod;
  /** Contents of the files named by dataFiles(), keyed by the same strings. */
  data: ReadonlyMap<string, string>;
  repeats: number;
  warmup: number;
  /** Results of the FP16 cell with the same workload/batch in this run, when it ran first (agreement, paired stats). */
  baseline?: WorkloadOutput;
  onProgress?: (done: number, total: number, note?: string) => void;
  signal?: AbortSignal;
  /** Chinese word segmenter (jieba) for qa_f1_zh / rouge_zh, supplied by the host. */
  segment?: (text: string) => string[];
  /**
   * The model on the device-resident cache path (the runner builds it on first use). Present when
   * the runner offers that path; workloads with a `cache` parameter decide whether to use it.
   */
  device?: () => Promise<DeviceDecoder>;
  /**
   * The WebGPU engine holding this cell's model (cells with engine: webgpu). `backend` is then the
   * engine too (EngineBackend), for methods and workloads the device stores do not serve.
   */
  engine?: WebGpuEngine;
  /** Process / device memory readings from the runner (src/ does no I/O). */
  memoryProbe?: MemoryProbe;
  /**
   * A ShareGPT file the workload names in `largeFiles`, opened by the Node runner without reading
   * it whole (an index of its pairs, read one at a time). Runners without it put the file's text
   * in `data` instead.
   */
  shareGpt?: (name: string, onProgress?: (bytesRead: number, bytes: number) => void) => Promise<ShareGptSource>;
}

export interface WorkloadOutput {
  metrics: Metrics;
  tasks?: TaskScore[];
  diagnostics?: MethodDiagnostics;
  sampleTokens?: number[][];
  /** Per-item outputs kept in memory for the methods that compare against this one (not written). */
  outputs?: { tokens: number[][]; texts?: string[]; nll?: { sum: number; count: number }[] };
}

export interface WorkloadDef {
  description: string;
  defaults: Record<string, unknown>;
  /**
   * Data files the host must read before run(). Names are as given in params; a `model:` prefix
   * means relative to the model card's folder, `project:` to this package's root, anything else to
   * the suite file's folder. Optional files end with '?'.
   */
  dataFiles(params: Record<string, unknown>): string[];
  /** Those of dataFiles that may be too large to read whole (a 650 MB ShareGPT release): the Node runner gives them through `shareGpt`. */
  largeFiles?(params: Record<string, unknown>): string[];
  run(ctx: WorkloadContext): Promise<WorkloadOutput>;
  /**
   * The records of other methods compare against the FP16 cell's output (`ctx.baseline`): a runner
   * that did not run that FP16 cell in this process (a shard, a resumed run) runs it again, unrecorded.
   */
  usesBaseline?: boolean;
  /**
   * What it measures depends on the model's weights (accuracy, perplexity, K/V similarity): a model
   * with dummy weights is refused, since its numbers would mean nothing.
   */
  needsRealWeights?: boolean;
  /**
   * Its cells time `repeats` runs after `warmup` (timedGeneration). A runner may run such a cell
   * one repeat at a time, interleaved with the other methods of its group (planWork), and combine
   * the repeats afterwards (combineRepeats).
   */
  timed?: boolean;
}
