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
import type { DeviceBytes, DeviceCacheMethod, DeviceKV, DeviceTensor, GraphExec } from './device-types.js';
import { DataType, kvDataType, type GraphKit } from './graph-kit.js';
import { END, pastName, presentName, type StreamFactory } from './layered-device-method.js';
import { emitDecodeRetention, emitGatherRows, emitMerge, emitPrefillRetention, emitPutBack, emitRescale, MAX_TOKENS } from './minicache-graph.js';
import { OpCache } from './op-cache.js';
import { PlainStream, SlotHolder, type DeviceStream, type SlotSpec, type SlotUpdate, type StreamShape } from './stream.js';

type Role = 'key' | 'value';

/** One pair's merged record for K or V, kept at the deeper layer. */
class PairRecord extends SlotHolder {
  retained = 0;

  constructor(
    id: string,
    shape: StreamShape,
    readonly role: Role,
    readonly pair: [number, number],
    readonly inner: DeviceStream,
    private readonly kvType: DataType,
  ) {
    super(id, shape);
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

  /** Called when the retained lists were extended by `added` rows (n unchanged). */
  addRetained(update: SlotUpdate, outputs: Record<string, DeviceTensor>, added: number): void {
    this.commit(update, outputs, 0);
    this.retained += added;
  }
}

export class MiniCacheDeviceMethod implements DeviceCacheMethod {
  readonly plan: LayerPlan;
  private readonly unmerged: { layer: number; role: Role; s: DeviceStream }[] = [];
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
  ) {
    if (options.merge !== 'slerp') throw new Error(`${name}: the device path implements SLERP merging only (mean-merge runs on the host path)`);
    if (options.granularity !== 'head') throw new Error(`${name}: the device path implements granularity 'head' only`);
    if (options.retention.mode !== 'distinctBand') throw new Error(`${name}: the device path implements retentionMode 'distinctBand' only (got ${options.retention.mode})`);
    if (geometry.batch * geometry.kvHeads >= 32768) throw new Error(`${name}: batch × KV heads must stay below 32768 on the device path (retained indices pack scope·65536 + token in int32)`);
    this.shape = { B: geometry.batch, KV: geometry.kvHeads, D: geometry.headDim };
    this.kvType = kvDataType(exec.kv);
    this.ops = new OpCache(exec.kv, fence, scope);
    this.plan = planLayers(geometry.layers, options.startLayer);
    for (const l of this.plan.unmerged) for (const role of ['key', 'value'] as const) this.unmerged.push({ layer: l, role, s: factory(`L${l}${role[0]}`, this.shape, role) });
    for (const pair of this.plan.pairs) {
      for (const role of ['key', 'value'] as const) {
        const id = `P${pair[1]}${role[0]}`;
        this.records.push(new PairRecord(id, this.shape, role, pair, factory(`${id}dir`, this.shape, role), this.kvType));
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

  async append(present: DeviceKV[]): Promise<void> {
    await this.ingest(present, 1, false);
  }

  private graphUnmerged() {
    return this.unmerged.filter((x) => !(x.s instanceof PlainStream));
  }

  private feeds(present: DeviceKV[] | null): Record<string, DeviceTensor> {
    const f: Record<string, DeviceTensor> = {};
    if (present) present.forEach((kv, l) => {
      f[presentName(l, 'key')] = kv.k;
      f[presentName(l, 'value')] = kv.v;
    });
    const add = (h: SlotHolder) => h.feeds(f, new Set(h.slotNames().map((n) => h.inputName(n))));
    for (const { s } of this.unmerged) add(s);
    for (const r of this.records) {
      add(r);
      add(r.inner);
    }
    return f;
  }

  private async ingest(present: DeviceKV[], T: number, prefill: boolean): Promise<void> {
    const n0 = this.tokens;
    if (n0 + T > MAX_TOKENS) throw new Error(`${this.name}: the device path holds at most ${MAX_TOKENS - 1} tokens`);
    const { B, KV, D } = this.shape;
    const kv = this.kvType;
    const graphUnmerged = this.graphUnmerged();
    const key =
      `merge${prefill ? 'P' : 'D'}${T}:` +
      graphUnmerged.map((x) => x.s.appendVariant(T)).join(',') +
      '|' +
      this.records.map((r) => r.inner.appendVariant(T)).join(',');
    const { t, antiparallelEps, retention, decodeRetention } = this.options;
    const op = this.ops.get(key, (g) => {
      const presentIn = (l: number, role: Role) => {
        const p = g.input(presentName(l, role), kv, [B, KV, 'total', D]);
        return prefill ? p : g.slice(p, 2, -1, END);
      };
      const updates: SlotUpdate[] = [];
      for (const { layer, role, s } of graphUnmerged) {
        const u = s.emitAppend(g, presentIn(layer, role), T);
        s.declareOutputs(g, u);
        updates.push(u);
      }
      const keeps: string[] = [];
      for (const r of this.records) {
        const [a, b] = r.pair;
        const m = emitMerge(g, g.toF32(presentIn(a, r.role)), g.toF32(presentIn(b, r.role)), t, antiparallelEps);
        const innerUpdate = r.inner.emitAppend(g, g.toKv(m.dir), T);
        r.inner.declareOutputs(g, innerUpdate);
        updates.push(innerUpdate);
        const mags = (x: string) => g.reshape(g.toKv(x), [B, KV, -1]);
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
        updates.push(u);
        keeps.push(g.reshape(keep, [1, -1]));
      }
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
      await this.retain(present, flags, n0, T);
    }
    const kept = new Set<DeviceTensor>();
    for (const { layer, role, s } of this.unmerged) {
      if (s instanceof PlainStream) {
        const tensor = role === 'key' ? present[layer]!.k : present[layer]!.v;
        s.adopt(tensor, T);
        kept.add(tensor);
      }
    }
    for (const p of present) for (const x of [p.k, p.v]) if (!kept.has(x)) x.dispose();
    this.tokens += T;
  }

  /** Gathers the rows flagged for retention into each record's retained lists (one small graph). */
  private async retain(present: DeviceKV[], flags: Float32Array, n0: number, T: number): Promise<void> {
    const { B, KV, D } = this.shape;
    const per = B * KV * T;
    const N = present[0]!.k.dims[2]!; // tokens in the present tensors
    const adds: { r: PairRecord; idx: Int32Array; rows: Int32Array }[] = [];
    this.records.forEach((r, j) => {
      const idx: number[] = [];
      const rows: number[] = [];
      for (let e = 0; e < per; e++) {
        if (flags[j * per + e]! < 0.5) continue;
        const scope = Math.floor(e / T);
        const i = e - scope * T;
        idx.push(scope * MAX_TOKENS + n0 + i);
        rows.push(scope * N + (N - T) + i);
      }
      if (idx.length > 0) adds.push({ r, idx: Int32Array.from(idx), rows: Int32Array.from(rows) });
    });
    if (adds.length === 0) return;
    const key = `retain:${adds.map(({ r }) => `${r.id}${r.has('ridx') ? 'e' : ''}`).join(',')}`;
    const kv = this.kvType;
    const op = this.ops.get(key, (g) => {
      const updates = adds.map(({ r }) => {
        const [a, b] = r.pair;
        const newIdx = g.input(`${r.id}.newIdx`, DataType.INT32, [`${r.id}_m`]);
        const rows = g.input(`${r.id}.rows`, DataType.INT32, [`${r.id}_m`]);
        const pa = g.input(presentName(a, r.role), kv, [B, KV, 'total', D]);
        const pb = g.input(presentName(b, r.role), kv, [B, KV, 'total', D]);
        const gp = emitGatherRows(g, pa, rows, D);
        const gc = emitGatherRows(g, pb, rows, D);
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
    adds.forEach(({ r, idx }, k) => r.addRetained(op.updates[k]!, out, idx.length));
    for (const u of uploaded) u.dispose();
  }

  async restore(): Promise<{ past: DeviceKV[]; transient: DeviceTensor[] }> {
    const { B, KV, D } = this.shape;
    const kv = this.kvType;
    const graphUnmerged = this.graphUnmerged();
    const key =
      'restore:' +
      graphUnmerged.map((x) => x.s.readVariant()).join(',') +
      '|' +
      this.records.map((r) => `${r.inner.readVariant()}${r.has('ridx') ? 'r' : ''}`).join(',');
    const op = this.ops.get(key, (g) => {
      const shape = [B, KV, 'n', D];
      for (const { layer, role, s } of graphUnmerged) g.output(pastName(layer, role), s.emitRead(g, true), kv, shape);
      for (const r of this.records) {
        const [a, b] = r.pair;
        const dir = r.inner.emitRead(g, false);
        const [pf, cf] = emitRescale(g, dir, g.toF32(r.in(g, 'magPrev')), g.toF32(r.in(g, 'magCur')));
        let pk = g.toKv(pf);
        let ck = g.toKv(cf);
        if (r.has('ridx')) {
          const idx = r.in(g, 'ridx');
          pk = emitPutBack(g, pk, idx, r.in(g, 'rprev'), B, KV, D);
          ck = emitPutBack(g, ck, idx, r.in(g, 'rcur'), B, KV, D);
        }
        g.output(pastName(a, r.role), pk, kv, shape);
        g.output(pastName(b, r.role), ck, kv, shape);
      }
      return { updates: [] };
    });
    const out = await this.ops.run(this.exec, op, this.feeds(null));
    const past: Partial<DeviceKV>[] = Array.from({ length: this.geometry.layers }, () => ({}));
    const transient: DeviceTensor[] = [];
    const put = (l: number, role: Role, t: DeviceTensor) => {
      past[l]![role === 'key' ? 'k' : 'v'] = t;
    };
    for (const { layer, role, s } of this.unmerged) {
      if (s instanceof PlainStream) put(layer, role, s.tensor('data')!);
      else {
        const x = out[pastName(layer, role)]!;
        put(layer, role, x);
        transient.push(x);
      }
    }
    for (const r of this.records) {
      for (const l of r.pair) {
        const x = out[pastName(l, r.role)]!;
        put(l, r.role, x);
        transient.push(x);
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
    const frac = (r: PairRecord | undefined) => (r && this.tokens > 0 ? r.retained / (scopes * this.tokens) : 0);
    return {
      startLayer: this.options.startLayer,
      unmergedLayers: this.plan.unmerged,
      store: this.options.storeName,
      device: {
        graphs: this.ops.size,
        kvDtype: this.exec.kv,
        pairs: this.plan.pairs.map((pair) => ({
          pair,
          retainedFracK: frac(this.records.find((r) => r.pair === pair && r.role === 'key')),
          retainedFracV: frac(this.records.find((r) => r.pair === pair && r.role === 'value')),
        })),
        thresholdBytes: this.records.reduce((a, r) => a + r.controlBytes(), 0),
      },
    };
  }

  dispose(): void {
    for (const { s } of this.unmerged) s.dispose();
    for (const r of this.records) {
      r.dispose();
      r.inner.dispose();
    }
  }
}
