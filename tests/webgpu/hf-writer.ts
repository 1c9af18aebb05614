/**
 * Writes Hugging Face model folders for tests: config.json, safetensors (single or sharded with
 * model.safetensors.index.json) in F16, BF16 or F32, and a tokenizer. `embeddedAsHf` converts the
 * embedded llama2.c model the way Hugging Face's converters do: llama2.c rotates interleaved
 * pairs (2i, 2i+1) of each head, Hugging Face half-split pairs (i, i + D/2), so the rows of wq and
 * wk are permuted within each head. (models/recipe/llama2c_to_hf.py does the same in Python.)
 */
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeHalf } from '../../src/kernels/half.js';
import type { Llama2cModel } from '../../src/model/llama2c.js';

export type Dtype = 'F16' | 'BF16' | 'F32';
export interface Tensor {
  shape: number[];
  values: Float32Array;
}

function bytesOf(t: Tensor, dtype: Dtype): Uint8Array {
  if (dtype === 'F32') return new Uint8Array(t.values.buffer.slice(t.values.byteOffset, t.values.byteOffset + t.values.byteLength));
  if (dtype === 'F16') {
    const h = new Uint16Array(t.values.length);
    encodeHalf(t.values, h);
    return new Uint8Array(h.buffer);
  }
  // bf16: round to nearest even on the top 16 bits
  const bits = new Uint32Array(t.values.buffer.slice(t.values.byteOffset, t.values.byteOffset + t.values.byteLength));
  const out = new Uint16Array(bits.length);
  for (let i = 0; i < bits.length; i++) {
    const b = bits[i]!;
    out[i] = (b + 0x7fff + ((b >>> 16) & 1)) >>> 16;
  }
  return new Uint8Array(out.buffer);
}

export function writeSafetensors(file: string, tensors: [string, Tensor][], dtype: Dtype): void {
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  const parts: Uint8Array[] = [];
  let off = 0;
  for (const [name, t] of tensors) {
    const b = bytesOf(t, dtype);
    header[name] = { dtype, shape: t.shape, data_offsets: [off, off + b.length] };
    parts.push(b);
    off += b.length;
  }
  let json = JSON.stringify(header);
  while ((8 + json.length) % 8) json += ' ';
  const head = new Uint8Array(8);
  new DataView(head.buffer).setBigUint64(0, BigInt(json.length), true);
  writeFileSync(file, Buffer.concat([head, Buffer.from(json), ...parts]));
}

export interface HfFolderOptions {
  config: Record<string, unknown>;
  tensors: [string, Tensor][];
  dtype?: Dtype;
  /** Split into this many shards with an index (default: one model.safetensors). */
  shards?: number;
  tokenizer?: string;
}

export function writeHfFolder(dir: string, o: HfFolderOptions): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), JSON.stringify(o.config, null, 2));
  const dtype = o.dtype ?? 'F16';
  const n = o.shards ?? 1;
  if (n === 1) writeSafetensors(join(dir, 'model.safetensors'), o.tensors, dtype);
  else {
    const map: Record<string, string> = {};
    const per = Math.ceil(o.tensors.length / n);
    for (let s = 0; s < n; s++) {
      const file = `model-${String(s + 1).padStart(5, '0')}-of-${String(n).padStart(5, '0')}.safetensors`;
      const part = o.tensors.slice(s * per, (s + 1) * per);
      for (const [name] of part) map[name] = file;
      writeSafetensors(join(dir, file), part, dtype);
    }
    writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: map }, null, 2));
  }
  if (o.tokenizer) copyFileSync(o.tokenizer, join(dir, 'tokenizer.json'));
  return dir;
}

/** Rows of one head's [D, in] block from interleaved pairs (2i, 2i+1) to half-split (i, i + D/2). */
export function permuteRotary(w: Float32Array, heads: number, headDim: number, cols: number): Float32Array {
  const out = new Float32Array(w.length);
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < headDim / 2; i++) {
      for (let j = 0; j < 2; j++) {
        const from = (h * headDim + 2 * i + j) * cols;
        const to = (h * headDim + j * (headDim / 2) + i) * cols;
        out.set(w.subarray(from, from + cols), to);
      }
    }
  }
  return out;
}

export function llamaConfig(c: { dim: number; hidden: number; layers: number; heads: number; kvHeads: number; vocab: number; maxContext: number; tied: boolean; theta?: number }, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    hidden_size: c.dim,
    intermediate_size: c.hidden,
    num_hidden_layers: c.layers,
    num_attention_heads: c.heads,
    num_key_value_heads: c.kvHeads,
    vocab_size: c.vocab,
    max_position_embeddings: c.maxContext,
    rms_norm_eps: 1e-5,
    rope_theta: c.theta ?? 10000,
    rope_scaling: null,
    tie_word_embeddings: c.tied,
    hidden_act: 'silu',
    bos_token_id: 1,
    eos_token_id: 2,
    torch_dtype: 'float16',
    ...extra,
  };
}

/** The embedded model (llama2.c, fp16) as a Hugging Face LlamaForCausalLM folder. */
export function embeddedAsHf(m: Llama2cModel, dir: string, o: { tokenizer?: string; shards?: number; dtype?: Dtype } = {}): string {
  const c = m.config;
  const w = m.weights;
  const kvDim = c.kvHeads * c.headDim;
  const slice = (a: Float32Array, l: number, n: number) => a.slice(l * n, (l + 1) * n);
  const tensors: [string, Tensor][] = [['model.embed_tokens.weight', { shape: [c.vocabSize, c.dim], values: w.tokenEmbedding }]];
  for (let l = 0; l < c.layers; l++) {
    const p = `model.layers.${l}.`;
    tensors.push(
      [`${p}input_layernorm.weight`, { shape: [c.dim], values: slice(w.rmsAtt, l, c.dim) }],
      [`${p}self_attn.q_proj.weight`, { shape: [c.dim, c.dim], values: permuteRotary(slice(w.wq, l, c.dim * c.dim), c.heads, c.headDim, c.dim) }],
      [`${p}self_attn.k_proj.weight`, { shape: [kvDim, c.dim], values: permuteRotary(slice(w.wk, l, kvDim * c.dim), c.kvHeads, c.headDim, c.dim) }],
      [`${p}self_attn.v_proj.weight`, { shape: [kvDim, c.dim], values: slice(w.wv, l, kvDim * c.dim) }],
      [`${p}self_attn.o_proj.weight`, { shape: [c.dim, c.dim], values: slice(w.wo, l, c.dim * c.dim) }],
      [`${p}post_attention_layernorm.weight`, { shape: [c.dim], values: slice(w.rmsFfn, l, c.dim) }],
      [`${p}mlp.gate_proj.weight`, { shape: [c.hiddenDim, c.dim], values: slice(w.w1, l, c.hiddenDim * c.dim) }],
      [`${p}mlp.down_proj.weight`, { shape: [c.dim, c.hiddenDim], values: slice(w.w2, l, c.dim * c.hiddenDim) }],
      [`${p}mlp.up_proj.weight`, { shape: [c.hiddenDim, c.dim], values: slice(w.w3, l, c.hiddenDim * c.dim) }],
    );
  }
  tensors.push(['model.norm.weight', { shape: [c.dim], values: w.rmsFinal }]);
  return writeHfFolder(dir, {
    config: llamaConfig({ dim: c.dim, hidden: c.hiddenDim, layers: c.layers, heads: c.heads, kvHeads: c.kvHeads, vocab: c.vocabSize, maxContext: c.seqLen, tied: c.tiedClassifier }),
    tensors,
    dtype: o.dtype ?? 'F16',
    ...(o.shards ? { shards: o.shards } : {}),
    ...(o.tokenizer ? { tokenizer: o.tokenizer } : {}),
  });
}

/** Seeded values already on bf16's grid (so F32, BF16 and F16 files hold the same numbers). */
export function bf16Values(n: number, seed: number, scale: number): Float32Array {
  let s = seed >>> 0 || 1;
  const out = new Float32Array(n);
  const bits = new Uint32Array(out.buffer);
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    out[i] = ((s / 4294967296) * 2 - 1) * scale;
    bits[i] = bits[i]! & 0xffff0000;
  }
  return out;
}
