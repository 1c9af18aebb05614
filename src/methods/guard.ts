import { blockSize, type CacheGeometry, type KVBlock } from '../engine/kv-block.js';
import type { KVCacheMethod } from './types.js';

/**
 * What a method is handed, checked at its door:
 *  - one block per layer, all of one token count and of the geometry's shape (checkLayerBlocks,
 *    which every method calls; each also refuses a second prefill);
 *  - no NaN or ±Infinity in the K/V (guardMethod, which runCell puts around every cell's method):
 *    a quantizer would turn them into finite garbage (a group's min and scale become NaN or
 *    infinite, and every code of the group with them), so a model that produced them must not
 *    look like a compression loss. By default the cell ends, naming where the first one sat;
 *    under the suite's `nonFinite: count` they are counted on the cell and the run goes on.
 */
export type NonFinitePolicy = 'error' | 'count';

export interface NonFiniteSite {
  stage: 'prefill' | 'append';
  layer: number;
  role: 'key' | 'value';
  sequence: number;
  head: number;
  /** Token slot in the cache (left padding included). */
  token: number;
  value: string;
}

/** What the guard saw, shared with the workload that reports it on the cell. */
export interface NonFiniteStats {
  /** Non-finite values handed to the method. */
  values: number;
  first?: NonFiniteSite;
}

export class NonFiniteKvError extends Error {
  override readonly name = 'NonFiniteKvError';
}

export interface GuardOptions {
  nonFinite?: NonFinitePolicy;
  /** Filled as blocks arrive (one object may collect over several methods of a cell). */
  stats?: NonFiniteStats;
}

function describeSite(s: NonFiniteSite): string {
  return `${s.value} in layer ${s.layer}, head ${s.head}, token ${s.token} (sequence ${s.sequence}, ${s.role}s) at ${s.stage}`;
}

/** Counts the non-finite values of one array; a sum is NaN or infinite exactly when one is (float32 values cannot overflow a double sum). */
function countNonFinite(a: Float32Array): number {
  // Four sums break the add chain's latency (about 3× faster than one).
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  const n4 = a.length - (a.length % 4);
  let j = 0;
  for (; j < n4; j += 4) {
    s0 += a[j]!;
    s1 += a[j + 1]!;
    s2 += a[j + 2]!;
    s3 += a[j + 3]!;
  }
  for (; j < a.length; j++) s0 += a[j]!;
  if (Number.isFinite(s0 + s1 + s2 + s3)) return 0;
  let n = 0;
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i]!)) n++;
  return n;
}

function firstSite(a: Float32Array, dims: { heads: number; tokens: number; headDim: number }, at: Omit<NonFiniteSite, 'sequence' | 'head' | 'token' | 'value'>, offset: number): NonFiniteSite {
  let i = 0;
  while (Number.isFinite(a[i]!)) i++;
  const { heads: H, tokens: T, headDim: D } = dims;
  return { ...at, sequence: Math.floor(i / (H * T * D)), head: Math.floor(i / (T * D)) % H, token: offset + (Math.floor(i / D) % T), value: String(a[i]) };
}

/** One block per layer, all of the same token count and of exactly the geometry's size; returns the token count. */
export function checkLayerBlocks(name: string, g: CacheGeometry, blocks: readonly KVBlock[], what: string): number {
  if (blocks.length !== g.layers) throw new Error(`${name}: expected ${g.layers} ${what} blocks (one per layer), got ${blocks.length}`);
  const T = blocks[0]?.tokens ?? 0;
  const n = blockSize(g, T);
  blocks.forEach((b, l) => {
    if (b.tokens !== T || b.k.length !== n || b.v.length !== n) {
      throw new Error(`${name}: ${what} block of layer ${l} must hold [${g.batch}, ${g.kvHeads}, ${T}, ${g.headDim}] floats in k and v`);
    }
  });
  return T;
}

/** The method, with the K/V it is handed checked for NaN and ±Infinity first. */
export function guardMethod(method: KVCacheMethod, opts: GuardOptions = {}): KVCacheMethod {
  const g = method.geometry;
  const policy = opts.nonFinite ?? 'error';
  const stats = opts.stats ?? { values: 0 };

  const check = (blocks: readonly KVBlock[], stage: 'prefill' | 'append') => {
    const offset = stage === 'prefill' ? 0 : method.length;
    blocks.forEach((b, layer) => {
      if (b.k.length !== blockSize(g, b.tokens) || b.v.length !== b.k.length) return; // the method refuses it
      for (const role of ['key', 'value'] as const) {
        const a = role === 'key' ? b.k : b.v;
        const bad = countNonFinite(a);
        if (bad === 0) continue;
        stats.values += bad;
        const site = firstSite(a, { heads: g.kvHeads, tokens: b.tokens, headDim: g.headDim }, { stage, layer, role }, offset);
        stats.first ??= site;
        if (policy === 'error') {
          throw new NonFiniteKvError(`${method.name}: the model's K/V hold ${bad} non-finite value${bad === 1 ? '' : 's'}, the first ${describeSite(site)}; no method can store them faithfully (the suite's nonFinite: count records them and goes on)`);
        }
      }
    });
  };

  const guarded: KVCacheMethod = {
    name: method.name,
    geometry: g,
    get length() {
      return method.length;
    },
    prefill(layers) {
      if (method.length === 0) check(layers, 'prefill'); // a second prefill is the method's to refuse
      method.prefill(layers);
    },
    append(layers) {
      check(layers, 'append');
      method.append(layers);
    },
    restore: (out) => method.restore(out),
    bytes: () => method.bytes(),
    diagnostics: () => method.diagnostics(),
    dispose: () => method.dispose(),
  };
  if (method.restoreOwned) guarded.restoreOwned = (capacity) => method.restoreOwned!(capacity);
  return guarded;
}
