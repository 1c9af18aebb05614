/**
 * The engine's handle on a GPUDevice: what the adapter offers (shader-f16, limits), every buffer
 * the engine allocates counted by category, compute pipelines cached by their WGSL source, and the
 * few host↔device transfers the engine makes. Host-agnostic: the device comes from the `webgpu`
 * package (Dawn) in Node or from navigator.gpu in a page; nothing here touches either.
 */

import type { DecodeKernel } from './kernels/decode-attention.js';
import type { MatmulChoice } from './kernels/matmul.js';

/** Device memory categories the engine reports (metrics.deviceBytesByCategory). */
export type MemoryCategory = 'weights' | 'kvStore' | 'scratch';

export interface DeviceBytesByCategory {
  weights: number;
  kvStore: number;
  scratch: number;
}

export interface AdapterSummary {
  vendor: string;
  architecture: string;
  description?: string;
  fallback: boolean;
}

/** A buffer the engine allocated, with the category its bytes are counted under. */
export interface EngineBuffer {
  readonly buffer: GPUBuffer;
  readonly size: number;
  readonly category: MemoryCategory;
  readonly label: string;
  destroy(): void;
}

/** What a host may set on the engine instead of its defaults (the Node host reads them from the environment). */
export interface EngineKnobs {
  /** false: packed-u32 fp16 reads even where the adapter has shader-f16. */
  f16?: boolean;
  matmul?: Partial<MatmulChoice>;
  decodeKernel?: DecodeKernel;
}

const STORAGE = 0x0080; // GPUBufferUsage.STORAGE
const COPY_SRC = 0x0004;
const COPY_DST = 0x0008;
const MAP_READ = 0x0001;

export class GpuContext {
  /** Whether kernels may use `enable f16;` (the adapter granted shader-f16). */
  readonly f16: boolean;
  private readonly live = new Set<EngineBuffer>();
  private readonly peak: DeviceBytesByCategory = { weights: 0, kvStore: 0, scratch: 0 };
  private readonly pipelines = new Map<string, GPUComputePipeline>();
  private readonly modules = new Map<string, GPUShaderModule>();

  /** Matmul kernels the host asked for instead of the defaults (kernels/matmul.ts pickMatmul). */
  readonly matmul: Partial<MatmulChoice>;
  /** Decode-attention split kernel the host asked for where it serves the shape (kernels/decode-attention.ts). */
  readonly decodeKernel?: DecodeKernel;
  /** The host turned shader-f16 off on an adapter that has it (the packed-u32 kernels run). */
  readonly f16Declined: boolean;

  constructor(
    readonly device: GPUDevice,
    readonly adapter: AdapterSummary,
    opts: EngineKnobs & { f16Declined?: boolean } = {},
  ) {
    this.f16 = opts.f16 ?? device.features.has('shader-f16');
    this.matmul = opts.matmul ?? {};
    this.f16Declined = opts.f16Declined ?? false;
    if (opts.decodeKernel) this.decodeKernel = opts.decodeKernel;
    // An allocation or dispatch the device refuses (out of memory, validation) fails silently: the
    // command buffer is dropped and the queue runs on, so a step "finishes" having computed nothing.
    // Kept here for throwIfDeviceError(), so such a cell fails instead of reporting that speed.
    device.addEventListener?.('uncapturederror', (e) => {
      if (this.deviceErrors.length < 8) this.deviceErrors.push((e as GPUUncapturedErrorEvent).error.message.split('\n')[0]!);
    });
  }

  private readonly deviceErrors: string[] = [];

  /** Throws (and forgets) the errors the device reported since the last call, if any. */
  throwIfDeviceError(): void {
    if (this.deviceErrors.length === 0) return;
    const errs = this.deviceErrors.splice(0);
    throw new Error(`webgpu engine: the device reported ${errs.length === 8 ? '8 or more errors' : `${errs.length} error(s)`}, results are invalid: ${errs.join(' | ')}`);
  }

  /**
   * Asks an adapter for a device with what the engine uses: shader-f16 and timestamp queries
   * where offered, and the adapter's largest storage-buffer binding (the default 128 MiB is far
   * below a batch-128 cache).
   */
  static async fromAdapter(adapter: GPUAdapter, opts: EngineKnobs & { timestamps?: boolean } = {}): Promise<GpuContext> {
    const want: GPUFeatureName[] = [];
    const useF16 = (opts.f16 ?? true) && adapter.features.has('shader-f16');
    if (useF16) want.push('shader-f16');
    if (opts.timestamps && adapter.features.has('timestamp-query')) want.push('timestamp-query');
    const lim = adapter.limits;
    const device = await adapter.requestDevice({
      requiredFeatures: want,
      requiredLimits: {
        maxStorageBufferBindingSize: lim.maxStorageBufferBindingSize,
        maxBufferSize: lim.maxBufferSize,
        maxComputeWorkgroupStorageSize: lim.maxComputeWorkgroupStorageSize,
        maxComputeInvocationsPerWorkgroup: Math.min(lim.maxComputeInvocationsPerWorkgroup, 1024),
        maxComputeWorkgroupSizeX: Math.min(lim.maxComputeWorkgroupSizeX, 1024),
        maxStorageBuffersPerShaderStage: lim.maxStorageBuffersPerShaderStage,
      },
    });
    const info = (adapter as GPUAdapter & { info?: GPUAdapterInfo }).info;
    const fallback = Boolean((adapter as { isFallbackAdapter?: boolean }).isFallbackAdapter) || /swiftshader|llvmpipe|lavapipe/i.test(`${info?.description ?? ''} ${info?.architecture ?? ''} ${info?.device ?? ''}`);
    return new GpuContext(device, { vendor: info?.vendor ?? '', architecture: info?.architecture ?? '', description: info?.description || info?.device || undefined, fallback }, {
      f16: useF16,
      f16Declined: opts.f16 === false && adapter.features.has('shader-f16'),
      ...(opts.matmul ? { matmul: opts.matmul } : {}),
      ...(opts.decodeKernel ? { decodeKernel: opts.decodeKernel } : {}),
    });
  }

  get limits(): GPUSupportedLimits {
    return this.device.limits;
  }

  /** Allocates a storage buffer counted under `category` (size rounded up to 16 bytes). */
  alloc(category: MemoryCategory, size: number, label: string, extraUsage = 0): EngineBuffer {
    const bytes = Math.max(16, Math.ceil(size / 16) * 16);
    const max = Math.min(this.device.limits.maxBufferSize, this.device.limits.maxStorageBufferBindingSize);
    if (bytes > max) {
      throw new Error(`webgpu engine: buffer ${label} needs ${bytes} bytes, more than this device binds in one buffer (${max}); use a smaller batch or length`);
    }
    const buffer = this.device.createBuffer({ size: bytes, usage: STORAGE | COPY_SRC | COPY_DST | extraUsage, label });
    const ctx = this;
    const b: EngineBuffer = {
      buffer,
      size: bytes,
      category,
      label,
      destroy() {
        if (!ctx.live.delete(b)) return;
        buffer.destroy();
      },
    };
    this.live.add(b);
    const now = this.bytesByCategory();
    for (const k of Object.keys(now) as MemoryCategory[]) this.peak[k] = Math.max(this.peak[k], now[k]);
    return b;
  }

  /** Bytes of the buffers alive now, by category. */
  bytesByCategory(): DeviceBytesByCategory {
    const out: DeviceBytesByCategory = { weights: 0, kvStore: 0, scratch: 0 };
    for (const b of this.live) out[b.category] += b.size;
    return out;
  }

  /** Highest bytes alive per category since the last resetPeak(). */
  peakByCategory(): DeviceBytesByCategory {
    return { ...this.peak };
  }

  resetPeak(): void {
    Object.assign(this.peak, this.bytesByCategory());
  }

  /** Compute pipelines compiled so far (each WGSL source once): a relayout or step that adds some compiled shaders. */
  get pipelineCount(): number {
    return this.pipelines.size;
  }

  /** The labels of the pipelines compiled so far (tests check which kernels a stack built). */
  pipelineLabels(): string[] {
    return [...this.pipelines.values()].map((p) => p.label);
  }

  /** A compute pipeline for `code`, compiled once per distinct source. */
  pipeline(code: string, label: string): GPUComputePipeline {
    let p = this.pipelines.get(code);
    if (!p) {
      let mod = this.modules.get(code);
      if (!mod) {
        mod = this.device.createShaderModule({ code, label });
        this.modules.set(code, mod);
      }
      p = this.device.createComputePipeline({ layout: 'auto', compute: { module: mod, entryPoint: 'main' }, label });
      this.pipelines.set(code, p);
    }
    return p;
  }

  /** Compiles `code` and reports WGSL errors with the kernel's name (pipeline() fails silently until a submit). */
  async check(code: string, label: string): Promise<void> {
    const mod = this.device.createShaderModule({ code, label });
    const info = await mod.getCompilationInfo();
    const errors = info.messages.filter((m) => m.type === 'error');
    if (errors.length) throw new Error(`webgpu engine: kernel ${label} does not compile: ${errors.map((e) => `${e.lineNum}:${e.linePos} ${e.message}`).join('; ')}`);
  }

  bindGroup(pipeline: GPUComputePipeline, buffers: readonly (GPUBuffer | EngineBuffer | { buffer: GPUBuffer; offset: number; size: number })[]): GPUBindGroup {
    return this.device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: buffers.map((b, i) => ({
        binding: i,
        resource: 'offset' in b ? { buffer: b.buffer, offset: b.offset, size: b.size } : { buffer: 'buffer' in b ? b.buffer : b },
      })),
    });
  }

  write(target: EngineBuffer | GPUBuffer, data: ArrayBufferView, offsetBytes = 0): void {
    const buf = 'buffer' in target ? target.buffer : target;
    this.device.queue.writeBuffer(buf, offsetBytes, data.buffer, data.byteOffset, data.byteLength);
  }

  /** A host-visible staging buffer (scratch) for read-backs. */
  staging(size: number, label: string): EngineBuffer {
    const bytes = Math.max(16, Math.ceil(size / 16) * 16);
    const buffer = this.device.createBuffer({ size: bytes, usage: MAP_READ | COPY_DST, label });
    const ctx = this;
    const b: EngineBuffer = {
      buffer,
      size: bytes,
      category: 'scratch',
      label,
      destroy() {
        if (!ctx.live.delete(b)) return;
        buffer.destroy();
      },
    };
    this.live.add(b);
    return b;
  }

  /** Copies `size` bytes of `src` (from `offset`) to the host. Tests and rare read-backs. */
  async read(src: EngineBuffer | GPUBuffer, size?: number, offset = 0): Promise<ArrayBuffer> {
    const buf = 'buffer' in src ? src.buffer : src;
    const n = Math.ceil((size ?? buf.size - offset) / 4) * 4;
    const st = this.device.createBuffer({ size: n, usage: MAP_READ | COPY_DST });
    const enc = this.device.createCommandEncoder();
    enc.copyBufferToBuffer(buf, offset, st, 0, n);
    this.device.queue.submit([enc.finish()]);
    await st.mapAsync(1 /* GPUMapMode.READ */);
    const out = st.getMappedRange().slice(0);
    st.unmap();
    st.destroy();
    return out;
  }

  async readF32(src: EngineBuffer | GPUBuffer, count?: number, offsetFloats = 0): Promise<Float32Array> {
    return new Float32Array(await this.read(src, count === undefined ? undefined : count * 4, offsetFloats * 4));
  }

  /** Waits until the queue has finished everything submitted so far. */
  finish(): Promise<void> {
    return this.device.queue.onSubmittedWorkDone();
  }

  destroyAll(): void {
    for (const b of [...this.live]) b.destroy();
  }
}

/** Dispatches `groups` workgroups, splitting them over x and y when they exceed one dimension's limit. */
export function dispatchGroups(pass: GPUComputePassEncoder, groups: number, maxPerDim = 65535): void {
  if (groups <= maxPerDim) pass.dispatchWorkgroups(groups);
  else pass.dispatchWorkgroups(maxPerDim, Math.ceil(groups / maxPerDim));
}

/** WGSL: the linear workgroup index of a dispatch made by dispatchGroups (x fastest). */
export const LINEAR_GROUP = 'let wg = gid3.x + gid3.y * 65535u;';
