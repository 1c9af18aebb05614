/**
 * FP16 and KIVI on the device.
 *  - fp16 ('plain' streams, one per layer and K|V): the store of a layer IS the model's present
 *    output (fp16, Concat(past, new)), adopted without any graph; restore hands it back as the next
 *    past. No cache op runs at all: the baseline's cache never leaves the device and is never
 *    copied beyond the model's own Concat.
 *  - KIVI: one stream per K|V holding every layer stacked along the batch axis ([L·B, KV, n, D]);
 *    one restore graph (dequantize, concatenate the residual, split per layer) and one append graph
 *    (stack the layers' new tokens, quantize what the streaming rules say) per step.
 */
import type { CacheGeometry } from '../engine/kv-block.js';
import { addBytes, type ByteBreakdown, type MethodDiagnostics } from '../methods/types.js';
import type { DeviceBytes, DeviceCacheMethod, DeviceKV, DeviceTensor, GraphExec, StepKV } from './device-types.js';
import { kvDataType, kvElementBytes, type GraphKit } from './graph-kit.js';
import { KiviStream } from './kivi-stream.js';
import { OpCache, type OpTimings } from './op-cache.js';
import { kvTensorsOf } from './device-decoder-io.js';
import { CHUNK_BYTES, chunkRows, layersPerChunk, newName, pastName, presentName, stackPresent, unstack } from './stacking.js';
import { PlainStream, type DeviceStream, type SlotHolder, type StreamShape } from './stream.js';

export { pastName, presentName } from './stacking.js';

export type Role = 'key' | 'value';
export type StreamFactory = (id: string, shape: StreamShape, role: Role) => DeviceStream;

/** A stream kept for several layers at once (stacked), or a plain per-layer stream adopted from present. */
export interface LayerGroup {
  role: Role;
  layers: number[];
  s: DeviceStream;
}

/** Groups for `layers`: one plain stream per layer and role, or one stacked stream per role. */
export function makeGroups(layers: readonly number[], shape: StreamShape, factory: StreamFactory, prefix: string): LayerGroup[] {
  if (layers.length === 0) return [];
  const probe = factory(`${prefix}probe`, shape, 'key');
  if (probe instanceof PlainStream) {
    return layers.flatMap((l) => (['key', 'value'] as const).map((role) => ({ role, layers: [l], s: factory(`${prefix}L${l}${role[0]}`, shape, role) })));
  }
  const stacked = { ...shape, B: shape.B * layers.length };
  return (['key', 'value'] as const).map((role) => ({ role, layers: [...layers], s: factory(`${prefix}${role[0]}`, stacked, role) }));
}

export function feedPresent(feeds: Record<string, DeviceTensor>, present: readonly StepKV[] | null): void {
  if (present) present.forEach((kv, l) => {
    if (kv.k && kv.v) {
      feeds[presentName(l, 'key')] = kv.k;
      feeds[presentName(l, 'value')] = kv.v;
    }
    if (kv.kNew && kv.vNew) {
      feeds[newName(l, 'key')] = kv.kNew;
      feeds[newName(l, 'value')] = kv.vNew;
    }
  });
}

/** True when a decode step can read every layer's new tokens from the decoder's new-token outputs. */
export function hasNewTokens(present: readonly StepKV[], prefill: boolean): boolean {
  return !prefill && present.every((p) => p.kNew && p.vNew);
}

/** The present tensor a plain stream adopts (the method asked for present: needsPresent). */
export function adoptable(kv: StepKV, role: 'key' | 'value', method: string): DeviceTensor {
  const t = role === 'key' ? kv.k : kv.v;
  if (!t) throw new Error(`${method}: a plain stream adopts the decoder's present, and the forward returned only the new tokens`);
  return t;
}

export function feedSlots(feeds: Record<string, DeviceTensor>, h: SlotHolder): void {
  h.feeds(feeds, new Set(h.slotNames().map((n) => h.inputName(n))));
}

/** A stream's read, one value per stacked layer: KIVI in chunks of `per` layers, anything else whole. */
export function readLayers(g: GraphKit, s: DeviceStream, layers: number, per: number, B: number): string[] {
  if (!(s instanceof KiviStream)) return unstack(g, s.emitRead(g, true), layers, B);
  const sizes = chunkRows(layers, per, B);
  return s.emitReadChunks(g, sizes, true).flatMap((c, i) => unstack(g, c, sizes[i]! / B, B));
}

export class LayeredDeviceMethod implements DeviceCacheMethod {
  protected readonly groups: LayerGroup[];
  protected readonly ops: OpCache;
  protected readonly shape: StreamShape;

  constructor(
    readonly name: string,
    readonly geometry: CacheGeometry,
    protected readonly exec: GraphExec,
    factory: StreamFactory,
    fence: boolean,
    /** Distinguishes this method's graphs from other methods' in the runtime's session cache. */
    scope: string,
    /** See DeviceMethodOptions.chunkBytes. */
    private readonly chunkBytes = CHUNK_BYTES,
  ) {
    this.shape = { B: geometry.batch, KV: geometry.kvHeads, D: geometry.headDim };
    this.ops = new OpCache(exec.kv, fence, scope);
    this.groups = makeGroups(
      Array.from({ length: geometry.layers }, (_, l) => l),
      this.shape,
      factory,
      '',
    );
  }

  get length(): number {
    return this.groups[0]?.s.n ?? 0;
  }

  async prefill(present: DeviceKV[]): Promise<void> {
    if (this.length > 0) throw new Error(`${this.name}: prefill called on a cache that already holds ${this.length} tokens`);
    await this.ingest(present, present[0]!.k.dims[2]!, true);
  }

  async append(present: StepKV[]): Promise<void> {
    await this.ingest(present, 1, false);
  }

  /** Plain streams (FP16's) adopt the decoder's present; stacked KIVI streams read the new tokens alone. */
  get needsPresent(): boolean {
    return this.groups.some((x) => x.s instanceof PlainStream);
  }

  /** Plain streams adopt their layer's present; the stacked ones take it through one append graph. */
  protected async ingest(present: readonly StepKV[], tokens: number, prefill: boolean): Promise<void> {
    const graphGroups = this.groups.filter((x) => !(x.s instanceof PlainStream));
    const kept = new Set<DeviceTensor>();
    if (graphGroups.length > 0) {
      const useNew = hasNewTokens(present, prefill);
      const key = `append${prefill ? 'P' : 'D'}${useNew ? 'n' : ''}:${graphGroups.map((x) => x.s.appendVariant(tokens)).join(',')}`;
      const op = this.ops.get(key, (g) => {
        const updates = graphGroups.map(({ layers, role, s }) => {
          const u = s.emitAppend(g, stackPresent(g, layers, role, prefill, this.shape, useNew), tokens);
          s.declareOutputs(g, u);
          return u;
        });
        return { updates };
      });
      const feeds: Record<string, DeviceTensor> = {};
      feedPresent(feeds, present);
      for (const { s } of graphGroups) feedSlots(feeds, s);
      const out = await this.ops.run(this.exec, op, feeds);
      graphGroups.forEach(({ s }, i) => s.commit(op.updates[i]!, out, tokens));
    }
    for (const { layers, role, s } of this.groups) {
      if (s instanceof PlainStream) {
        const t = adoptable(present[layers[0]!]!, role, this.name);
        s.adopt(t, tokens);
        kept.add(t);
      }
    }
    for (const t of kvTensorsOf(present)) if (!kept.has(t)) t.dispose();
  }

  async restore(): Promise<{ past: DeviceKV[]; transient: DeviceTensor[] }> {
    const past: Partial<DeviceKV>[] = Array.from({ length: this.geometry.layers }, () => ({}));
    const graphGroups = this.groups.filter((x) => !(x.s instanceof PlainStream));
    const transient: DeviceTensor[] = [];
    if (graphGroups.length > 0) {
      // Large caches are read in chunks of layers (few dispatches when small, bounded buffers when large).
      const per = layersPerChunk(this.shape, this.length, kvElementBytes(this.exec.kv), this.chunkBytes);
      const key = `restore${per}:${graphGroups.map((x) => x.s.readVariant()).join(',')}`;
      const op = this.ops.get(key, (g) => {
        const kv = kvDataType(this.exec.kv);
        for (const { layers, role, s } of graphGroups) {
          const parts = readLayers(g, s, layers.length, per, this.shape.B);
          layers.forEach((l, i) => g.output(pastName(l, role), parts[i]!, kv, [this.shape.B, this.shape.KV, 'n', this.shape.D]));
        }
        return { updates: [] };
      });
      const feeds: Record<string, DeviceTensor> = {};
      for (const { s } of graphGroups) feedSlots(feeds, s);
      const out = await this.ops.run(this.exec, op, feeds);
      for (const { layers, role } of graphGroups) {
        for (const l of layers) {
          const t = out[pastName(l, role)]!;
          past[l]![role === 'key' ? 'k' : 'v'] = t;
          transient.push(t);
        }
      }
    }
    for (const { layers, role, s } of this.groups) {
      if (s instanceof PlainStream) past[layers[0]!]![role === 'key' ? 'k' : 'v'] = s.tensor('data')!;
    }
    return { past: past as DeviceKV[], transient };
  }

  bytes(): DeviceBytes {
    const held: ByteBreakdown = {};
    const packedEquivalent: ByteBreakdown = {};
    for (const { s } of this.groups) {
      addBytes(held, s.bytes());
      addBytes(packedEquivalent, s.bytes(2));
    }
    return { held, packedEquivalent };
  }

  diagnostics(): MethodDiagnostics {
    const first = this.groups.find((x) => x.s instanceof KiviStream);
    const d: MethodDiagnostics = { device: { graphs: this.ops.size, kvDtype: this.exec.kv } };
    if (first) {
      const s = first.s as KiviStream;
      d.residual = {
        keys: KiviStream.lengths('key', s.options.residual, this.length).tail,
        values: KiviStream.lengths('value', s.options.residual, this.length).tail,
      };
    }
    return d;
  }

  /** Time per kind of cache-op graph so far (see OpCache.timings). */
  opTimings(): OpTimings {
    return this.ops.timings;
  }

  dispose(): void {
    for (const { s } of this.groups) s.dispose();
  }
}

export function plainFactory(kv: GraphExec['kv']): StreamFactory {
  return (id, shape) => new PlainStream(id, shape, kvDataType(kv));
}

export function kiviFactory(kv: GraphExec['kv'], opts: { bits: 2 | 4 | 8; groupSize: number; residual: number }): StreamFactory {
  return (id, shape, role) => new KiviStream(id, shape, role, kvDataType(kv), opts);
}
