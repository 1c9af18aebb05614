import type { Engine } from '../results/record.js';

/** The suite as the user wrote it (after includes are merged); optional fields may be absent. */
export interface SuiteSpec {
  name: string;
  description?: string;
  include?: string[];
  seed?: number;
  runner?: 'node' | 'browser';
  ep?: 'cpu' | 'webgpu' | 'cuda' | 'wasm';
  /** What runs the model: onnxruntime (default) or webgpu (the WGSL engine); a list runs both. */
  engine?: Engine | Engine[];
  repeats?: number;
  warmup?: number;
  nonFinite?: 'error' | 'count';
  batch?: number | number[];
  models: { id?: string; card: string }[];
  methods: (string | MethodEntrySpec)[];
  workloads: (string | WorkloadEntrySpec)[];
}

export interface MethodEntrySpec {
  name: string;
  label?: string;
  params?: Record<string, unknown>;
}

export interface WorkloadEntrySpec {
  name: string;
  label?: string;
  batch?: number | number[];
  methods?: string[];
  params?: Record<string, unknown>;
}

export interface ResolvedModel {
  id: string;
  /** Card path as resolved against the suite file. */
  card: string;
}

export interface ResolvedMethod {
  name: string;
  label?: string;
  params: Record<string, unknown>;
}

export interface ResolvedWorkload {
  name: string;
  label?: string;
  batch: number[];
  methods?: string[];
  params: Record<string, unknown>;
  /**
   * The data the workload reads from a user's folder, by content (the runner hashes the files):
   * `hash` identifies the cells instead of the folder's path, `files` gives each file's sha256.
   */
  data?: { hash: string; files: Record<string, string> };
}

/** Includes merged, defaults applied, names checked. Hashing it gives the suite hash. */
export interface ResolvedSuite {
  name: string;
  description: string;
  file: string;
  seed: number;
  runner: 'node' | 'browser';
  ep: 'cpu' | 'webgpu' | 'cuda' | 'wasm';
  /** Present only when the suite (or --engine) names engines, so suites without it keep their hash. */
  engines?: Engine[];
  repeats: number;
  warmup: number;
  /** Present only when the suite sets it (default error), so suites without it keep their hash. */
  nonFinite?: 'error' | 'count';
  models: ResolvedModel[];
  methods: ResolvedMethod[];
  workloads: ResolvedWorkload[];
}
