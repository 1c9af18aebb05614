/**
 * MiniCache's layer plan (spec §2.1): pairs (S, S+1), (S+2, S+3), … of adjacent layers from the
 * start layer S; layers below S, and an odd last layer, stay unmerged.
 */
export interface LayerPlan {
  /** [shallower, deeper]; the merged record lives at the deeper layer. */
  pairs: [number, number][];
  unmerged: number[];
}

export function defaultStartLayer(layers: number): number {
  return Math.floor(layers / 2);
}

export function planLayers(layers: number, startLayer: number): LayerPlan {
  if (!Number.isInteger(startLayer) || startLayer < 0 || startLayer > layers) {
    throw new Error(`startLayer must be an integer in 0…${layers}, got ${startLayer}`);
  }
  const pairs: [number, number][] = [];
  const unmerged: number[] = [];
  for (let l = 0; l < startLayer; l++) unmerged.push(l);
  let l = startLayer;
  for (; l + 1 < layers; l += 2) pairs.push([l, l + 1]);
  if (l < layers) unmerged.push(l);
  return { pairs, unmerged };
}
