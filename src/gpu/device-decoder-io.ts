/**
 * The model's I/O on the device path, runtime-neutral: the Node (onnxruntime-node) and browser
 * (onnxruntime-web) decoders wire the same graph the same way and differ only in their Tensor
 * class, which they pass in as `make`.
 */
import { HF_IO_NAMES as N, layerName, NEW_KV_NAMES } from '../model/io-names.js';
import type { DeviceForwardRequest, DeviceKV, DeviceTensor, StepKV } from './device-types.js';
import type { KvDtype } from './graph-kit.js';

export type MakeTensor<T> = (type: 'int64' | 'float16' | 'float32', data: BigInt64Array | Uint16Array | Float32Array, dims: number[]) => T;

/** The decoder graph's K/V outputs: present for the stores that adopt it, the new tokens for the rest. */
export const DEVICE_KV_OUTPUTS = 'both' as const;

/** Output placement for the decoder session: logits to the host, present and new K/V stay on the device. */
export function deviceOutputLocations(layers: number, kvOutputs: 'both' | 'new' = DEVICE_KV_OUTPUTS): Record<string, 'cpu' | 'gpu-buffer'> {
  const loc: Record<string, 'cpu' | 'gpu-buffer'> = { [N.logits]: 'cpu' };
  const names = kvOutputs === 'new' ? [NEW_KV_NAMES.key, NEW_KV_NAMES.value] : [N.presentKey, N.presentValue, NEW_KV_NAMES.key, NEW_KV_NAMES.value];
  for (let i = 0; i < layers; i++) for (const name of names) loc[layerName(name, i)] = 'gpu-buffer';
  return loc;
}

/**
 * The decoder variant a forward runs: the prefill always returns present (every store ingests the
 * prompt from it); a decode step may ask for the new tokens alone.
 */
export function forwardKvOutputs(req: DeviceForwardRequest): 'both' | 'new' {
  return req.past && req.kvOutputs === 'new' ? 'new' : DEVICE_KV_OUTPUTS;
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

/** The present and/or new K/V of every layer among a run's outputs (left on the device). */
export function presentOf(out: Readonly<Record<string, DeviceTensor>>, layers: number): StepKV[] {
  return Array.from({ length: layers }, (_, i): StepKV => {
    const k = out[layerName(N.presentKey, i)];
    const v = out[layerName(N.presentValue, i)];
    const kNew = out[layerName(NEW_KV_NAMES.key, i)];
    const vNew = out[layerName(NEW_KV_NAMES.value, i)];
    const fresh = kNew && vNew ? { kNew, vNew } : {};
    if (k && v) return { k, v, ...fresh };
    if (kNew && vNew) return { kNew, vNew };
    throw new Error(`decoder output of layer ${i} holds neither present nor the new K/V`);
  });
}

/** A forward's K/V that must include present (the prefill's): throws when a layer has only the new tokens. */
export function withPresent(kv: readonly StepKV[]): DeviceKV[] {
  return kv.map((x, i) => {
    if (!x.k || !x.v) throw new Error(`layer ${i}: the decoder returned no present K/V where one was needed`);
    return x;
  });
}

/** Every tensor of a forward's K/V outputs (present and new), for disposal. */
export function kvTensorsOf(present: readonly StepKV[]): DeviceTensor[] {
  return present.flatMap((p) => [...(p.k && p.v ? [p.k, p.v] : []), ...(p.kNew && p.vNew ? [p.kNew, p.vNew] : [])]);
}
