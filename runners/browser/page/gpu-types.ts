/**
 * The few WebGPU shapes the page touches. TypeScript's lib.dom has no WebGPU yet, and the
 * page needs only adapter facts and device loss, so they are declared here instead of pulling
 * @webgpu/types into every compilation unit of the project.
 */
export interface GpuAdapterInfoLike {
  vendor: string;
  architecture: string;
  device?: string;
  description?: string;
  isFallbackAdapter?: boolean;
}

export interface GpuAdapterLike {
  readonly info: GpuAdapterInfoLike;
  readonly features: ReadonlySet<string>;
  readonly limits: { readonly maxBufferSize: number };
  readonly isFallbackAdapter?: boolean;
}

export interface GpuDeviceLike {
  readonly lost: Promise<{ reason: string; message: string }>;
  readonly adapterInfo?: GpuAdapterInfoLike;
}

interface GpuLike {
  requestAdapter(opts?: { powerPreference?: 'low-power' | 'high-performance' }): Promise<GpuAdapterLike | null>;
}

export function navigatorGpu(): GpuLike | undefined {
  return (navigator as Navigator & { gpu?: GpuLike }).gpu;
}
