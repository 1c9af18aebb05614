/**
 * Input/output names of a decoder graph. Defaults are Hugging Face / optimum's; a model card
 * may override any of them. Per-layer names are templates with `{i}` for the layer index.
 */
export interface DecoderIoNames {
  inputIds: string;
  attentionMask: string;
  positionIds: string;
  pastKey: string;
  pastValue: string;
  presentKey: string;
  presentValue: string;
  logits: string;
  /** optimum's merged decoders take a bool [1] that is true once a past exists. */
  useCacheBranch: string;
}

export const HF_IO_NAMES: Readonly<DecoderIoNames> = {
  inputIds: 'input_ids',
  attentionMask: 'attention_mask',
  positionIds: 'position_ids',
  pastKey: 'past_key_values.{i}.key',
  pastValue: 'past_key_values.{i}.value',
  presentKey: 'present.{i}.key',
  presentValue: 'present.{i}.value',
  logits: 'logits',
  useCacheBranch: 'use_cache_branch',
};

/** Output names of the new tokens' K/V in graphs the harness builds (BuildOptions.kvOutputs 'new' or 'both'). */
export const NEW_KV_NAMES = { key: 'new.{i}.key', value: 'new.{i}.value' } as const;

export const IO_NAME_KEYS = Object.keys(HF_IO_NAMES) as (keyof DecoderIoNames)[];

export function resolveIoNames(overrides: Partial<DecoderIoNames> = {}): DecoderIoNames {
  return { ...HF_IO_NAMES, ...overrides };
}

/** Fills a per-layer template: layerName('present.{i}.key', 3) === 'present.3.key'. */
export function layerName(template: string, layer: number): string {
  return template.replaceAll('{i}', String(layer));
}
