/**
 * MiniCache (and the mean-merge baseline) on the device: layers below the start layer, and an odd
 * last layer, in an inner layer store (fp16, or KIVI-b for "4-bit MiniCache"); each pair (a, b)
 * as one record: the merged directions of K and V in an inner layer store, and a pair buffer of
 * both layers' magnitudes, the retained tokens' indices and originals, and the decode thresholds
 * (kernels/minicache.ts). Decode attention reads layer a and layer b straight from the record
 * (direction × that layer's magnitude / ‖direction‖, or the retained original).
 *
 * Per step: at layer a, its new K/V are stashed (pending) after attention; at layer b, after
 * attention, the pair's new token is merged (direction, magnitudes, retention by τ) and the
 * direction appended to the inner store. At prefill the same happens for the whole prompt, with
 * the distinct band and τ per scope.
 *
 * Retained lists: each scope has its own segment of the pair's list pools (offset and capacity
 * in the buffer's tables), so a scope that keeps many tokens does not size every other scope's
 * list. During the prefill every segment holds an eighth of the prompt plus 16
 * (prefillListSize); afterPrefill() reads the counts back: a prompt that kept more runs again
 * with segments of every prompt slot (the exact bound), else each segment is sized to its count
 * plus 2·CHECK_EVERY; maintain(), every CHECK_EVERY steps, reads counts copied at its previous
 * call (no wait for the queue) and doubles the segments of the scopes that could fill theirs
 * before the next resize (a step adds at most one entry per scope); a pair that moves anyway also
 * grows the lists its retention rate would fill within GROW_AHEAD steps. Nothing retained is ever
 * dropped, and the lists stay close to what they hold.
 */
import { planLayers, type LayerPlan } from '../methods/layer-pairs.js';
import type { ByteBreakdown, MethodDiagnostics } from '../methods/types.js';
import { dispatchGroups, type EngineBuffer, type GpuContext } from './gpu-context.js';
import type { PastReader } from './kernels/attention.js';
import { kiviDeviceProblem } from './kernels/kivi.js';
import { copyPairThreads, copyPairWgsl as copyPairSource, decodeMergeWgsl as decodeMergeSource, mergedHooksWgsl as mergedHooksSource, pairRegions, prefillMergeWgsl, prefillRetainWgsl, segmentTable, stashWgsl as stashSource, type MergeRule, type MergeShape, type PairLayout } from './kernels/minicache.js';
import { memoWgsl } from './kernels/wgsl-common.js';
import type { EngineKvStore, Ops, StoreGeometry, StoreIo } from './kv-store.js';
import { fp16Layer, kiviLayer, promptStaging, sumBytes, type KiviParams, type LayerStore } from './layer-stores.js';

// the sources a relayout's rebuild asks for again, made once per distinct shape
const copyPairWgsl = memoWgsl(copyPairSource);
const decodeMergeWgsl = memoWgsl(decodeMergeSource);
const mergedHooksWgsl = memoWgsl(mergedHooksSource);
const stashWgsl = memoWgsl(stashSource);

/** Steps between two reads of the retained counts. */
export const CHECK_EVERY = 8;
/** Steps ahead a moving pair sizes its lists for, at each list's own retention rate. */
export const GROW_AHEAD = 64;
/** One number per list (scope) for K and for V: retained counts or capacities. */
type Lists = { k: Uint32Array; v: Uint32Array };

export interface MiniCacheDeviceOptions {
  rule: MergeRule;
  startLayer: number;
  t: number;
  antiparallelEps: number;
  mode: 'distinctBand' | 'literalLow';
  gamma: number;
  decodeRetention: 'threshold' | 'none';
  /** 'fp16' or KIVI parameters for the inner store. */
  inner: 'fp16' | KiviParams;
}

/** Device options from the host method's parameters, or why the device can't hold them. */
export function miniCacheDeviceOptions(method: string, p: Record<string, unknown>, g: { layers: number; headDim: number }): MiniCacheDeviceOptions | string {
  const rule: MergeRule = method === 'mean-merge' ? 'mean' : 'slerp';
  const start = p.startLayer === null || p.startLayer === undefined ? Math.floor(g.layers / 2) : (p.startLayer as number);
  if (rule === 'slerp') {
    if (p.granularity !== undefined && p.granularity !== 'head') return `granularity ${String(p.granularity)} (the device merges per KV head)`;
    if (p.retentionMode !== 'distinctBand' && p.retentionMode !== 'literalLow') return `retentionMode ${String(p.retentionMode)}`;
  }
  const storeName = String(p.store ?? 'fp16');
  let inner: MiniCacheDeviceOptions['inner'] = 'fp16';
  const m = /^kivi(2|4|8)$/.exec(storeName);
  if (m) {
    inner = { bits: Number(m[1]) as 2 | 4 | 8, groupSize: p.groupSize as number, residual: p.residual as number };
    const why = kiviDeviceProblem({ ...inner, headDim: g.headDim });
    if (why) return why;
  } else if (storeName !== 'fp16') return `store ${storeName}`;
  return {
    rule,
    startLayer: start,
    t: rule === 'slerp' ? (p.t as number) : 0.5,
    antiparallelEps: rule === 'slerp' ? (p.antiparallelEps as number) : 0,
    mode: rule === 'slerp' ? (p.retentionMode as 'distinctBand' | 'literalLow') : 'distinctBand',
    gamma: rule === 'slerp' ? (p.gamma as number) : 0,
    decodeRetention: rule === 'slerp' ? (p.decodeRetention as 'threshold' | 'none') : 'none',
    inner,
  };
}

interface PairState {
  a: number;
  b: number;
  dirs: LayerStore;
  buf: EngineBuffer | null;
  /** Each scope's list capacity, for K and V (their segments follow one another in this order). */
  capsK: Uint32Array;
  capsV: Uint32Array;
  /** Bumped at each relayout: part of the readers' keys. */
  layoutVersion: number;
}

export class MiniCacheDeviceStore implements EngineKvStore {
  readonly decodeWrite = 'none' as const;
  private readonly plan: LayerPlan;
  private readonly unmerged = new Map<number, LayerStore>();
  private readonly pairs: PairState[] = [];
  private readonly roleOf = new Map<number, { pair: PairState; side: 'prev' | 'cur' }>();
  private readonly staging: ReturnType<typeof promptStaging> | null;
  private readonly pending: EngineBuffer;
  private readonly dd: EngineBuffer | null;
  private io?: StoreIo;
  /** Retained entries per pair and K|V at the last read (host copy of the counts). */
  private counts: Lists[] = [];
  /** The counts after the prefill, and the checks since: each list's decode retention rate. */
  private prefillCounts: Lists[] = [];
  private decodeChecks = 0;
  private countsStaging?: EngineBuffer;
  /** The counts maintain() asked for CHECK_EVERY steps ago (read without waiting for the queue). */
  private countsInFlight?: Promise<Lists[]>;
  /** Bumped when the pair buffers are reallocated: decode passes made before must be rebuilt. */
  version = 0;
  private readonly rows: number;

  constructor(
    private readonly ctx: GpuContext,
    readonly geometry: StoreGeometry,
    readonly options: MiniCacheDeviceOptions,
    readonly name: string,
  ) {
    const g = geometry;
    this.rows = g.batch * g.kvHeads;
    this.plan = planLayers(g.layers, options.startLayer);
    this.staging = options.inner === 'fp16' ? null : promptStaging(ctx, g, name);
    const layer = (label: string) => (options.inner === 'fp16' ? fp16Layer(ctx, g, label) : kiviLayer(ctx, g, options.inner, this.staging!, label));
    for (const l of this.plan.unmerged) this.unmerged.set(l, layer(`${name} l${l}`));
    const slerp = options.rule === 'slerp';
    for (const [a, b] of this.plan.pairs) {
      const caps = new Uint32Array(this.rows).fill(prefillListSize(g.promptSlots));
      const st: PairState = { a, b, dirs: layer(`${name} pair ${a}-${b} directions`), buf: null, capsK: caps, capsV: caps.slice(), layoutVersion: 0 };
      if (slerp) st.buf = this.allocPair(st);
      this.pairs.push(st);
      this.roleOf.set(a, { pair: st, side: 'prev' });
      this.roleOf.set(b, { pair: st, side: 'cur' });
    }
    const W = 2 * g.kvHeads * g.headDim;
    // one prefill sub-batch's (or one step's) K/V of a pair's shallower layer, until the deeper one merges them
    this.pending = ctx.alloc('scratch', Math.max(g.prefillBatch * g.promptSlots, g.batch) * W * 4, `${name} pending`);
    this.dd = slerp ? ctx.alloc('scratch', 2 * g.prefillBatch * g.kvHeads * g.promptSlots * 4, `${name} angles`) : null;
  }

  private layoutOf(p: { capsK: Uint32Array; capsV: Uint32Array }): PairLayout {
    const g = this.geometry;
    return { batch: g.batch, kvHeads: g.kvHeads, headDim: g.headDim, cap: g.capacity, entriesK: sumOf(p.capsK), entriesV: sumOf(p.capsV) };
  }

  /** A pair buffer for the pair's current capacities, its segment tables written. */
  private allocPair(p: PairState): EngineBuffer {
    const layout = this.layoutOf(p);
    const r = pairRegions(layout);
    const buf = this.ctx.alloc('kvStore', r.bytes, `${this.name} pair ${p.a}-${p.b} (${layout.entriesK}+${layout.entriesV} list entries)`);
    this.ctx.write(buf, segmentTable(p.capsK).table, r.offsets.segK * 4);
    this.ctx.write(buf, segmentTable(p.capsV, layout.entriesK).table, r.offsets.segV * 4);
    return buf;
  }

  private dirRowsBuf?: EngineBuffer;
  private copyPrm?: EngineBuffer;

  bind(io: StoreIo): void {
    this.io = io;
    const g = this.geometry;
    this.dirRowsBuf ??= this.ctx.alloc('scratch', g.batch * (io.heads + 2 * g.kvHeads) * g.headDim * 4, `${this.name} direction rows`);
  }

  private shape(pair: PairState): MergeShape {
    const g = this.geometry;
    const o = this.options;
    return {
      batch: g.batch,
      kvHeads: g.kvHeads,
      heads: this.io!.heads,
      headDim: g.headDim,
      cap: g.capacity,
      t: o.t,
      antiparallelEps: o.antiparallelEps,
      mode: o.mode,
      gamma: o.gamma,
      decodeRetention: o.decodeRetention,
    };
  }

  prefillTarget(layer: number) {
    const u = this.unmerged.get(layer);
    if (u) return u.prefillTarget;
    // a pair's layers: RoPE writes there, the merge at layer b overwrites it with directions
    return this.roleOf.get(layer)!.pair.dirs.prefillTarget;
  }

  decodeTarget(): undefined {
    return undefined;
  }

  private run(code: string, label: string, buffers: GPUBuffer[], groups: number): Ops {
    const p = this.ctx.pipeline(code, label);
    const bg = this.ctx.bindGroup(p, buffers);
    return (pass) => {
      if (groups === 0) return;
      pass.setPipeline(p);
      pass.setBindGroup(0, bg);
      dispatchGroups(pass, groups);
    };
  }

  prefillOps(layer: number, sub: { b0: number; count: number; prm: GPUBuffer }): Ops | undefined {
    const u = this.unmerged.get(layer);
    if (u) return u.prefillOps(sub);
    const g = this.geometry;
    const io = this.io!;
    const P = g.promptSlots;
    const { pair, side } = this.roleOf.get(layer)!;
    if (side === 'prev') {
      const rows = sub.count * P;
      return this.run(stashWgsl({ rows, T: P, kvHeads: g.kvHeads, heads: io.heads, headDim: g.headDim }), 'minicache stash', [io.qkv, this.pending.buffer], Math.ceil((rows * 2 * g.kvHeads * g.headDim) / 64));
    }
    const s = this.shape(pair);
    const target = pair.dirs.prefillTarget;
    const merge = prefillMergeWgsl({ ...s, P, count: sub.count, targetCap: target.cap, rule: this.options.rule });
    const ops: Ops[] = [
      this.run(merge.code, 'minicache merge', [io.qkv, this.pending.buffer, sub.prm, target.k, target.v, ...(this.dd ? [this.dd.buffer, pair.buf!.buffer] : [])], Math.ceil(merge.threads / 64)),
    ];
    if (this.options.rule === 'slerp') {
      const retain = prefillRetainWgsl({ ...s, P, count: sub.count });
      ops.push(this.run(retain.code, 'minicache retain', [io.qkv, this.pending.buffer, sub.prm, this.dd!.buffer, pair.buf!.buffer], Math.ceil(retain.threads / 64)));
    }
    const inner = pair.dirs.prefillOps(sub);
    if (inner) ops.push(inner);
    return (pass) => {
      for (const o of ops) o(pass);
    };
  }

  appendOps(layer: number): Ops {
    const io = this.io!;
    const u = this.unmerged.get(layer);
    if (u) return u.appendOps(io.qkv, io.decodePrm, io.heads);
    const g = this.geometry;
    const { pair, side } = this.roleOf.get(layer)!;
    if (side === 'prev') {
      return this.run(stashWgsl({ rows: g.batch, T: 1, kvHeads: g.kvHeads, heads: io.heads, headDim: g.headDim }), 'minicache stash', [io.qkv, this.pending.buffer], Math.ceil((g.batch * 2 * g.kvHeads * g.headDim) / 64));
    }
    const merge = this.run(
      decodeMergeWgsl({ ...this.shape(pair), rule: this.options.rule }),
      'minicache merge decode',
      [io.qkv, this.pending.buffer, io.decodePrm, this.dirRowsBuf!.buffer, ...(pair.buf ? [pair.buf.buffer] : [])],
      Math.ceil((g.batch * g.kvHeads * 2) / 64),
    );
    const append = pair.dirs.appendOps(this.dirRowsBuf!.buffer, io.decodePrm, io.heads);
    return (pass) => {
      merge(pass);
      append(pass);
    };
  }

  layerVersion(layer: number): number {
    return this.roleOf.get(layer)?.pair.layoutVersion ?? 0;
  }

  reader(layer: number): { reader: PastReader; buffers: GPUBuffer[] } {
    const u = this.unmerged.get(layer);
    if (u) return { reader: u.reader, buffers: u.buffers.map((b) => b.buffer) };
    const { pair, side } = this.roleOf.get(layer)!;
    const inner = pair.dirs.reader.mergedForm ?? pair.dirs.reader;
    if (!pair.buf) return { reader: pair.dirs.reader, buffers: pair.dirs.buffers.map((b) => b.buffer) };
    const g = this.geometry;
    const hooks = { ...this.layoutOf(pair), side };
    const merged = (r: PastReader): PastReader => ({
      key: `${r.key}|merged:${side}:${g.capacity}`,
      bindings: r.bindings + 1,
      v8: r.v8,
      kTile: r.kTile,
      ...(r.preferred ? { preferred: r.preferred } : {}),
      scales: true,
      retained: true,
      wgsl: (f) => r.wgsl(f) + mergedHooksWgsl(hooks, f + r.bindings),
    });
    const variants = inner.variants?.map((v) => ({ name: v.name, reader: merged(v.reader) }));
    return {
      reader: { ...merged(inner), ...(variants ? { variants } : {}) },
      buffers: [...pair.dirs.buffers.map((b) => b.buffer), pair.buf.buffer],
    };
  }

  /**
   * Copies every pair's retained counts into one staging buffer kept for the cell (one submit) and
   * maps it; the promise gives the counts as of everything submitted before this call. One at a
   * time: the staging buffer is busy until its promise settles.
   */
  private readCountsLater(): Promise<Lists[]> {
    const live = this.pairs.filter((p) => p.buf);
    const per = 2 * this.rows * 4; // countK then countV, adjacent in the pair buffer
    if (!this.countsStaging || this.countsStaging.buffer.size < per * live.length) {
      this.countsStaging?.destroy();
      this.countsStaging = this.ctx.staging(per * live.length, `${this.name} retained counts staging`);
    }
    const st = this.countsStaging.buffer;
    const enc = this.ctx.device.createCommandEncoder();
    live.forEach((p, i) => enc.copyBufferToBuffer(p.buf!.buffer, pairRegions(this.layoutOf(p)).offsets.countK * 4, st, i * per, per));
    this.ctx.device.queue.submit([enc.finish()]);
    const R = this.rows;
    const read = st.mapAsync(1 /* GPUMapMode.READ */, 0, per * live.length).then(() => {
      const words = new Uint32Array(st.getMappedRange(0, per * live.length).slice(0));
      st.unmap();
      return live.map((_, i) => ({ k: words.slice(2 * R * i, 2 * R * i + R), v: words.slice(2 * R * i + R, 2 * R * (i + 1)) }));
    });
    read.catch(() => undefined); // a cell disposed with a read in flight: nobody awaits it
    return read;
  }

  /** Reads the counts as the device holds them after all submitted work (waits for the queue). */
  private async readCounts(): Promise<void> {
    if (this.countsInFlight) await this.countsInFlight;
    this.countsInFlight = undefined;
    this.counts = await this.readCountsLater();
  }

  private maxCount(): number {
    let m = 0;
    for (const c of this.counts) for (const x of [...c.k, ...c.v]) m = Math.max(m, x);
    return m;
  }

  /**
   * Gives every scope the capacity `want(pair, K|V, scope)` (kept where it is larger already or
   * unchanged), reallocating the pairs whose capacities change and copying what they hold.
   */
  private relayout(want: (pi: number, kv: 'k' | 'v', row: number, cap: number) => number): void {
    const moves: { p: PairState; capsK: Uint32Array; capsV: Uint32Array }[] = [];
    let maxEntries = 1;
    this.pairs.forEach((p, pi) => {
      if (!p.buf) return;
      const capsK = p.capsK.map((c, r) => want(pi, 'k', r, c));
      const capsV = p.capsV.map((c, r) => want(pi, 'v', r, c));
      if (capsK.every((c, r) => c === p.capsK[r]) && capsV.every((c, r) => c === p.capsV[r])) return;
      for (let r = 0; r < this.rows; r++) maxEntries = Math.max(maxEntries, Math.min(p.capsK[r]!, capsK[r]!), Math.min(p.capsV[r]!, capsV[r]!));
      moves.push({ p, capsK, capsV });
    });
    if (moves.length === 0) return;
    // one kernel for every relayout of the cell (its WGSL has no list sizes); the bound it copies to is a parameter
    const g = this.geometry;
    const geo = { batch: g.batch, kvHeads: g.kvHeads, headDim: g.headDim, cap: g.capacity };
    const pl = this.ctx.pipeline(copyPairWgsl(geo), 'minicache relayout');
    this.copyPrm ??= this.ctx.alloc('scratch', 16, `${this.name} relayout parameters`);
    this.ctx.write(this.copyPrm, Uint32Array.of(maxEntries, 0, 0, 0));
    // one pair at a time, its old buffer released (the device frees it once its copy has run)
    // before the next pair's is allocated: relaying out every pair, as after the prefill, holds one
    // pair's buffer twice, not all of them (3 GB at the 7B budget batch)
    for (const { p, capsK, capsV } of moves) {
      const buf = this.allocPair({ ...p, capsK, capsV });
      const enc = this.ctx.device.createCommandEncoder();
      const pass = enc.beginComputePass();
      pass.setPipeline(pl);
      pass.setBindGroup(0, this.ctx.bindGroup(pl, [p.buf!.buffer, buf.buffer, this.copyPrm.buffer]));
      dispatchGroups(pass, Math.ceil(copyPairThreads(geo, maxEntries) / 64));
      pass.end();
      this.ctx.device.queue.submit([enc.finish()]);
      p.buf!.destroy();
      p.buf = buf;
      p.capsK = capsK;
      p.capsV = capsV;
      p.layoutVersion++;
      this.version++;
    }
  }

  /** Pair pi's place among the pairs that hold a buffer: the index of its counts. */
  private liveIndex(pi: number): number {
    return this.pairs.slice(0, pi).filter((p) => p.buf).length;
  }

  private countOf(pi: number, kv: 'k' | 'v', row: number): number {
    const c = this.counts[this.liveIndex(pi)];
    return c ? (kv === 'k' ? c.k : c.v)[row]! : 0;
  }

  /**
   * After the prefill: if a scope retained more prompt tokens than its list holds, every list
   * grows to the prompt's length (the exact bound) and the prefill must run again; else each
   * scope's list is sized to what it retained plus room for 2·CHECK_EVERY steps.
   */
  async afterPrefill(): Promise<void | 'again'> {
    if (!this.pairs.some((p) => p.buf)) return;
    await this.readCounts();
    const over = this.pairs.some((p, pi) => p.buf && [...Array(this.rows).keys()].some((r) => this.countOf(pi, 'k', r) > p.capsK[r]! || this.countOf(pi, 'v', r) > p.capsV[r]!));
    if (over) {
      this.relayout(() => this.geometry.promptSlots);
      return 'again';
    }
    this.relayout((pi, kv, r) => roundUp(this.countOf(pi, kv, r) + 2 * CHECK_EVERY, 8));
    this.prefillCounts = this.counts;
    this.decodeChecks = 0;
  }

  /**
   * Between steps, every CHECK_EVERY steps: a scope near its capacity gets a larger segment. The
   * counts it reads were copied at the previous call (or after the prefill), so by the time the
   * queue is past them the GPU has long finished: no wait for the queue, no bubble in the
   * pipeline. They lag by CHECK_EVERY steps and the next resize comes CHECK_EVERY steps later,
   * so a segment must hold its lagged count plus 2·CHECK_EVERY entries (a step adds at most one
   * per scope).
   */
  async maintain(): Promise<void> {
    if (!this.pairs.some((p) => p.buf)) return;
    const t0 = performance.now();
    if (this.countsInFlight) this.counts = await this.countsInFlight;
    this.countsInFlight = undefined;
    const t1 = performance.now();
    const moved = this.version;
    this.pairs.forEach((p, pi) => {
      if (!p.buf) return;
      for (let r = 0; r < this.rows; r++) {
        for (const kv of ['k', 'v'] as const) {
          const cap = (kv === 'k' ? p.capsK : p.capsV)[r]!;
          if (this.countOf(pi, kv, r) > cap) throw new Error(`minicache on the device: a scope retained ${this.countOf(pi, kv, r)} tokens, more than its list's ${cap} (a read of the counts came too late)`);
        }
      }
    });
    const steps = this.decodeChecks * CHECK_EVERY;
    const zeros = { k: new Uint32Array(this.rows), v: new Uint32Array(this.rows) };
    const grown = this.pairs.map((p, pi) => {
      if (!p.buf) return null;
      const live = this.liveIndex(pi);
      return grownCapacities(this.counts[live] ?? zeros, this.prefillCounts[live] ?? zeros, { k: p.capsK, v: p.capsV }, steps);
    });
    this.relayout((pi, kv, r, cap) => grown[pi]?.[kv][r] ?? cap);
    this.decodeChecks++;
    this.countsInFlight = this.readCountsLater();
    const u = this.upkeep;
    u.waitCountsMs += t1 - t0;
    u.relayoutMs += performance.now() - t1;
    u.checks++;
    u.pairRelayouts += this.version - moved;
  }

  /** Host ms in maintain(): waiting for the counts, and sizing lists (relayouts and the next counts' copy). */
  readonly upkeep = { waitCountsMs: 0, relayoutMs: 0, checks: 0, pairRelayouts: 0 };

  /** Counts as the device holds them now (for bytes() after a generation). */
  async refresh(): Promise<void> {
    if (this.pairs.some((p) => p.buf)) await this.readCounts();
  }

  bytes(tokens: number): { held: ByteBreakdown; headroom: number } {
    const g = this.geometry;
    const parts: ByteBreakdown[] = [];
    for (const u of this.unmerged.values()) parts.push(u.held(tokens));
    let entries = 0;
    for (const p of this.pairs) parts.push(p.dirs.held(tokens));
    for (const c of this.counts) for (const x of [...c.k, ...c.v]) entries += x;
    const held = sumBytes(parts);
    if (this.pairs.length > 0) {
      // the host's record counts retained tokens (none for mean-merge) and, with SLERP, magnitudes
      if (this.options.rule === 'slerp') held.magnitudes = this.pairs.length * 2 * 2 * this.rows * tokens * 2;
      held.retained = entries * g.headDim * 2 * 2;
      held.indices = entries * 4;
    }
    const allocated = [...this.unmerged.values()].flatMap((u) => u.buffers).concat(this.pairs.flatMap((p) => [...p.dirs.buffers, ...(p.buf ? [p.buf] : [])])).reduce((a, b) => a + b.size, 0);
    return { held, headroom: allocated - Object.values(held).reduce((a, b) => a + (b ?? 0), 0) };
  }

  diagnostics(): MethodDiagnostics {
    return {
      startLayer: this.options.startLayer,
      unmergedLayers: this.plan.unmerged,
      store: this.options.inner === 'fp16' ? 'fp16' : `kivi${this.options.inner.bits}`,
      retainedCapacity: Math.max(0, ...this.pairs.map((p) => Math.max(...p.capsK, ...p.capsV))),
      retainedListEntries: this.pairs.reduce((a, p) => a + sumOf(p.capsK) + sumOf(p.capsV), 0),
      retainedPerPair: this.pairs.map((p, i) => ({ pair: [p.a, p.b], k: this.counts[i] ? sum(this.counts[i]!.k) : 0, v: this.counts[i] ? sum(this.counts[i]!.v) : 0 })),
    };
  }

  dispose(): void {
    for (const u of this.unmerged.values()) u.dispose();
    for (const p of this.pairs) {
      p.dirs.dispose();
      p.buf?.destroy();
    }
    this.staging?.destroy();
    this.countsStaging?.destroy();
    this.pending.destroy();
    this.dd?.destroy();
    this.dirRowsBuf?.destroy();
    this.copyPrm?.destroy();
  }
}

/**
 * Retained-list entries per scope during the prefill: an eighth of the prompt plus 16 (the
 * embedded model keeps at most 9 of 160 at γ 0.05). A prompt that keeps more runs again with
 * every slot (afterPrefill).
 */
export function prefillListSize(promptSlots: number): number {
  return Math.min(promptSlots, Math.ceil(promptSlots / 8) + 16);
}

function sumOf(a: Uint32Array): number {
  let s = 0;
  for (const x of a) s += x;
  return s;
}

/**
 * One pair's capacities after a check, from its lists' counts now (lagging by CHECK_EVERY steps),
 * their counts after the prefill and `steps` decode steps between the two; null when the pair
 * stays. It moves when one of its lists could fill before the next check (that list doubles).
 * With hundreds of lists per pair one is nearly always short, so a pair that moves also grows
 * every list its own retention rate since the prefill would fill within GROW_AHEAD steps: the
 * next checks find fewer lists short (idle lists never grow ahead).
 */
export function grownCapacities(now: Lists, atPrefill: Lists, caps: Lists, steps: number): Lists | null {
  const near = (n: number, cap: number, extra: number) => n + 2 * CHECK_EVERY + 1 + extra > cap;
  const short = (['k', 'v'] as const).some((kv) => caps[kv].some((cap, r) => near(now[kv][r]!, cap, 0)));
  if (!short) return null;
  const grow = (kv: 'k' | 'v') =>
    caps[kv].map((cap, r) => {
      const n = now[kv][r]!;
      const extra = steps > 0 ? Math.ceil(((n - Math.min(n, atPrefill[kv][r]!)) / steps) * GROW_AHEAD) : 0;
      return near(n, cap, extra) ? Math.max(2 * cap, roundUp(n + 4 * CHECK_EVERY + extra, 8)) : cap;
    });
  return { k: grow('k'), v: grow('v') };
}

function roundUp(x: number, m: number): number {
  return Math.ceil(x / m) * m;
}

function sum(a: Uint32Array): number {
  let s = 0;
  for (const x of a) s += x;
  return s;
}
