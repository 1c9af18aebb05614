import { checkLayerBlocks } from './guard.js';
import type { CacheGeometry, KVBlock } from '../engine/kv-block.js';
import { KernelHeap } from '../kernels/wasm/heap.js';
import { RestoreBuffers } from './restore-buffers.js';
import { planLayers, type LayerPlan } from './layer-pairs.js';
import { MergedStream, type Phase } from './merged-stream.js';
import type { CrossLayerOptions } from './minicache-params.js';
import { PairStats } from './pair-stats.js';
import { Scratch } from './scratch.js';
import { addBytes, type ByteBreakdown, type KVCacheMethod, type MethodDiagnostics, type PairDiagnostics, type TensorStore } from './types.js';
import { vectorLayout } from './vector-layout.js';

interface PairRecord {
  pair: [number, number];
  k: MergedStream;
  v: MergedStream;
}

/**
 * MiniCache and the mean-merge baseline (spec §2): layers below the start layer (and an odd
 * last layer) are kept whole in the inner store; each pair (l−1, l) from it is kept as one merged
 * record at layer l for K and one for V. Prefill receives the exact K/V of every layer (the
 * engine runs prefill attention on them, spec §2.7: this method only stores); each decode token
 * is merged as it is appended; restore writes both layers of each pair from its record.
 */
export class CrossLayerMethod implements KVCacheMethod {
  readonly plan: LayerPlan;
  private readonly unmerged = new Map<number, { k: TensorStore; v: TensorStore }>();
  private readonly records: PairRecord[] = [];
  private readonly scratch = new Scratch();
  /** Every buffer of this method (stores, scratch, restore outputs) lives in this heap. */
  readonly heap = new KernelHeap();
  private readonly outputs: RestoreBuffers;
  private tokens = 0;

  constructor(readonly name: string, readonly geometry: CacheGeometry, readonly options: CrossLayerOptions) {
    const { batch, kvHeads: heads, headDim, layers } = geometry;
    this.plan = planLayers(layers, options.startLayer);
    const shape = { batch, heads, headDim };
    for (const l of this.plan.unmerged) this.unmerged.set(l, { k: options.store(shape, 'key', this.heap), v: options.store(shape, 'value', this.heap) });
    this.outputs = new RestoreBuffers(this.heap, geometry);
    const layout = vectorLayout(options.granularity, batch, heads, headDim);
    const streamOptions = {
      merge: options.merge,
      slerp: { t: options.t, antiparallelEps: options.antiparallelEps },
      retention: options.retention,
      decodeRetention: options.decodeRetention,
    };
    for (const pair of this.plan.pairs) {
      this.records.push({
        pair,
        k: new MergedStream(layout, options.store(shape, 'key', this.heap), streamOptions, this.scratch),
        v: new MergedStream(layout, options.store(shape, 'value', this.heap), streamOptions, this.scratch),
      });
    }
  }

  get length(): number {
    return this.tokens;
  }

  prefill(layers: readonly KVBlock[]): void {
    if (this.tokens > 0) throw new Error(`${this.name}: prefill called on a cache that already holds ${this.tokens} tokens`);
    this.ingest(layers, 'prefill');
  }

  append(layers: readonly KVBlock[]): void {
    // Appending to an empty cache is a prefill: the retention thresholds come from it.
    this.ingest(layers, this.tokens === 0 ? 'prefill' : 'decode');
  }

  private ingest(layers: readonly KVBlock[], phase: Phase): void {
    const T = this.checkBlocks(layers, 'input');
    if (T === 0) return;
    for (const [l, s] of this.unmerged) {
      s.k.append(layers[l]!.k, T);
      s.v.append(layers[l]!.v, T);
    }
    for (const r of this.records) {
      const [a, b] = r.pair;
      r.k.ingest(layers[a]!.k, layers[b]!.k, T, phase);
      r.v.ingest(layers[a]!.v, layers[b]!.v, T, phase);
    }
    this.tokens += T;
  }

  restore(out: readonly KVBlock[]): void {
    const T = this.checkBlocks(out, 'output');
    if (T !== this.tokens) throw new Error(`${this.name}: restore needs blocks of ${this.tokens} tokens, got ${T}`);
    for (const [l, s] of this.unmerged) {
      s.k.read(out[l]!.k);
      s.v.read(out[l]!.v);
    }
    for (const r of this.records) {
      const [a, b] = r.pair;
      r.k.restore(out[a]!.k, out[b]!.k);
      r.v.restore(out[a]!.v, out[b]!.v);
    }
  }

  restoreOwned(capacity: number): KVBlock[] {
    const o = this.outputs;
    o.ensure(Math.max(capacity, this.tokens));
    for (const [l, s] of this.unmerged) {
      s.k.readPtr(o.k[l]!);
      s.v.readPtr(o.v[l]!);
    }
    for (const r of this.records) {
      const [a, b] = r.pair;
      r.k.restorePtr(o.k[a]!, o.k[b]!);
      r.v.restorePtr(o.v[a]!, o.v[b]!);
    }
    return o.views(this.tokens);
  }

  /** One block per layer, all of the same token count and of exactly the geometry's size. */
  private checkBlocks(blocks: readonly KVBlock[], what: string): number {
    return checkLayerBlocks(this.name, this.geometry, blocks, what);
  }

  bytes(): ByteBreakdown {
    const total: ByteBreakdown = {};
    for (const s of this.unmerged.values()) addBytes(addBytes(total, s.k.bytes()), s.v.bytes());
    for (const r of this.records) addBytes(addBytes(total, r.k.bytes()), r.v.bytes());
    return total;
  }

  diagnostics(): MethodDiagnostics {
    const pairs: PairDiagnostics[] = this.records.map((r) => ({
      pair: r.pair,
      cosK: r.k.stats.meanCos(),
      cosV: r.v.stats.meanCos(),
      retainedFracK: r.k.stats.retainedFraction(),
      retainedFracV: r.v.stats.retainedFraction(),
      angle: PairStats.angleSummary([r.k.stats, r.v.stats]),
    }));
    const diag: MethodDiagnostics = {
      pairs,
      startLayer: this.options.startLayer,
      unmergedLayers: this.plan.unmerged,
      store: this.options.storeName,
      // Per-scope decode thresholds are control state, not cache payload: reported, not in bytes().
      thresholdBytes: this.options.merge === 'slerp' ? this.records.reduce((sum, r) => sum + r.k.thresholds.byteLength + r.v.thresholds.byteLength, 0) : 0,
    };
    const residual = this.residualLengths();
    if (residual) diag.residual = residual;
    return diag;
  }

  /** KIVI inner store: residual lengths of the first stored layer's keys and values. */
  private residualLengths(): { keys: number; values: number } | undefined {
    const first = this.unmerged.values().next().value ?? (this.records[0] ? { k: this.records[0].k.innerStore(), v: this.records[0].v.innerStore() } : undefined);
    if (!first) return undefined;
    const k = first.k.diagnostics?.().residualLength;
    const v = first.v.diagnostics?.().residualLength;
    return typeof k === 'number' && typeof v === 'number' ? { keys: k, values: v } : undefined;
  }

  /** The merged record of the pair whose deeper layer is `layer` (tests, diagnostics). */
  record(layer: number): { k: MergedStream; v: MergedStream } | undefined {
    return this.records.find((r) => r.pair[1] === layer);
  }

  dispose(): void {
    this.unmerged.clear();
    this.records.length = 0;
  }
}
