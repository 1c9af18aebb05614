/**
 * The uncompressed cache held on the GPU, for `fp16` cells on the browser's WebGPU EP.
 *
 * The engine drives every method through prefill / restore / append; this one does no host
 * work in them: the backend (ResidentWebBackend) keeps the model's present tensors on the
 * device and feeds them back, and this method only keeps count and reports the bytes the device
 * holds. The device keeps the graph's own K/V type — float32 for graphs built from llama2.c
 * weights (a float16 cache would need `shader-f16`, which SwiftShader lacks) — so its bytes are
 * reported as held (4 per element), not as fp16's 2, and its tokens may differ from the
 * host-side fp16 cache where rounding to fp16 flips an argmax. diagnostics() says all this.
 *
 * The page registers it in place of the registry's `fp16` factory while a resident-capable
 * backend is active (installDeviceFp16); every other method keeps its host implementation.
 */
import type { CacheGeometry, KVBlock } from '../../../src/engine/kv-block.js';
import { getMethod, registerMethod } from '../../../src/methods/registry.js';
import type { ByteBreakdown, KVCacheMethod, MethodDiagnostics } from '../../../src/methods/types.js';
import type { ResidentCacheHost } from './resident-backend.js';

export class DeviceResidentMethod implements KVCacheMethod {
  readonly name = 'fp16';
  private count = 0;
  private readonly bytesPerElement: number;
  /**
   * The host fp16 method, used instead when the prompt's forward did not run on the device
   * cache (a workload that calls forward itself before creating the method, e.g. similarity).
   */
  private fallback: KVCacheMethod | undefined;

  constructor(readonly geometry: CacheGeometry, private readonly host: ResidentCacheHost, private readonly hostMethod: () => KVCacheMethod) {
    this.bytesPerElement = host.attachResident();
  }

  get length(): number {
    return this.fallback ? this.fallback.length : this.count;
  }

  prefill(layers: readonly KVBlock[]): void {
    const tokens = layers[0]?.tokens ?? 0;
    if (this.count === 0 && this.host.residentLength !== tokens) {
      this.host.detachResident();
      this.fallback = this.hostMethod();
      this.fallback.prefill(layers);
      return;
    }
    this.count += tokens;
    this.check();
  }

  append(layers: readonly KVBlock[]): void {
    if (this.fallback) return this.fallback.append(layers);
    this.count += layers[0]?.tokens ?? 0;
    this.check();
  }

  /** The past stays on the device: nothing to write on the host. */
  restore(out: readonly KVBlock[]): void {
    this.fallback?.restore(out);
  }

  bytes(): ByteBreakdown {
    if (this.fallback) return this.fallback.bytes();
    const g = this.geometry;
    return { data: 2 * g.layers * g.batch * g.kvHeads * this.count * g.headDim * this.bytesPerElement };
  }

  diagnostics(): MethodDiagnostics {
    if (this.fallback) return this.fallback.diagnostics();
    return {
      cacheLocation: 'device',
      deviceDtype: this.bytesPerElement === 2 ? 'float16' : 'float32',
      note: 'exact cache kept on the GPU by onnxruntime-web (gpu-buffer outputs fed back as past_key_values); bytes as held on the device',
    };
  }

  dispose(): void {
    this.fallback?.dispose();
    this.host.detachResident();
  }

  private check(): void {
    if (this.host.residentLength !== this.count) {
      throw new Error(`device cache out of step: the backend holds ${this.host.residentLength} tokens, the method counted ${this.count}`);
    }
  }
}

/**
 * Makes the registry's `fp16` create a DeviceResidentMethod whenever `current()` returns a
 * resident-capable backend, and the host fp16 method otherwise. Idempotent.
 */
export function installDeviceFp16(current: () => ResidentCacheHost | undefined): void {
  const host = getMethod('fp16');
  if (!host || (host as { deviceAware?: boolean }).deviceAware) return;
  registerMethod('fp16', {
    ...host,
    deviceAware: true,
    create: (g, p) => {
      const backend = current();
      return backend ? new DeviceResidentMethod(g, backend, () => host.create(g, p)) : host.create(g, p);
    },
  } as typeof host & { deviceAware: true });
}
