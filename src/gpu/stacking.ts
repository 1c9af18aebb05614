/**
 * Layers stacked along the batch axis: the cache ops of several layers (all layers of a KIVI
 * cache, all MiniCache pairs) run as ONE fragment over a [layers·B, KV, n, D] state instead of one
 * fragment per layer. Quantization groups and merge rows never cross rows, so stacking changes
 * nothing numerically, while the number of device dispatches per step stops growing with the
 * layer count (dispatch overhead, not arithmetic, dominates cache ops on a GPU).
 */
import { layerName, NEW_KV_NAMES } from '../model/io-names.js';
import type { GraphKit } from './graph-kit.js';

const END = 2 ** 62;

export function presentName(layer: number, role: 'key' | 'value'): string {
  return `present.${layer}.${role}`;
}

export function pastName(layer: number, role: 'key' | 'value'): string {
  return `past.${layer}.${role}`;
}

/** The decoder's output of a forward's new tokens alone (DeviceKV.kNew / vNew). */
export function newName(layer: number, role: 'key' | 'value'): string {
  return layerName(role === 'key' ? NEW_KV_NAMES.key : NEW_KV_NAMES.value, layer);
}

/**
 * The new tokens of `layers` (in order) stacked: prefill takes the whole present, a decode step its
 * last token, read from the decoder's new-token outputs when `useNew` (no Slice) or sliced out of
 * present. Declares the inputs it reads.
 */
export function stackPresent(
  g: GraphKit,
  layers: readonly number[],
  role: 'key' | 'value',
  prefill: boolean,
  shape: { B: number; KV: number; D: number },
  useNew = false,
): string {
  const parts = layers.map((l) => {
    if (useNew && !prefill) {
      const name = newName(l, role);
      return g.b.inputs.some((i) => i.name === name) ? name : g.input(name, g.kvType, [shape.B, shape.KV, 1, shape.D]);
    }
    const name = presentName(l, role);
    const p = g.b.inputs.some((i) => i.name === name) ? name : g.input(name, g.kvType, [shape.B, shape.KV, 'total', shape.D]);
    return prefill ? p : g.slice(p, 2, -1, END);
  });
  return g.concat(parts, 0);
}

/**
 * Bytes up to which onnxruntime's WebGPU EP keeps many freed buffers of a size for reuse (its
 * bucket cache keeps ≤ 6 per size from 56 MiB and none above 160 MiB): a restore whose full-size
 * intermediates stay within this is not paid per allocated byte at every step.
 */
export const CHUNK_BYTES = 32 * 2 ** 20;

/**
 * How many stacked layers one read handles at once at length n so that its full-size tensors
 * ([layers·B, KV, n, D] in the kv dtype) stay within CHUNK_BYTES: a power of two (so the graph
 * changes only a few times as n grows), at least 1.
 */
export function layersPerChunk(shape: { B: number; KV: number; D: number }, n: number, elementBytes: number, limit = CHUNK_BYTES): number {
  const perLayer = shape.B * shape.KV * Math.max(1, n) * shape.D * elementBytes;
  return 2 ** Math.floor(Math.log2(Math.max(1, Math.floor(limit / perLayer))));
}

/** Rows of each chunk when `layers` stacked layers of B rows are read `per` layers at a time. */
export function chunkRows(layers: number, per: number, B: number): number[] {
  const out: number[] = [];
  for (let l = 0; l < layers; l += per) out.push(Math.min(per, layers - l) * B);
  return out;
}

/** Splits a stacked [layers·B, …] value back into one value per layer. */
export function unstack(g: GraphKit, x: string, count: number, B: number): string[] {
  return g.split(x, Array.from({ length: count }, () => B), 0);
}
