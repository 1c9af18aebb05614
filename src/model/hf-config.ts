/**
 * A Hugging Face model folder's config.json for the architectures the engine runs
 * (LlamaForCausalLM, MistralForCausalLM), and the tensors its safetensors must hold. Both the
 * transformers 4 field names (rope_theta, rope_scaling, torch_dtype) and transformers 5's
 * (rope_parameters, dtype) are read. Every problem is reported at once, each with its field.
 * No I/O: the runner reads the files.
 */
import { HarnessError, Problems } from '../errors.js';
import { WEIGHT_DTYPES, type TensorEntry } from './safetensors.js';

export const HF_ARCHITECTURES = ['LlamaForCausalLM', 'MistralForCausalLM'] as const;
export type HfArchitecture = (typeof HF_ARCHITECTURES)[number];

export interface HfModelConfig {
  architecture: HfArchitecture;
  dim: number;
  hiddenDim: number;
  layers: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  vocabSize: number;
  maxContext: number;
  rmsEps: number;
  ropeTheta: number;
  /** RoPE frequencies per channel pair, as transformers computes them (float32 steps). */
  invFreq: number[];
  /** How invFreq was made: default, linear or llama3 (rope_type). */
  ropeType: 'default' | 'linear' | 'llama3';
  tiedEmbeddings: boolean;
  bos: number;
  eos: number[];
  /** Mistral's sliding-window attention span; null when attention sees the whole context. */
  slidingWindow: number | null;
  /** The checkpoint's declared dtype (torch_dtype / dtype), informational. */
  dtype?: string;
}

const f = Math.fround;

/** transformers' default RoPE frequencies: 1 / base^(arange(0, D, 2) / D), each step in float32. */
export function defaultInvFreq(headDim: number, base: number): number[] {
  return Array.from({ length: headDim / 2 }, (_, i) => f(1 / f(Math.pow(base, f((2 * i) / headDim)))));
}

/** transformers' `_compute_llama3_parameters`: low frequencies divided by factor, a smooth ramp between. */
export function llama3InvFreq(inv: readonly number[], s: { factor: number; lowFreqFactor: number; highFreqFactor: number; originalMaxPositionEmbeddings: number }): number[] {
  const lowWavelen = s.originalMaxPositionEmbeddings / s.lowFreqFactor;
  const highWavelen = s.originalMaxPositionEmbeddings / s.highFreqFactor;
  const factor = f(s.factor);
  return inv.map((x) => {
    const wavelen = f(f(2 * Math.PI) / x);
    const scaled = wavelen > lowWavelen ? f(x / factor) : x;
    if (wavelen < highWavelen || wavelen > lowWavelen) return scaled;
    const smooth = f(f(f(s.originalMaxPositionEmbeddings / wavelen) - s.lowFreqFactor) / f(s.highFreqFactor - s.lowFreqFactor));
    return f(f(f(f(1 - smooth) * scaled) / factor) + f(smooth * scaled));
  });
}

type Json = Record<string, unknown>;
type Locate = (path: (string | number)[]) => { line: number; col: number } | undefined;

/** Parses config.json (already JSON-parsed); throws every problem at once (HarnessErrors). */
export function parseHfConfig(value: unknown, file: string, locate: Locate = () => undefined): HfModelConfig {
  const problems = new Problems();
  const err = (field: string, message: string, hint?: string): undefined => {
    const pos = locate(field.split('.'));
    problems.add(new HarnessError('hf-config', message, { file, ...(pos ? { line: pos.line, col: pos.col } : {}), field }, hint));
    return undefined;
  };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    err('', 'config.json must be a JSON object');
    problems.throwIfAny();
  }
  const o = value as Json;
  const archs = Array.isArray(o.architectures) ? (o.architectures as unknown[]) : [];
  const arch = archs.find((a): a is HfArchitecture => HF_ARCHITECTURES.includes(a as HfArchitecture));
  if (!arch) {
    err(
      'architectures',
      archs.length ? `architecture ${archs.map(String).join(', ')} is not one the engine runs` : 'missing "architectures" (the model class)',
      `the engine runs ${HF_ARCHITECTURES.join(' and ')}; other models run through an ONNX export with --engine onnxruntime`,
    );
  }
  const int = (k: string, required: boolean, min = 1): number | undefined => {
    const v = o[k];
    if (v === undefined || v === null) return required ? err(k, `missing "${k}"`) : undefined;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) return err(k, `"${k}" must be an integer >= ${min}, got ${JSON.stringify(v)}`);
    return v;
  };
  const num = (k: string, v: unknown, dflt: number): number => {
    if (v === undefined || v === null) return dflt;
    if (typeof v !== 'number' || !(v > 0)) {
      err(k, `"${k}" must be a positive number, got ${JSON.stringify(v)}`);
      return dflt;
    }
    return v;
  };
  const dim = int('hidden_size', true);
  const hiddenDim = int('intermediate_size', true);
  const layers = int('num_hidden_layers', true);
  const heads = int('num_attention_heads', true);
  const kvHeads = int('num_key_value_heads', false) ?? heads;
  const vocabSize = int('vocab_size', true);
  const maxContext = int('max_position_embeddings', true);
  const headDim = int('head_dim', false) ?? (dim !== undefined && heads !== undefined ? Math.floor(dim / heads) : undefined);
  if (heads !== undefined && kvHeads !== undefined && heads % kvHeads !== 0) err('num_key_value_heads', `num_attention_heads (${heads}) must be a multiple of num_key_value_heads (${kvHeads})`);
  if (dim !== undefined && heads !== undefined && headDim !== undefined && heads * headDim !== dim) {
    err(o.head_dim !== undefined ? 'head_dim' : 'hidden_size', `num_attention_heads × head_dim = ${heads} × ${headDim} ≠ hidden_size ${dim}: the engine needs the attention width to equal the model width`);
  }
  if (headDim !== undefined && headDim % 8 !== 0) err('head_dim', `head dim ${headDim} must be a multiple of 8 for the engine's kernels`);
  if (dim !== undefined && dim % 8 !== 0) err('hidden_size', `hidden_size ${dim} must be a multiple of 8 for the engine's kernels`);
  if (o.hidden_act !== undefined && o.hidden_act !== 'silu') err('hidden_act', `hidden_act "${String(o.hidden_act)}" is not SwiGLU's silu`);
  for (const k of ['attention_bias', 'mlp_bias']) if (o[k] === true) err(k, `"${k}": true (bias terms) is not supported by the engine`);
  const rmsEps = num('rms_norm_eps', o.rms_norm_eps, 1e-6);

  // RoPE: transformers 5 keeps theta and scaling in rope_parameters; 4 in rope_theta and rope_scaling.
  const params = (o.rope_parameters && typeof o.rope_parameters === 'object' ? o.rope_parameters : undefined) as Json | undefined;
  const scaling = (params ?? (o.rope_scaling && typeof o.rope_scaling === 'object' ? o.rope_scaling : undefined)) as Json | undefined;
  const scalingField = params ? 'rope_parameters' : 'rope_scaling';
  const ropeTheta = num(params && params.rope_theta !== undefined ? 'rope_parameters.rope_theta' : 'rope_theta', params?.rope_theta ?? o.rope_theta, 10000);
  const ropeTypeRaw = String(scaling?.rope_type ?? scaling?.type ?? 'default');
  let ropeType: HfModelConfig['ropeType'] = 'default';
  let invFreq: number[] = [];
  if (headDim !== undefined && headDim % 2 === 0) {
    invFreq = defaultInvFreq(headDim, ropeTheta);
    const factor = scaling?.factor;
    if (ropeTypeRaw === 'linear') {
      ropeType = 'linear';
      const fac = num(`${scalingField}.factor`, factor, 1);
      invFreq = invFreq.map((x) => f(x / f(fac)));
    } else if (ropeTypeRaw === 'llama3') {
      ropeType = 'llama3';
      const need = (k: string) => {
        const v = scaling?.[k];
        if (typeof v !== 'number' || !(v > 0)) err(`${scalingField}.${k}`, `rope_type llama3 needs "${k}" (a positive number), got ${JSON.stringify(v)}`);
        return Number(v);
      };
      const s = { factor: need('factor'), lowFreqFactor: need('low_freq_factor'), highFreqFactor: need('high_freq_factor'), originalMaxPositionEmbeddings: need('original_max_position_embeddings') };
      if (s.highFreqFactor <= s.lowFreqFactor) err(`${scalingField}.high_freq_factor`, 'high_freq_factor must exceed low_freq_factor');
      if (!problems.any) invFreq = llama3InvFreq(invFreq, s);
    } else if (ropeTypeRaw !== 'default') {
      err(`${scalingField}.rope_type`, `RoPE scaling "${ropeTypeRaw}" is not supported by the engine`, 'supported: default, linear, llama3');
    }
  }

  let slidingWindow: number | null = null;
  if (o.sliding_window !== undefined && o.sliding_window !== null && o.use_sliding_window !== false) slidingWindow = int('sliding_window', false) ?? null;

  const tied = o.tie_word_embeddings;
  if (tied !== undefined && typeof tied !== 'boolean') err('tie_word_embeddings', `"tie_word_embeddings" must be true or false, got ${JSON.stringify(tied)}`);
  const bos = o.bos_token_id === undefined || o.bos_token_id === null ? 1 : int('bos_token_id', false, 0) ?? 1;
  const eosRaw = o.eos_token_id === undefined || o.eos_token_id === null ? [2] : Array.isArray(o.eos_token_id) ? o.eos_token_id : [o.eos_token_id];
  const eos: number[] = [];
  for (const e of eosRaw) {
    if (typeof e !== 'number' || !Number.isInteger(e) || e < 0) err('eos_token_id', `"eos_token_id" must be a token id or a list of them, got ${JSON.stringify(o.eos_token_id)}`);
    else eos.push(e);
  }
  for (const [k, ids] of [['bos_token_id', [bos]], ['eos_token_id', eos]] as const) {
    for (const id of ids) if (vocabSize !== undefined && id >= vocabSize) err(k, `token id ${id} is outside the vocabulary of ${vocabSize}`);
  }
  problems.throwIfAny();
  const dtype = typeof o.torch_dtype === 'string' ? o.torch_dtype : typeof o.dtype === 'string' ? o.dtype : undefined;
  return {
    architecture: arch!,
    dim: dim!,
    hiddenDim: hiddenDim!,
    layers: layers!,
    heads: heads!,
    kvHeads: kvHeads!,
    headDim: headDim!,
    vocabSize: vocabSize!,
    maxContext: maxContext!,
    rmsEps,
    ropeTheta,
    invFreq,
    ropeType,
    tiedEmbeddings: tied === true,
    bos,
    eos,
    slidingWindow,
    ...(dtype ? { dtype } : {}),
  };
}

/** The engine's tensor roles and the Hugging Face names that hold them. */
export type HfTensorRole = 'embed' | 'norm' | 'cls' | 'attnNorm' | 'wq' | 'wk' | 'wv' | 'wo' | 'ffnNorm' | 'w1' | 'w2' | 'w3';

export interface HfTensorSpec {
  role: HfTensorRole;
  layer?: number;
  name: string;
  shape: number[];
}

const LAYER_NAMES: Record<Exclude<HfTensorRole, 'embed' | 'norm' | 'cls'>, string> = {
  attnNorm: 'input_layernorm',
  wq: 'self_attn.q_proj',
  wk: 'self_attn.k_proj',
  wv: 'self_attn.v_proj',
  wo: 'self_attn.o_proj',
  ffnNorm: 'post_attention_layernorm',
  w1: 'mlp.gate_proj',
  w2: 'mlp.down_proj',
  w3: 'mlp.up_proj',
};

export function hfTensorName(role: HfTensorRole, layer?: number): string {
  if (role === 'embed') return 'model.embed_tokens.weight';
  if (role === 'norm') return 'model.norm.weight';
  if (role === 'cls') return 'lm_head.weight';
  return `model.layers.${layer}.${LAYER_NAMES[role]}.weight`;
}

/** Every tensor the engine reads from a folder of this config, with its expected shape ([out, in] for matrices). */
export function hfTensorPlan(c: HfModelConfig): HfTensorSpec[] {
  const kv = c.kvHeads * c.headDim;
  const q = c.heads * c.headDim;
  const out: HfTensorSpec[] = [{ role: 'embed', name: hfTensorName('embed'), shape: [c.vocabSize, c.dim] }];
  for (let l = 0; l < c.layers; l++) {
    const shapes: Record<keyof typeof LAYER_NAMES, number[]> = {
      attnNorm: [c.dim],
      wq: [q, c.dim],
      wk: [kv, c.dim],
      wv: [kv, c.dim],
      wo: [c.dim, q],
      ffnNorm: [c.dim],
      w1: [c.hiddenDim, c.dim],
      w2: [c.dim, c.hiddenDim],
      w3: [c.hiddenDim, c.dim],
    };
    for (const role of Object.keys(LAYER_NAMES) as (keyof typeof LAYER_NAMES)[]) out.push({ role, layer: l, name: hfTensorName(role, l), shape: shapes[role] });
  }
  out.push({ role: 'norm', name: hfTensorName('norm'), shape: [c.dim] });
  if (!c.tiedEmbeddings) out.push({ role: 'cls', name: hfTensorName('cls'), shape: [c.vocabSize, c.dim] });
  return out;
}

/**
 * Checks the folder's tensors against the config before anything loads: each expected tensor
 * present, of its shape and of a weight dtype. `where` names the file a missing tensor should be
 * in (the index, or the single safetensors file). Every problem at once.
 */
export function checkHfTensors(c: HfModelConfig, tensors: ReadonlyMap<string, TensorEntry>, where: string, configFile: string): void {
  const problems = new Problems();
  const missing: string[] = [];
  for (const t of hfTensorPlan(c)) {
    const e = tensors.get(t.name);
    if (!e) {
      missing.push(t.name);
      continue;
    }
    if (e.shape.join(',') !== t.shape.join(',')) {
      problems.add(new HarnessError('hf-weights', `tensor ${t.name} has shape [${e.shape.join(', ')}], config.json's sizes need [${t.shape.join(', ')}]`, { file: e.file, field: t.name }, `check ${configFile} (hidden_size, intermediate_size, num_key_value_heads, head_dim, vocab_size)`));
    }
    if (!WEIGHT_DTYPES.includes(e.dtype as (typeof WEIGHT_DTYPES)[number])) {
      problems.add(new HarnessError('hf-weights', `tensor ${t.name} is ${e.dtype}; the engine reads ${WEIGHT_DTYPES.join(', ')} weights (a quantized checkpoint needs its unquantized original)`, { file: e.file, field: t.name }));
    }
  }
  if (missing.length) {
    const tiedHint = missing.length === 1 && missing[0] === hfTensorName('cls') ? ' (config.json says tie_word_embeddings: false; if the classifier is the embedding, set it true)' : '';
    problems.add(new HarnessError('hf-weights', `${missing.length} tensor${missing.length > 1 ? 's' : ''} missing: ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? `, … (${missing.length - 5} more)` : ''}${tiedHint}`, { file: where }));
  }
  problems.throwIfAny();
}
