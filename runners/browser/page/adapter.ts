/**
 * The WebGPU adapter the page gets, described for provenance. SwiftShader (Chromium's CPU
 * emulation, what headless Chromium offers without a GPU) is flagged as a fallback even where
 * the browser does not set isFallbackAdapter, so its timings are never taken for GPU timings.
 */
import type { AdapterInfo } from '../protocol.js';
import { navigatorGpu, type GpuAdapterInfoLike, type GpuAdapterLike } from './gpu-types.js';

export function isSoftwareAdapter(info: GpuAdapterInfoLike): boolean {
  return info.isFallbackAdapter === true || /swiftshader|llvmpipe|lavapipe|warp|software/i.test(`${info.vendor} ${info.architecture} ${info.description ?? ''}`);
}

export function describeAdapter(adapter: GpuAdapterLike): AdapterInfo {
  const info = adapter.info;
  const fallback = isSoftwareAdapter(info) || adapter.isFallbackAdapter === true;
  const label = [info.vendor, info.architecture, info.device, info.description].filter((s) => s).join(' ');
  return {
    vendor: info.vendor || 'unknown',
    architecture: info.architecture || '',
    description: /swiftshader/i.test(label) ? `SwiftShader (CPU emulation, not a GPU): ${label}` : label,
    fallback,
    features: [...adapter.features].sort(),
    maxBufferSize: adapter.limits.maxBufferSize,
  };
}

/** The adapter WebGPU offers this page, or an error that says how to get one. */
export async function requestAdapter(): Promise<GpuAdapterLike> {
  const gpu = navigatorGpu();
  if (!gpu) {
    throw new Error('this browser exposes no navigator.gpu (WebGPU): launch Chromium with --enable-unsafe-webgpu and serve the page from http://127.0.0.1 (a secure context)');
  }
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) throw new Error('navigator.gpu.requestAdapter() returned null: no WebGPU adapter (check chrome://gpu in a headed run with --headed)');
  return adapter;
}
