/**
 * The WebGPU device for the engine in Node, through the `webgpu` package (Dawn over Vulkan).
 * A GPU adapter is taken when the Vulkan loader finds one (on NVIDIA: VK_DRIVER_FILES naming the
 * driver's ICD, as .device/boot.sh sets). Where none is found and Chromium's SwiftShader ICD is
 * installed, SwiftShader is used instead, marked as a software adapter (correct, not fast): that
 * is how tests and CI run the engine on CPU machines. MINICACHE_WEBGPU_ADAPTER=swiftshader asks
 * for SwiftShader even where a GPU exists.
 *
 * Knobs for timing kernels against each other on one machine (recorded in provenance):
 * MINICACHE_MATMUL=small=row|row4|row8,large=tiled|splitk,splitGroups=N picks the matmul kernels,
 * MINICACHE_WEBGPU_F16=0 runs the packed-u32 kernels on an adapter that has shader-f16, and
 * MINICACHE_ATTENTION=slots|rows|rowsp picks the decode-attention split kernel where it serves.
 */
import { existsSync } from 'node:fs';
import { HarnessError } from '../../src/errors.js';
import { GpuContext, type EngineKnobs } from '../../src/webgpu/gpu-context.js';
import { parseMatmulChoice } from '../../src/webgpu/kernels/matmul.js';
import { DECODE_KERNELS, type DecodeKernel } from '../../src/webgpu/kernels/decode-attention.js';

const isDecodeKernel = (s: string): s is DecodeKernel => (DECODE_KERNELS as readonly string[]).includes(s);

/** Where Debian's chromium puts SwiftShader's Vulkan ICD. */
export const SWIFTSHADER_ICDS = ['/usr/lib/chromium/vk_swiftshader_icd.json', '/usr/lib/chromium-browser/vk_swiftshader_icd.json'];

let cached: Promise<GpuContext> | undefined;
/** Dawn's instances, kept alive for the process: a collected instance takes its devices down with it. */
const instances: GPU[] = [];

async function requestAdapter(): Promise<GPUAdapter | null> {
  const { create, globals } = await import('webgpu');
  Object.assign(globalThis, globals);
  const gpu = create([]) as GPU;
  instances.push(gpu);
  return gpu.requestAdapter({ powerPreference: 'high-performance' });
}

async function open(): Promise<GpuContext> {
  const forceSoftware = process.env.MINICACHE_WEBGPU_ADAPTER === 'swiftshader';
  let adapter = forceSoftware ? null : await quiet(requestAdapter);
  if (!adapter) {
    const icd = SWIFTSHADER_ICDS.find((p) => existsSync(p));
    if (icd) {
      process.env.VK_DRIVER_FILES = icd;
      adapter = await quiet(requestAdapter);
    }
  }
  if (!adapter) {
    throw new HarnessError(
      'engine.webgpu-unavailable',
      'the webgpu engine found no WebGPU adapter (the `webgpu` package needs a Vulkan loader and driver)',
      undefined,
      'install the Vulkan loader (Debian: apt-get install libvulkan1) and your GPU\'s Vulkan driver (NVIDIA: set VK_DRIVER_FILES to its nvidia_icd.json); on a machine without a GPU, install chromium for its SwiftShader, or use --engine onnxruntime',
    );
  }
  return GpuContext.fromAdapter(adapter, engineKnobs());
}

/** The engine settings the environment asks for (MINICACHE_MATMUL, MINICACHE_ATTENTION, MINICACHE_WEBGPU_F16), checked. */
export function engineKnobs(env: Record<string, string | undefined> = process.env): EngineKnobs {
  const out: EngineKnobs = {};
  const att = env.MINICACHE_ATTENTION?.trim();
  if (att) {
    if (!isDecodeKernel(att)) throw new HarnessError('engine.attention', `MINICACHE_ATTENTION: "${att}" is not slots, rows or rowsp`, undefined, 'example: MINICACHE_ATTENTION=rowsp');
    out.decodeKernel = att;
  }
  const mm = env.MINICACHE_MATMUL?.trim();
  if (mm) {
    try {
      out.matmul = parseMatmulChoice(mm);
    } catch (e) {
      throw new HarnessError('engine.matmul', `MINICACHE_MATMUL: ${(e as Error).message}`, undefined, 'example: MINICACHE_MATMUL=small=row4,large=splitk');
    }
  }
  const f16 = env.MINICACHE_WEBGPU_F16?.trim();
  if (f16 === '0') out.f16 = false;
  else if (f16 && f16 !== '1') throw new HarnessError('engine.f16', `MINICACHE_WEBGPU_F16: "${f16}" is not 0 or 1`, undefined, 'MINICACHE_WEBGPU_F16=0 runs the packed-u32 kernels');
  return out;
}

/** Dawn prints adapter probing warnings to stderr; they are noise when another adapter serves. */
async function quiet<T>(f: () => Promise<T>): Promise<T> {
  return f();
}

/** The process's engine device (one per process, made on first use). */
export function nodeGpu(): Promise<GpuContext> {
  cached ??= open();
  return cached;
}
