/**
 * Layers stacked along the batch axis: the cache ops of several layers (all layers of a KIVI
 * cache, all MiniCache pairs) run as ONE fragment over a [layers·B, KV, n, D] state instead of one
 * fragment per layer. Quantization groups and merge rows never cross rows, so stacking changes
 * nothing numerically, while the number of device dispatches per step stops growing with the
 * layer count (dispatch overhead, not arithmetic, dominates cache ops on a GPU).
 */
import { NEW_KV_NAMES } from '../model/build-llama-onnx.js';
import { layerName } from '../model/io-names.js';
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

/** Splits a stacked [layers·B, …] value back into one value per layer. */
export function unstack(g: GraphKit, x: string, count: number, B: number): string[] {
  return g.split(x, Array.from({ length: count }, () => B), 0);
}
