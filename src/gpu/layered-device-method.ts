/**
 * FP16 and KIVI on the device: every layer's K and V in its own stream.
 *  - fp16 ('plain' streams): the store of a layer IS the model's present output (fp16,
 *    Concat(past, new)), adopted without any graph; restore hands it back as the next past. No
 *    cache op runs at all: the baseline's cache never leaves the device and is never copied
 *    beyond the model's own Concat.
 *  - KIVI: one restore graph (dequantize + concatenate residual, all layers) and one append graph
 *    (take the new token from present, quantize what the streaming rules say) per step.
 */
import type { CacheGeometry } from '../engine/kv-block.js';
import { addBytes, type ByteBreakdown, type MethodDiagnostics } from '../methods/types.js';
import type { DeviceBytes, DeviceCacheMethod, DeviceKV, DeviceTensor, GraphExec } from './device-types.js';
import { kvDataType } from './graph-kit.js';
import { KiviStream } from './kivi-stream.js';
import { OpCache } from './op-cache.js';
import { PlainStream, type DeviceStream, type StreamShape } from './stream.js';

export const END = 2 ** 62;

export type StreamFactory = (id: string, shape: StreamShape, role: 'key' | 'value') => DeviceStream;

export function presentName(layer: number, role: 'key' | 'value'): string {
  return `present.${layer}.${role}`;
}

export function pastName(layer: number, role: 'key' | 'value'): string {
  return `past.${layer}.${role}`;
}

export class LayeredDeviceMethod implements DeviceCacheMethod {
  protected readonly streams: { layer: number; role: 'key' | 'value'; s: DeviceStream }[] = [];
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
  ) {
    this.shape = { B: geometry.batch, KV: geometry.kvHeads, D: geometry.headDim };
    this.ops = new OpCache(exec.kv, fence, scope);
    for (let l = 0; l < geometry.layers; l++) {
      for (const role of ['key', 'value'] as const) this.streams.push({ layer: l, role, s: factory(`L${l}${role[0]}`, this.shape, role) });
    }
  }

  get length(): number {
    return this.streams[0]?.s.n ?? 0;
  }

  async prefill(present: DeviceKV[]): Promise<void> {
    if (this.length > 0) throw new Error(`${this.name}: prefill called on a cache that already holds ${this.length} tokens`);
    await this.ingest(present, present[0]!.k.dims[2]!, true);
  }

  async append(present: DeviceKV[]): Promise<void> {
    await this.ingest(present, 1, false);
  }

  /** Plain streams adopt their layer's present; the others take it through one append graph. */
  protected async ingest(present: DeviceKV[], tokens: number, prefill: boolean): Promise<void> {
    const graphStreams = this.streams.filter((x) => !(x.s instanceof PlainStream));
    const kept = new Set<DeviceTensor>();
    if (graphStreams.length > 0) {
      const key = `append${prefill ? 'P' : 'D'}:${graphStreams.map((x) => x.s.appendVariant(tokens)).join(',')}`;
      const op = this.ops.get(key, (g) => {
        const kv = kvDataType(this.exec.kv);
        const updates = graphStreams.map(({ layer, role, s }) => {
          const p = g.input(presentName(layer, role), kv, [this.shape.B, this.shape.KV, 'total', this.shape.D]);
          const x = prefill ? p : g.slice(p, 2, -1, END);
          const u = s.emitAppend(g, x, tokens);
          s.declareOutputs(g, u);
          return u;
        });
        return { updates };
      });
      const feeds = this.feedsFor(present);
      const out = await this.ops.run(this.exec, op, feeds);
      graphStreams.forEach(({ s }, i) => s.commit(op.updates[i]!, out, tokens));
    }
    for (const { layer, role, s } of this.streams) {
      if (s instanceof PlainStream) {
        const t = role === 'key' ? present[layer]!.k : present[layer]!.v;
        s.adopt(t, tokens);
        kept.add(t);
      }
    }
    for (const kv of present) for (const t of [kv.k, kv.v]) if (!kept.has(t)) t.dispose();
  }

  protected feedsFor(present: DeviceKV[] | null): Record<string, DeviceTensor> {
    const feeds: Record<string, DeviceTensor> = {};
    if (present) present.forEach((kv, l) => {
      feeds[presentName(l, 'key')] = kv.k;
      feeds[presentName(l, 'value')] = kv.v;
    });
    for (const { s } of this.streams) s.feeds(feeds, new Set(s.slotNames().map((n) => s.inputName(n))));
    return feeds;
  }

  async restore(): Promise<{ past: DeviceKV[]; transient: DeviceTensor[] }> {
    const past: Partial<DeviceKV>[] = Array.from({ length: this.geometry.layers }, () => ({}));
    const graphStreams = this.streams.filter((x) => !(x.s instanceof PlainStream));
    const transient: DeviceTensor[] = [];
    if (graphStreams.length > 0) {
      const key = `restore:${graphStreams.map((x) => x.s.readVariant()).join(',')}`;
      const op = this.ops.get(key, (g) => {
        const kv = kvDataType(this.exec.kv);
        for (const { layer, role, s } of graphStreams) g.output(pastName(layer, role), s.emitRead(g, true), kv, [this.shape.B, this.shape.KV, 'n', this.shape.D]);
        return { updates: [] };
      });
      const out = await this.ops.run(this.exec, op, this.feedsFor(null));
      for (const { layer, role } of graphStreams) {
        const t = out[pastName(layer, role)]!;
        past[layer]![role === 'key' ? 'k' : 'v'] = t;
        transient.push(t);
      }
    }
    for (const { layer, role, s } of this.streams) {
      if (s instanceof PlainStream) past[layer]![role === 'key' ? 'k' : 'v'] = s.tensor('data')!;
    }
    return { past: past as DeviceKV[], transient };
  }

  bytes(): DeviceBytes {
    const held: ByteBreakdown = {};
    const packedEquivalent: ByteBreakdown = {};
    for (const { s } of this.streams) {
      addBytes(held, s.bytes());
      addBytes(packedEquivalent, s.bytes(2));
    }
    return { held, packedEquivalent };
  }

  diagnostics(): MethodDiagnostics {
    const first = this.streams.find((x) => x.s instanceof KiviStream);
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

  dispose(): void {
    for (const { s } of this.streams) s.dispose();
  }
}

export function plainFactory(kv: GraphExec['kv']): StreamFactory {
  return (id, shape) => new PlainStream(id, shape, kvDataType(kv));
}

export function kiviFactory(kv: GraphExec['kv'], opts: { bits: 2 | 4 | 8; groupSize: number; residual: number }): StreamFactory {
  return (id, shape, role) => new KiviStream(id, shape, role, kvDataType(kv), opts);
}
