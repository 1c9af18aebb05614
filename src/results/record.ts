import type { NonFiniteStats } from '../methods/guard.js';
import type { ByteBreakdown, MethodDiagnostics } from '../methods/types.js';

/** Bumped when a record's shape changes; merge upgrades older records step by step. */
export const SCHEMA_VERSION = 1;

export type Engine = 'onnxruntime' | 'webgpu';
export const ENGINES: readonly Engine[] = ['onnxruntime', 'webgpu'];

/** One unit of work, fully resolved. Its canonical JSON hashes to the cell id. */
export interface CellSpec {
  model: string;
  method: string;
  methodParams: Record<string, unknown>;
  workload: string;
  workloadParams: Record<string, unknown>;
  batch: number;
  seed: number;
  runner: 'node' | 'browser';
  ep: string;
  /** Free-form label from the suite's matrix (e.g. an ablation name). */
  label?: string;
  /**
   * Content hash of the data files the cell reads from a user's folder (LongBench's dataDir):
   * it stands for the folder's path in the cell id, so where the data lives does not matter.
   */
  data?: string;
  /**
   * What runs the model: 'onnxruntime' (the graph path, CPU/WASM/WebGPU EPs) or 'webgpu' (the
   * project's WGSL engine). Every new record carries it; records written before it existed are
   * onnxruntime's. Left out of the cell id when 'onnxruntime', so earlier runs keep their ids.
   */
  engine?: Engine;
}

/** Where a result came from. Deterministic fields (everything but timestamps) identify the setup. */
export interface Provenance {
  gitSha: string;
  gitDirty: boolean;
  packageVersion: string;
  versions: Record<string, string>;
  node?: string;
  runner: 'node' | 'browser';
  /** What ran the model (records before engines existed: onnxruntime). */
  engine?: Engine;
  executionProvider: string;
  /** Provider options the run set (MINICACHE_EP_OPTIONS), absent when onnxruntime's defaults ran. */
  executionProviderOptions?: Record<string, string>;
  /** WebGPU adapter (browser or Dawn) where known; `fallback` marks software adapters like SwiftShader. */
  adapter?: { vendor: string; architecture: string; description?: string; fallback: boolean };
  /** Engine matmul kernels the host chose instead of the defaults (MINICACHE_MATMUL); absent when the defaults ran. */
  engineMatmul?: { small?: string; large?: string; splitGroups?: number };
  /** Decode-attention split kernel the host chose where it serves (MINICACHE_ATTENTION); absent when the default ran. */
  engineAttention?: string;
  /** The engine ran without shader-f16 although the adapter offers it (MINICACHE_WEBGPU_F16=0). */
  engineF16Off?: boolean;
  browser?: string;
  cpu: string;
  cpuCount: number;
  platform: string;
  suiteHash: string;
  seed: number;
  /** The cell ran alone in its own process (`run --isolate`): its peak RSS and device memory are its own. */
  isolated?: boolean;
  /** 'dummy': the model ran seeded values in its shapes (throughput and memory only); absent for real weights. */
  weights?: 'dummy';
}

export interface LatencyStats {
  mean: number;
  median: number;
  p90: number;
  p99: number;
}

/** Metrics of an ok cell. Optional fields are those a workload does not produce. */
export interface Metrics {
  /** Exact KV bytes held at the end of the run (peak). */
  kvBytes: number;
  /** FP16 bytes for the same tokens and geometry. */
  kvBytesBaseline: number;
  compressionRatio: number;
  /** Token slots per sequence at which kvBytes was measured. */
  seqLen: number;
  kvBytesByComponent: ByteBreakdown;
  decodeTokensPerSecond?: number;
  prefillTokensPerSecond?: number;
  requestsPerSecond?: number;
  ttftMs?: number;
  tpotMs?: number;
  ttft?: LatencyStats;
  tpot?: LatencyStats;
  itl?: LatencyStats;
  e2e?: LatencyStats;
  /** Time spent in cache operations (restore + append) per decode step, ms, median. */
  cacheOpMsPerStep?: number;
  modelMsPerStep?: number;
  peakRssBytes?: number;
  modelWeightBytes?: number;
  /** Repeat-level values (e.g. decode tokens/s of each repeat) for medians and CIs. */
  repeats?: Record<string, number[]>;
  /** NaN/Inf values in the K/V handed to the method, with where the first sat (only under the suite's nonFinite: count). */
  nonFiniteKv?: NonFiniteStats;
  [extra: string]: unknown;
}

/** Accuracy of one task, with the paired difference against FP16 where FP16 ran too. */
export interface TaskScore {
  task: string;
  metric: string;
  score: number;
  n: number;
  /** Per-item scores, in item order, so paired statistics can be recomputed at merge/report time. */
  items?: number[];
  /** Agreement with FP16's output on the same item: token match rate and ROUGE-L (mean). */
  agreement?: { tokenMatch: number; rougeL: number };
  deltaVsFp16?: { mean: number; lo: number; hi: number };
  byLength?: Record<string, { score: number; n: number }>;
}

interface RecordBase {
  schemaVersion: number;
  cellId: string;
  suite: string;
  cell: CellSpec;
  provenance: Provenance;
  startedAt: string;
  durationMs: number;
}

export interface OkRecord extends RecordBase {
  status: 'ok';
  metrics: Metrics;
  tasks?: TaskScore[];
  diagnostics?: MethodDiagnostics;
  /** Generated tokens of the first sequences (for agreement checks and golden tests). */
  sampleTokens?: number[][];
}

export interface ErroredRecord extends RecordBase {
  status: 'errored';
  error: { name: string; message: string; stack?: string };
}

export interface SkippedRecord extends RecordBase {
  status: 'skipped';
  reason: string;
}

export type CellResult = OkRecord | ErroredRecord | SkippedRecord;
