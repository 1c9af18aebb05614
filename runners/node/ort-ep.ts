/**
 * onnxruntime-node execution providers: session options per EP, actionable errors when an EP
 * cannot start, and a description of the device for run provenance.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import * as ort from 'onnxruntime-node';
import { HarnessError } from '../../src/errors.js';

export type OrtEp = 'cpu' | 'webgpu' | 'cuda';
export const ORT_EPS: readonly OrtEp[] = ['cpu', 'webgpu', 'cuda'];

export interface OrtSessionTuning {
  /** Intra-op threads; default: all available cores. */
  threads?: number;
  /** onnxruntime log level (0 verbose … 4 fatal); default 3, which hides the WebGPU EP's node-placement notices. */
  logSeverityLevel?: 0 | 1 | 2 | 3 | 4;
  /** Provider options for the EP (e.g. WebGPU validationMode); default: MINICACHE_EP_OPTIONS. */
  epOptions?: Record<string, string>;
}

/**
 * Provider options from MINICACHE_EP_OPTIONS ("key=value,key=value"), so every session a run or a
 * bench creates (model, cache-op graphs, bare loops) gets the same options. onnxruntime-node
 * takes WebGPU's validationMode, storageBufferCacheMode, uniformBufferCacheMode,
 * queryResolveBufferCacheMode, defaultBufferCacheMode, preferredLayout, enableRobustness and
 * forceCpuNodeNames this way; it rejects unknown keys when the session is created.
 */
export function envEpOptions(env: Record<string, string | undefined> = process.env): Record<string, string> | undefined {
  const raw = env.MINICACHE_EP_OPTIONS?.trim();
  if (!raw) return undefined;
  const out: Record<string, string> = {};
  for (const part of raw.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new HarnessError('ep.options', `MINICACHE_EP_OPTIONS: "${part}" is not key=value`, undefined, 'example: MINICACHE_EP_OPTIONS=validationMode=disabled,storageBufferCacheMode=bucket');
    out[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  return out;
}

export function sessionOptions(ep: OrtEp, tuning: OrtSessionTuning = {}): ort.InferenceSession.SessionOptions {
  return {
    executionProviders: [epEntry(ep, tuning.epOptions ?? envEpOptions())],
    graphOptimizationLevel: 'all',
    intraOpNumThreads: tuning.threads ?? availableParallelism(),
    logSeverityLevel: tuning.logSeverityLevel ?? 3,
    // MINICACHE_ORT_PROFILE=prefix: onnxruntime's per-node timing JSON, one file per session (written on release).
    ...(process.env.MINICACHE_ORT_PROFILE ? { enableProfiling: true, profileFilePrefix: process.env.MINICACHE_ORT_PROFILE } : {}),
  };
}

function epEntry(ep: OrtEp, options: Record<string, string> | undefined): ort.InferenceSession.ExecutionProviderConfig {
  return options && Object.keys(options).length > 0 ? ({ name: ep, ...options } as ort.InferenceSession.ExecutionProviderConfig) : ep;
}

const WEBGPU_HINT =
  "onnxruntime-node's WebGPU EP runs Dawn over Vulkan, so it needs a Vulkan loader (apt-get install libvulkan1) and a Vulkan driver " +
  'named by VK_DRIVER_FILES. NVIDIA: VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json (or /usr/share/vulkan/icd.d/nvidia_icd.json). ' +
  'CPU only (slow, for functional tests): Chromium\'s SwiftShader, VK_DRIVER_FILES=/usr/lib/chromium/vk_swiftshader_icd.json LD_LIBRARY_PATH=/usr/lib/chromium. ' +
  "Mesa's lavapipe is rejected by Dawn.";

const CUDA_HINT =
  'The npm package of onnxruntime-node ships CPU and WebGPU only; its CUDA provider is downloaded by its install script. ' +
  'Install it (needs CUDA 12 and cuDNN 9 on the machine, and access to api.nuget.org) with: ' +
  'ONNXRUNTIME_NODE_INSTALL=cuda12 node node_modules/onnxruntime-node/script/install.js ' +
  "(this project's package.json denies that script at npm install time, so it is run by hand). " +
  'See https://onnxruntime.ai/docs/get-started/with-javascript/node.html';

/** Rethrows a session-creation failure as an error that says how to make the EP work. */
export function explainEpFailure(ep: OrtEp, err: unknown): Error {
  const msg = err instanceof Error ? err.message : String(err);
  if (ep === 'cuda' && /cuda|providers_shared|shared library/i.test(msg)) {
    return new HarnessError('ep.cuda-missing', `cannot start the CUDA execution provider: ${msg.split('\n')[0]}`, undefined, CUDA_HINT);
  }
  if (ep === 'webgpu' && /adapter|vulkan|webgpu|dawn/i.test(msg)) {
    return new HarnessError('ep.webgpu-unavailable', `cannot start the WebGPU execution provider: ${msg.split('\n')[0]}`, undefined, WEBGPU_HINT);
  }
  return err instanceof Error ? err : new Error(msg);
}

export async function createSession(
  model: Uint8Array | string,
  ep: OrtEp,
  tuning?: OrtSessionTuning,
): Promise<ort.InferenceSession> {
  const options = sessionOptions(ep, tuning);
  try {
    return typeof model === 'string' ? await ort.InferenceSession.create(model, options) : await ort.InferenceSession.create(model, options);
  } catch (e) {
    throw explainEpFailure(ep, e);
  }
}

export interface EpDescription {
  ep: OrtEp;
  onnxruntime: string;
  cpu: string;
  cpuCount: number;
  /** Shape of Provenance['adapter']; for webgpu, read from the Vulkan driver in use. */
  adapter?: { vendor: string; architecture: string; description?: string; fallback: boolean };
  /** The Vulkan ICD file (VK_DRIVER_FILES / VK_ICD_FILENAMES) onnxruntime's Dawn will use. */
  vulkanDriver?: string;
  /** Provider options given through MINICACHE_EP_OPTIONS (absent: onnxruntime's defaults). */
  epOptions?: Record<string, string>;
}

function nvidiaGpuName(): string | undefined {
  try {
    return execFileSync('nvidia-smi', ['--query-gpu=name', '--format=csv,noheader'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 })
      .split('\n')[0]!
      .trim();
  } catch {
    return undefined;
  }
}

/**
 * What can be known about the device behind an EP without running a model. JavaScript cannot
 * reach the Dawn device inside onnxruntime-node, so the WebGPU adapter is inferred from the
 * Vulkan driver file: SwiftShader is marked `fallback` (CPU emulation; never a GPU timing).
 */
export function describeEp(ep: OrtEp): EpDescription {
  const cpu = cpus()[0]?.model?.trim() ?? 'unknown';
  const d: EpDescription = { ep, onnxruntime: ort.env.versions.common ?? 'unknown', cpu, cpuCount: availableParallelism() };
  const epOptions = envEpOptions();
  if (epOptions) d.epOptions = epOptions;
  if (ep === 'webgpu') {
    const icd = process.env.VK_DRIVER_FILES ?? process.env.VK_ICD_FILENAMES;
    if (icd) {
      d.vulkanDriver = icd;
      let lib = icd;
      try {
        lib = String(JSON.parse(readFileSync(icd.split(':')[0]!, 'utf8'))?.ICD?.library_path ?? icd);
      } catch {
        /* keep the file name */
      }
      if (/swiftshader/i.test(lib)) d.adapter = { vendor: 'google', architecture: 'swiftshader', description: 'SwiftShader (CPU emulation)', fallback: true };
      else if (/nvidia/i.test(lib)) d.adapter = { vendor: 'nvidia', architecture: '', description: nvidiaGpuName(), fallback: false };
      else d.adapter = { vendor: 'unknown', architecture: '', description: lib, fallback: false };
    }
  } else if (ep === 'cuda') {
    const name = nvidiaGpuName();
    if (name) d.adapter = { vendor: 'nvidia', architecture: '', description: name, fallback: false };
  }
  return d;
}
