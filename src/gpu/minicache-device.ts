/**
 * MiniCache (and "4-bit MiniCache") on the device. Layer plan, SLERP merge, distinctBand
 * retention with the prefill threshold for decode tokens, and restoration as in
 * src/methods/cross-layer-method.ts; the state lives in device tensors:
 *  - unmerged layers: plain fp16 streams adopted from the model's present, or KIVI streams;
 *  - per pair and K|V: the merged directions in an inner stream (fp16 or KIVI), both layers'
 *    magnitudes [B,KV,n] (kv dtype), the decode threshold [B,KV] (float32 control state, not
 *    cache payload), and the retained tokens: int32 index scope·65536 + token and both layers'
 *    original rows [c, D].
 * Retention is data dependent, and WebGPU has no NonZero: the append graph returns the 0/1 keep
 * flags of the new tokens to the host (B·KV floats per pair and K|V at a decode step, the whole
 * prompt's at prefill; nothing else of the cache leaves the device), and when any is set a small
 * graph gathers those rows from the present tensors into the retained lists.
 */
import type { CacheGeometry } from '../engine/kv-block.js';
import { planLayers, type LayerPlan } from '../methods/layer-pairs.js';
import type { CrossLayerOptions } from '../methods/minicache-params.js';
import { addBytes, type ByteBreakdown, type MethodDiagnostics } from '../methods/types.js';
import type { DeviceBytes, DeviceCacheMethod, DeviceKV, DeviceTensor, GraphExec, StepKV } from './device-types.js';
import { DataType, kvDataType, kvElementBytes, type GraphKit } from './graph-kit.js';
import { kvTensorsOf } from './device-decoder-io.js';
import { adoptable, feedPresent, feedSlots, hasNewTokens, makeGroups, readLayers, type LayerGroup, type StreamFactory } from './layered-device-method.js';
import { emitDecodeRetention, emitGatherRows, emitMerge, emitPrefillRetention, emitPutBack, emitPutBackIndex, emitRescale, MAX_TOKENS } from './minicache-graph.js';
import { KiviStream } from './kivi-stream.js';
import { OpCache, type OpTimings } from './op-cache.js';
import { CHUNK_BYTES, layersPerChunk, pastName, stackPresent, unstack } from './stacking.js';
import { PlainStream, SlotHolder, type DeviceStream, type SlotSpec, type SlotUpdate, type StreamShape } from './stream.js';

type Role = 'key' | 'value';

/** The merged records of all pairs for K or V, stacked along the batch axis ([P·B, KV, …]), kept at the deeper layers. */
class PairRecord extends SlotHolder {
  /** Retained rows per pair. */
  readonly retained: number[];

  constructor(
    id: string,
    shape: StreamShape,
    readonly role: Role,
    readonly pairs: [number, number][],
    readonly inner: DeviceStream,
    private readonly kvType: DataType,
  ) {
    super(id, shape);
    this.retained = pairs.map(() => 0);
  }

  slotSpec(slot: string): SlotSpec {
    const { B, KV, D } = this.shape;
    switch (slot) {
      case 'magPrev':
      case 'magCur':
        return { type: this.kvType, shape: [B, KV, 'n'] };
      case 'tau':
        return { type: DataType.FLOAT, shape: [B, KV, 1, 1] };
      case 'ridx':
        return { type: DataType.INT32, shape: ['c'] };
      case 'rprev':
      case 'rcur':
        return { type: this.kvType, shape: ['c', D] };
      default:
        throw new Error(`minicache pair record: no slot ${slot}`);
    }
  }

  protected component(slot: string): keyof ByteBreakdown | null {
    if (slot === 'magPrev' || slot === 'magCur') return 'magnitudes';
    if (slot === 'ridx') return 'indices';
    if (slot === 'rprev' || slot === 'rcur') return 'retained';
    return null; // tau: control state
  }

  in(g: GraphKit, slot: string): string {
    return this.input(g, slot);
  }
}

export class MiniCacheDeviceMethod implements DeviceCacheMethod {
  readonly plan: LayerPlan;
  private readonly unmerged: LayerGroup[];
  private readonly records: PairRecord[] = [];
  private readonly ops: OpCache;
  private readonly shape: StreamShape;
  private readonly kvType: DataType;
  private tokens = 0;

  constructor(
    readonly name: string,
    readonly geometry: CacheGeometry,
    private readonly exec: GraphExec,
    private readonly options: CrossLayerOptions,
    factory: StreamFactory,
    fence: boolean,
    /** Distinguishes this method's graphs from other methods' in the runtime's session cache. */
    scope: string,
    /** See DeviceMethodOptions.chunkBytes. */
    private readonly chunkBytes = CHUNK_BYTES,
  ) {
    if (options.merge !== 'slerp') throw new Error(`${name}: the device path implements SLERP merging only (mean-merge runs on the host path)`);
    if (options.granularity !== 'head') throw new Error(`${name}: the device path implements granularity 'head' only`);
    if (options.retention.mode !== 'distinctBand') throw new Error(`${name}: the device path implements retentionMode 'distinctBand' only (got ${options.retention.mode})`);
    this.shape = { B: geometry.batch, KV: geometry.kvHeads, D: geometry.headDim };
    this.kvType = kvDataType(exec.kv);
    this.ops = new OpCache(exec.kv, fence, scope);
    this.plan = planLayers(geometry.layers, options.startLayer);
    const P = this.plan.pairs.length;
    if (P * geometry.batch * geometry.kvHeads >= 32768) throw new Error(`${name}: pairs × batch × KV heads must stay below 32768 on the device path (retained indices pack scope·65536 + token in int32)`);
    this.unmerged = makeGroups(this.plan.unmerged, this.shape, factory, 'U');
    if (P > 0) {
      const stacked = { ...this.shape, B: this.shape.B * P };
      for (const role of ['key', 'value'] as const) {
        const id = `P${role[0]}`;
        this.records.push(new PairRecord(id, stacked, role, this.plan.pairs, factory(`${id}dir`, stacked, role), this.kvType));
      }
    }
  }

  get length(): number {
    return this.tokens;
  }

  async prefill(present: DeviceKV[]): Promise<void> {
    if (this.tokens > 0) throw new Error(`${this.name}: prefill called on a cache that already holds ${this.tokens} tokens`);
    await this.ingest(present, present[0]!.k.dims[2]!, true);
  }

  async append(present: StepKV[]): Promise<void> {
    await this.ingest(present, 1, false);
  }

  /** Unmerged layers in plain fp16 streams adopt the decoder's present; everything else reads the new tokens. */
  get needsPresent(): boolean {
    return this.unmerged.some((x) => x.s instanceof PlainStream);
  }

  private graphUnmerged(): LayerGroup[] {
    return this.unmerged.filter((x) => !(x.s instanceof PlainStream));
  }

  /**
   * Index in graphUnmerged() of the unmerged group whose KIVI stream can share a quantizer and a
   * dequantizer with record r's inner stream (same role and store: minicache+kivi4), or −1.
   */
  private jointUnmerged(r: PairRecord): number {
    if (!(r.inner instanceof KiviStream)) return -1;
    return this.graphUnmerged().findIndex(({ role, s }) => role === r.role && s instanceof KiviStream && s.jointWith([r.inner]));
  }

  private feeds(present: readonly StepKV[] | null): Record<string, DeviceTensor> {
    const f: Record<string, DeviceTensor> = {};
    feedPresent(f, present);
    for (const { s } of this.unmerged) feedSlots(f, s);
    for (const r of this.records) {
      feedSlots(f, r);
      feedSlots(f, r.inner);
    }
    return f;
  }

  private async ingest(present: readonly StepKV[], T: number, prefill: boolean): Promise<void> {
    const n0 = this.tokens;
    if (n0 + T > MAX_TOKENS) throw new Error(`${this.name}: the device path holds at most ${MAX_TOKENS - 1} tokens`);
    const { KV } = this.shape;
    const graphUnmerged = this.graphUnmerged();
    const useNew = hasNewTokens(present, prefill);
    const key =
      `merge${prefill ? 'P' : 'D'}${T}${useNew ? 'n' : ''}:` +
      graphUnmerged.map((x) => x.s.appendVariant(T)).join(',') +
      '|' +
      this.records.map((r) => r.inner.appendVariant(T)).join(',');
    const { t, antiparallelEps, retention, decodeRetention } = this.options;
    const op = this.ops.get(key, (g) => {
      const unmergedX = graphUnmerged.map(({ layers, role }) => stackPresent(g, layers, role, prefill, this.shape, useNew));
      const unmergedUpdates: (SlotUpdate | undefined)[] = graphUnmerged.map(() => undefined);
      const innerUpdates: (SlotUpdate | undefined)[] = this.records.map(() => undefined);
      const recordUpdates: SlotUpdate[] = [];
      const keeps: string[] = [];
      // One merge over K and V stacked (the merge is row-wise): half the dispatches of two merges.
      const stacked = (layer: 0 | 1) => g.concat(this.records.map((r) => stackPresent(g, r.pairs.map((p) => p[layer]), r.role, prefill, this.shape, useNew)), 0);
      const merged = this.records.length > 0 ? emitMerge(g, g.toF32(stacked(0)), g.toF32(stacked(1)), t, antiparallelEps) : null;
      const parts = (x: string) => unstack(g, x, this.records.length, this.records[0]!.shape.B);
      const split = merged ? { dir: parts(merged.dir), magPrev: parts(merged.magPrev), magCur: parts(merged.magCur), d: parts(merged.d), forced: parts(merged.forced) } : null;
      const dirs = this.records.map((_, j) => g.toKv(split!.dir[j]!));
      // The merged directions and the unmerged layers of one role share a quantizer when their stores allow.
      for (const [j, r] of this.records.entries()) {
        const u = this.jointUnmerged(r);
        if (u < 0) continue;
        const [a, b] = KiviStream.emitAppendJoint(g, [graphUnmerged[u]!.s as KiviStream, r.inner as KiviStream], [unmergedX[u]!, dirs[j]!], T);
        unmergedUpdates[u] = a;
        innerUpdates[j] = b;
      }
      graphUnmerged.forEach(({ s }, i) => (unmergedUpdates[i] ??= s.emitAppend(g, unmergedX[i]!, T)));
      this.records.forEach((r, j) => (innerUpdates[j] ??= r.inner.emitAppend(g, dirs[j]!, T)));
      graphUnmerged.forEach(({ s }, i) => s.declareOutputs(g, unmergedUpdates[i]!));
      this.records.forEach((r, j) => r.inner.declareOutputs(g, innerUpdates[j]!));
      for (const [j, r] of this.records.entries()) {
        const m = { magPrev: split!.magPrev[j]!, magCur: split!.magCur[j]!, d: split!.d[j]!, forced: split!.forced[j]! };
        const mags = (x: string) => g.reshape(g.toKv(x), [r.shape.B, KV, -1]);
        const u: SlotUpdate = {};
        let keep: string;
        if (prefill) {
          const ret = emitPrefillRetention(g, m.d, m.forced, retention.gamma);
          keep = ret.keep;
          u.tau = ret.tau;
          u.magPrev = mags(m.magPrev);
          u.magCur = mags(m.magCur);
        } else {
          keep = emitDecodeRetention(g, m.d, m.forced, decodeRetention === 'threshold' ? r.in(g, 'tau') : null);
          u.magPrev = g.concat([r.in(g, 'magPrev'), mags(m.magPrev)], 2);
          u.magCur = g.concat([r.in(g, 'magCur'), mags(m.magCur)], 2);
        }
        r.declareOutputs(g, u);
        recordUpdates.push(u);
        keeps.push(g.reshape(keep, [1, -1]));
      }
      const updates: SlotUpdate[] = [...(unmergedUpdates as SlotUpdate[])];
      this.records.forEach((_, j) => updates.push(innerUpdates[j]!, recordUpdates[j]!));
      const hostOutputs: string[] = [];
      if (keeps.length > 0) {
        g.output('keep', g.concat(keeps, 0), DataType.FLOAT, [keeps.length, 'm']);
        hostOutputs.push('keep');
      }
      return { updates, hostOutputs };
    });
    const out = await this.ops.run(this.exec, op, this.feeds(present));
    let i = 0;
    for (const { s } of graphUnmerged) s.commit(op.updates[i++]!, out, T);
    for (const r of this.records) {
      r.inner.commit(op.updates[i++]!, out, T);
      r.commit(op.updates[i++]!, out, T);
    }
    if (out.keep) {
      const flags = (await this.exec.read(out.keep)) as Float32Array;
      out.keep.dispose();
      await this.retain(present, flags, n0, T, prefill, useNew);
    }
    const kept = new Set<DeviceTensor>();
    for (const { layers, role, s } of this.unmerged) {
      if (s instanceof PlainStream) {
        const tensor = adoptable(present[layers[0]!]!, role, this.name);
        s.adopt(tensor, T);
        kept.add(tensor);
      }
    }
    for (const x of kvTensorsOf(present)) if (!kept.has(x)) x.dispose();
    this.tokens += T;
  }

  /**
   * Gathers the rows flagged for retention into the retained lists (one small graph). Flags are
   * laid out per record as the stacked new tokens [P·B, KV, T]: flat row e = scope·T + i.
   */
  private async retain(present: readonly StepKV[], flags: Float32Array, n0: number, T: number, prefill: boolean, useNew: boolean): Promise<void> {
    const { B, KV, D } = this.shape;
    const adds: { r: PairRecord; idx: Int32Array; rows: Int32Array }[] = [];
    this.records.forEach((r, j) => {
      const per = r.shape.B * KV * T;
      const idx: number[] = [];
      const rows: number[] = [];
      for (let e = 0; e < per; e++) {
        if (flags[j * per + e]! < 0.5) continue;
        const scope = Math.floor(e / T);
        idx.push(scope * MAX_TOKENS + n0 + (e - scope * T));
        rows.push(e);
        r.retained[Math.floor(scope / (B * KV))]!++;
      }
      if (idx.length > 0) adds.push({ r, idx: Int32Array.from(idx), rows: Int32Array.from(rows) });
    });
    if (adds.length === 0) return;
    const key = `retain${prefill ? 'P' : 'D'}${useNew ? 'n' : ''}:${adds.map(({ r }) => `${r.id}${r.has('ridx') ? 'e' : ''}`).join(',')}`;
    const op = this.ops.get(key, (g) => {
      const updates = adds.map(({ r }) => {
        const newIdx = g.input(`${r.id}.newIdx`, DataType.INT32, [`${r.id}_m`]);
        const rows = g.input(`${r.id}.rows`, DataType.INT32, [`${r.id}_m`]);
        const gp = emitGatherRows(g, stackPresent(g, r.pairs.map((p) => p[0]), r.role, prefill, this.shape, useNew), rows, D);
        const gc = emitGatherRows(g, stackPresent(g, r.pairs.map((p) => p[1]), r.role, prefill, this.shape, useNew), rows, D);
        const u: SlotUpdate = r.has('ridx')
          ? { ridx: g.concat([r.in(g, 'ridx'), newIdx], 0), rprev: g.concat([r.in(g, 'rprev'), gp], 0), rcur: g.concat([r.in(g, 'rcur'), gc], 0) }
          : { ridx: g.op('Identity', [newIdx]), rprev: gp, rcur: gc };
        r.declareOutputs(g, u);
        return u;
      });
      return { updates };
    });
    const feeds = this.feeds(present);
    const uploaded: DeviceTensor[] = [];
    for (const { r, idx, rows } of adds) {
      const a = this.exec.upload('int32', idx, [idx.length]);
      const b = this.exec.upload('int32', rows, [rows.length]);
      feeds[`${r.id}.newIdx`] = a;
      feeds[`${r.id}.rows`] = b;
      uploaded.push(a, b);
    }
    const out = await this.ops.run(this.exec, op, feeds);
    adds.forEach(({ r }, k) => r.commit(op.updates[k]!, out, 0));
    for (const u of uploaded) u.dispose();
  }

  async restore(): Promise<{ past: DeviceKV[]; transient: DeviceTensor[] }> {
    const { B, KV, D } = this.shape;
    const kv = this.kvType;
    const graphUnmerged = this.graphUnmerged();
    // Large caches are read in chunks of layers (few dispatches when small, bounded buffers when large).
    const per = layersPerChunk(this.shape, this.tokens, kvElementBytes(this.exec.kv), this.chunkBytes);
    const key =
      `restore${per}:` +
      graphUnmerged.map((x) => x.s.readVariant()).join(',') +
      '|' +
      this.records.map((r) => `${r.inner.readVariant()}${r.has('ridx') ? 'r' : ''}`).join(',');
    const op = this.ops.get(key, (g) => {
      const shape = [B, KV, 'n', D];
      const reads = new Map<number, string[]>(); // graphUnmerged index → its read, per layer
      const dirs = new Map<PairRecord, string>();
      for (const r of this.records) {
        const u = this.jointUnmerged(r);
        if (u < 0) continue;
        const su = graphUnmerged[u]!;
        if (su.layers.length + r.pairs.length > per) continue;
        const [a, b] = g.split(KiviStream.emitReadJoint(g, [su.s as KiviStream, r.inner as KiviStream], true), [su.s.shape.B, r.shape.B], 0);
        reads.set(u, unstack(g, a!, su.layers.length, B));
        dirs.set(r, b!);
      }
      graphUnmerged.forEach(({ layers, role, s }, i) => {
        const parts = reads.get(i) ?? readLayers(g, s, layers.length, per, B);
        layers.forEach((l, k) => g.output(pastName(l, role), parts[k]!, kv, shape));
      });
      for (const r of this.records) {
        const SB = r.shape.B;
        const dir = dirs.get(r) ?? r.inner.emitRead(g, true);
        let [pk, ck] = emitRescale(g, dir, r.in(g, 'magPrev'), r.in(g, 'magCur'));
        if (r.has('ridx')) {
          const pairs = emitPutBackIndex(g, r.in(g, 'ridx'));
          pk = emitPutBack(g, pk, pairs, r.in(g, 'rprev'), SB, KV, D);
          ck = emitPutBack(g, ck, pairs, r.in(g, 'rcur'), SB, KV, D);
        }
        const prevParts = unstack(g, pk, r.pairs.length, B);
        const curParts = unstack(g, ck, r.pairs.length, B);
        r.pairs.forEach(([a, b], i) => {
          g.output(pastName(a, r.role), prevParts[i]!, kv, shape);
          g.output(pastName(b, r.role), curParts[i]!, kv, shape);
        });
      }
      return { updates: [] };
    });
    const out = await this.ops.run(this.exec, op, this.feeds(null));
    const past: Partial<DeviceKV>[] = Array.from({ length: this.geometry.layers }, () => ({}));
    const transient: DeviceTensor[] = [];
    const put = (l: number, role: Role, t: DeviceTensor) => {
      past[l]![role === 'key' ? 'k' : 'v'] = t;
    };
    for (const { layers, role, s } of this.unmerged) {
      for (const l of layers) {
        if (s instanceof PlainStream) put(l, role, s.tensor('data')!);
        else {
          const x = out[pastName(l, role)]!;
          put(l, role, x);
          transient.push(x);
        }
      }
    }
    for (const r of this.records) {
      for (const pair of r.pairs) {
        for (const l of pair) {
          const x = out[pastName(l, r.role)]!;
          put(l, r.role, x);
          transient.push(x);
        }
      }
    }
    return { past: past as DeviceKV[], transient };
  }

  bytes(): DeviceBytes {
    const held: ByteBreakdown = {};
    const packedEquivalent: ByteBreakdown = {};
    const holders: SlotHolder[] = [...this.unmerged.map((x) => x.s), ...this.records.flatMap((r) => [r, r.inner])];
    for (const h of holders) {
      addBytes(held, h.bytes());
      addBytes(packedEquivalent, h.bytes(2));
    }
    return { held, packedEquivalent };
  }

  diagnostics(): MethodDiagnostics {
    const scopes = this.shape.B * this.shape.KV;
    const frac = (role: Role, j: number) => {
      const r = this.records.find((x) => x.role === role);
      return r && this.tokens > 0 ? r.retained[j]! / (scopes * this.tokens) : 0;
    };
    return {
      startLayer: this.options.startLayer,
      unmergedLayers: this.plan.unmerged,
      store: this.options.storeName,
      device: {
        graphs: this.ops.size,
        kvDtype: this.exec.kv,
        pairs: this.plan.pairs.map((pair, j) => ({ pair, retainedFracK: frac('key', j), retainedFracV: frac('value', j) })),
        thresholdBytes: this.records.reduce((a, r) => a + r.controlBytes(), 0),
      },
    };
  }

  /** Time per kind of cache-op graph so far (see OpCache.timings). */
  opTimings(): OpTimings {
    return this.ops.timings;
  }

  dispose(): void {
    for (const { s } of this.unmerged) s.dispose();
    for (const r of this.records) {
      r.dispose();
      r.inner.dispose();
    }
  }
}
