/**
 * The device-resident cache path, runtime-agnostic: cache state lives in opaque device tensors
 * (onnxruntime tensors with location 'gpu-buffer' on the WebGPU/CUDA EPs, plain tensors on the
 * CPU EP), and every cache operation is a small ONNX graph run on the model's EP. The runner
 * (runners/node/ort-device-cache.ts) implements GraphExec and DeviceDecoder; src/ never
 * touches onnxruntime.
 */
import type { CacheGeometry } from '../engine/kv-block.js';
import type { ByteBreakdown, MethodDiagnostics } from '../methods/types.js';
import type { KvDtype } from './graph-kit.js';

/** A tensor held by the runtime (on the GPU for GPU EPs). onnxruntime's Tensor satisfies it. */
export interface DeviceTensor {
  readonly dims: readonly number[];
  readonly type: string;
  dispose(): void;
}

/** A cache-op graph, built once per key (the runner caches one session per key). */
export interface GraphSpec {
  key: string;
  build(): Uint8Array;
  /** Outputs the host reads (retention flags, fences): placed in host memory. Others stay on the device. */
  hostOutputs?: readonly string[];
}

export interface GraphExec {
  /** Storage type of K/V payloads on this runtime. */
  readonly kv: KvDtype;
  run(spec: GraphSpec, feeds: Readonly<Record<string, DeviceTensor>>): Promise<Record<string, DeviceTensor>>;
  /** A small host array as a tensor the graphs can take (indices). */
  upload(type: 'int32' | 'float32', data: Int32Array | Float32Array, dims: readonly number[]): DeviceTensor;
  /** A host copy (float16 decoded to float32). Tests and small flag tensors only. */
  read(t: DeviceTensor): Promise<Float32Array | Int32Array>;
}

/** One layer's K and V on the device, [B, KV, n, D] in the runtime's kv dtype. */
export interface DeviceKV {
  k: DeviceTensor;
  v: DeviceTensor;
  /**
   * The forward's new tokens alone ([B,KV,S,D]), where the decoder outputs them beside present:
   * a decode step's cache op then reads them instead of slicing them out of present (one
   * dispatch fewer per layer and role). The cache method disposes them with present.
   */
  kNew?: DeviceTensor;
  vNew?: DeviceTensor;
}

/** What a device cache holds, counted from the shapes and dtypes of the tensors it keeps. */
export interface DeviceBytes {
  /** Bytes of the tensors held on the device, by component. */
  held: ByteBreakdown;
  /**
   * The reference method's accounting of the same state (fp16 payloads, packed codes): equal to
   * `held` when the device stores fp16; on a float32-only device (SwiftShader) payloads count 2 B here.
   */
  packedEquivalent: ByteBreakdown;
}

/**
 * A KV-cache method whose state stays on the device between decode steps. Life cycle as
 * KVCacheMethod: prefill(present of the prompt) once, then per step restore() → the model runs
 * on that past → append(present). append and prefill take ownership of `present` (they keep or
 * dispose each tensor); tensors returned by restore() in `transient` are the caller's to dispose
 * after the model ran.
 */
export interface DeviceCacheMethod {
  readonly name: string;
  readonly geometry: CacheGeometry;
  readonly length: number;
  /**
   * Whether append() needs the decoder's present (a store that adopts it, like FP16's). When
   * false, a decode step may ask the decoder for the new tokens alone (DeviceForwardRequest
   * .kvOutputs 'new'), so no full-length present is allocated beside the restored past.
   */
  readonly needsPresent: boolean;
  prefill(present: DeviceKV[]): Promise<void>;
  restore(): Promise<{ past: DeviceKV[]; transient: DeviceTensor[] }>;
  append(present: StepKV[]): Promise<void>;
  bytes(): DeviceBytes;
  diagnostics(): MethodDiagnostics;
  /** Host time per kind of cache-op graph so far (with a fence, including its device work). */
  opTimings?(): Record<string, { runs: number; ms: number }>;
  dispose(): void;
}

/** Inputs of one model forward on the device path (ids etc. as in ForwardRequest). */
export interface DeviceForwardRequest {
  batch: number;
  tokens: number;
  inputIds: BigInt64Array;
  attentionMask: BigInt64Array;
  positionIds: BigInt64Array;
  /** Per layer, [B, KV, P, D]; null for the prefill (empty past). */
  past: DeviceKV[] | null;
  /**
   * 'new': the caller needs only the new tokens' K/V (kNew/vNew), not present. A decoder may
   * still return present (the browser decoder does); default 'both'.
   */
  kvOutputs?: 'both' | 'new';
}

/** A decode step's K/V of one layer: present and the new tokens, or the new tokens alone. */
export type StepKV = DeviceKV | { k?: undefined; v?: undefined; kNew: DeviceTensor; vNew: DeviceTensor };

/** The model on the device: logits come back to the host, present K/V stay on the device. */
export interface DeviceDecoder {
  readonly executionProvider: string;
  readonly exec: GraphExec;
  forward(req: DeviceForwardRequest): Promise<{ logits: Float32Array; present: StepKV[] }>;
  /** Makes ready the variant a run's decode steps will ask for, so that building it is not timed as a step. */
  prepare?(kvOutputs: 'both' | 'new'): Promise<void>;
}
