/**
 * The model's I/O on the device path, runtime-neutral: the Node (onnxruntime-node) and browser
 * (onnxruntime-web) decoders wire the same graph the same way and differ only in their Tensor
 * class, which they pass in as `make`.
 */
import { HF_IO_NAMES as N, layerName, NEW_KV_NAMES } from '../model/io-names.js';
import type { DeviceForwardRequest, DeviceKV, DeviceTensor } from './device-types.js';
import type { KvDtype } from './graph-kit.js';

export type MakeTensor<T> = (type: 'int64' | 'float16' | 'float32', data: BigInt64Array | Uint16Array | Float32Array, dims: number[]) => T;

/** The decoder graph's K/V outputs: present for the stores that adopt it, the new tokens for the rest. */
export const DEVICE_KV_OUTPUTS = 'both' as const;

/** Output placement for the decoder session: logits to the host, present and new K/V stay on the device. */
export function deviceOutputLocations(layers: number): Record<string, 'cpu' | 'gpu-buffer'> {
  const loc: Record<string, 'cpu' | 'gpu-buffer'> = { [N.logits]: 'cpu' };
  for (let i = 0; i < layers; i++) {
    for (const name of [N.presentKey, N.presentValue, NEW_KV_NAMES.key, NEW_KV_NAMES.value]) loc[layerName(name, i)] = 'gpu-buffer';
  }
  return loc;
}

/** Feeds of one forward: ids, mask and positions from the host; the past as the device tensors given (empty for the prefill). */
export function deviceForwardFeeds<T>(
  req: DeviceForwardRequest,
  model: { layers: number; kvHeads: number; headDim: number },
  kv: KvDtype,
  make: MakeTensor<T>,
): Record<string, T | DeviceTensor> {
  const { batch: B, tokens: T } = req;
  const P = req.past ? req.past[0]!.k.dims[2]! : 0;
  const feeds: Record<string, T | DeviceTensor> = {
    [N.inputIds]: make('int64', req.inputIds, [B, T]),
    [N.attentionMask]: make('int64', req.attentionMask, [B, P + T]),
    [N.positionIds]: make('int64', req.positionIds, [B, T]),
  };
  const dims = [B, model.kvHeads, 0, model.headDim];
  const empty = req.past ? null : kv === 'float16' ? make('float16', new Uint16Array(0), dims) : make('float32', new Float32Array(0), dims);
  for (let i = 0; i < model.layers; i++) {
    feeds[layerName(N.pastKey, i)] = req.past ? req.past[i]!.k : empty!;
    feeds[layerName(N.pastValue, i)] = req.past ? req.past[i]!.v : empty!;
  }
  return feeds;
}

/** The present (and new, where output) K/V of every layer among a run's outputs (left on the device). */
export function presentOf(out: Readonly<Record<string, DeviceTensor>>, layers: number): DeviceKV[] {
  return Array.from({ length: layers }, (_, i) => {
    const kv: DeviceKV = { k: out[layerName(N.presentKey, i)]!, v: out[layerName(N.presentValue, i)]! };
    const kNew = out[layerName(NEW_KV_NAMES.key, i)];
    const vNew = out[layerName(NEW_KV_NAMES.value, i)];
    if (kNew && vNew) Object.assign(kv, { kNew, vNew });
    return kv;
  });
}

/** Every tensor of a forward's K/V outputs (present and new), for disposal. */
export function kvTensorsOf(present: readonly DeviceKV[]): DeviceTensor[] {
  return present.flatMap((p) => [p.k, p.v, ...(p.kNew && p.vNew ? [p.kNew, p.vNew] : [])]);
}
