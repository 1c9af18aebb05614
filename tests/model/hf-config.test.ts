import { describe, expect, it } from 'vitest';
import { HarnessError } from '../../src/errors.js';
import { checkHfTensors, defaultInvFreq, hfTensorPlan, parseHfConfig } from '../../src/model/hf-config.js';
import { readSafetensorsHeader, tensorToHalf, type TensorEntry } from '../../src/model/safetensors.js';
import { decodeHalf } from '../../src/kernels/half.js';

const llama2 = {
  architectures: ['LlamaForCausalLM'],
  hidden_size: 4096,
  intermediate_size: 11008,
  num_hidden_layers: 32,
  num_attention_heads: 32,
  num_key_value_heads: 32,
  vocab_size: 32000,
  max_position_embeddings: 4096,
  rms_norm_eps: 1e-5,
  rope_theta: 10000,
  tie_word_embeddings: false,
  bos_token_id: 1,
  eos_token_id: 2,
};
const llama31 = { ...llama2, hidden_size: 4096, intermediate_size: 14336, num_key_value_heads: 8, vocab_size: 128256, max_position_embeddings: 131072, rope_theta: 500000, bos_token_id: 128000, eos_token_id: [128001, 128008, 128009], rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 } };

function problems(v: unknown): string[] {
  try {
    parseHfConfig(v, 'config.json');
  } catch (e) {
    return ((e as { errors?: HarnessError[] }).errors ?? [e as HarnessError]).map((x) => x.format());
  }
  return [];
}

describe('config.json', () => {
  it('reads a LLaMA-2-7B config: MHA, default RoPE, untied', () => {
    const c = parseHfConfig(llama2, 'config.json');
    expect(c).toMatchObject({ architecture: 'LlamaForCausalLM', dim: 4096, hiddenDim: 11008, layers: 32, heads: 32, kvHeads: 32, headDim: 128, vocabSize: 32000, ropeType: 'default', tiedEmbeddings: false, bos: 1, eos: [2], slidingWindow: null });
    expect(c.invFreq).toHaveLength(64);
    expect(c.invFreq[0]).toBe(1);
    expect(c.invFreq[32]).toBe(Math.fround(1 / Math.fround(Math.pow(10000, 0.5))));
  });

  it("Llama-3.1's rope_scaling (rope_type llama3): high frequencies kept, low ones divided by factor, a smooth ramp between", () => {
    const c = parseHfConfig(llama31, 'config.json');
    const base = defaultInvFreq(128, 500000);
    expect(c).toMatchObject({ ropeType: 'llama3', kvHeads: 8, eos: [128001, 128008, 128009] });
    expect(c.invFreq[0]).toBe(base[0]); // wavelength 2π, far below 8192 / 4
    expect(c.invFreq[63]).toBe(Math.fround(base[63]! / 8)); // wavelength beyond 8192
    const i = 34; // wavelength ≈ 6.7k: between 2048 and 8192
    const s = (8192 / ((2 * Math.PI) / base[i]!) - 1) / 3;
    expect(c.invFreq[i]! / base[i]!).toBeCloseTo((1 - s) / 8 + s, 5);
    // transformers 5 writes theta and scaling as rope_parameters
    const { rope_scaling, rope_theta, ...rest } = llama31;
    const v5 = parseHfConfig({ ...rest, rope_parameters: { ...rope_scaling, rope_theta } }, 'config.json');
    expect(v5.invFreq).toEqual(c.invFreq);
  });

  it("Mistral: GQA and the sliding window (null or use_sliding_window: false means none)", () => {
    const mistral = { ...llama2, architectures: ['MistralForCausalLM'], intermediate_size: 14336, num_key_value_heads: 8, max_position_embeddings: 32768, sliding_window: 4096 };
    expect(parseHfConfig(mistral, 'config.json')).toMatchObject({ architecture: 'MistralForCausalLM', slidingWindow: 4096, kvHeads: 8 });
    expect(parseHfConfig({ ...mistral, sliding_window: null }, 'config.json').slidingWindow).toBeNull();
    expect(parseHfConfig({ ...mistral, use_sliding_window: false }, 'config.json').slidingWindow).toBeNull();
  });

  it('reports every problem at once, each at its field', () => {
    const p = problems({ ...llama2, architectures: ['FalconForCausalLM'], num_key_value_heads: 5, hidden_act: 'gelu', rope_scaling: { type: 'dynamic', factor: 2 }, eos_token_id: 40000 });
    expect(p).toEqual([
      expect.stringMatching(/^config\.json architectures: architecture FalconForCausalLM is not one the engine runs/),
      expect.stringMatching(/num_key_value_heads: num_attention_heads \(32\) must be a multiple of num_key_value_heads \(5\)/),
      expect.stringMatching(/hidden_act: hidden_act "gelu" is not SwiGLU's silu/),
      expect.stringMatching(/rope_scaling\.rope_type: RoPE scaling "dynamic" is not supported/),
      expect.stringMatching(/eos_token_id: token id 40000 is outside the vocabulary of 32000/),
    ]);
    expect(problems({ ...llama2, head_dim: 64 })).toEqual([expect.stringMatching(/head_dim: num_attention_heads × head_dim = 32 × 64 ≠ hidden_size 4096/)]);
  });

  it('plans the tensors of a tied model without lm_head, and checks names, shapes and dtypes', () => {
    const tiny = { ...llama2, hidden_size: 16, intermediate_size: 24, num_hidden_layers: 1, num_attention_heads: 2, num_key_value_heads: 1, vocab_size: 300, tie_word_embeddings: true };
    const c = parseHfConfig(tiny, 'config.json');
    const plan = hfTensorPlan(c);
    expect(plan.map((t) => t.name)).toEqual([
      'model.embed_tokens.weight',
      ...['input_layernorm', 'self_attn.q_proj', 'self_attn.k_proj', 'self_attn.v_proj', 'self_attn.o_proj', 'post_attention_layernorm', 'mlp.gate_proj', 'mlp.down_proj', 'mlp.up_proj'].map((n) => `model.layers.0.${n}.weight`),
      'model.norm.weight',
    ]);
    const entries = new Map<string, TensorEntry>(plan.map((t) => [t.name, { name: t.name, dtype: 'BF16', shape: t.shape, file: 'model.safetensors', begin: 0, end: 0 }]));
    expect(() => checkHfTensors(c, entries, 'model.safetensors', 'config.json')).not.toThrow();
    entries.set('model.layers.0.self_attn.k_proj.weight', { ...entries.get('model.layers.0.self_attn.k_proj.weight')!, shape: [16, 16], dtype: 'I8' });
    entries.delete('model.norm.weight');
    expect(() => checkHfTensors(c, entries, 'model.safetensors', 'config.json')).toThrow(/3 problems/);
  });
});

describe('safetensors', () => {
  const file = (header: object, data: number[]) => {
    const json = JSON.stringify(header);
    const b = new Uint8Array(8 + json.length + data.length);
    new DataView(b.buffer).setBigUint64(0, BigInt(json.length), true);
    b.set(new TextEncoder().encode(json), 8);
    b.set(data, 8 + json.length);
    return { bytes: b, read: async (o: number, n: number) => b.subarray(o, o + n) };
  };

  it('reads tensor byte ranges from the header, without touching the data', async () => {
    const f = file({ __metadata__: { format: 'pt' }, a: { dtype: 'BF16', shape: [2], data_offsets: [0, 4] }, b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, [0x80, 0x3f, 0x00, 0xc0, 0, 0, 0x80, 0x3f]);
    const t = await readSafetensorsHeader('m.safetensors', f.bytes.length, f.read);
    expect(t.map((x) => [x.name, x.dtype, x.shape, x.end - x.begin])).toEqual([['a', 'BF16', [2], 4], ['b', 'F32', [1], 4]]);
    const a = t[0]!;
    const half = tensorToHalf(f.bytes.subarray(a.begin, a.end), 'BF16');
    const out = new Float32Array(2);
    decodeHalf(half, out);
    expect([...out]).toEqual([1, -2]);
  });

  it('refuses a header whose sizes do not add up, naming the tensor', async () => {
    const f = file({ a: { dtype: 'F16', shape: [3], data_offsets: [0, 4] } }, [0, 0, 0, 0]);
    await expect(readSafetensorsHeader('m.safetensors', f.bytes.length, f.read)).rejects.toThrow(/m\.safetensors: tensor a: 4 bytes for shape \[3\] of F16/);
    const g = file({ a: { dtype: 'F16', shape: [4], data_offsets: [0, 8] } }, [0, 0]);
    await expect(readSafetensorsHeader('m.safetensors', g.bytes.length, g.read)).rejects.toThrow(/past the end of the file/);
  });

  it('rounds bf16 and f32 to fp16 to nearest even; out-of-range values become Inf (the loader refuses them)', () => {
    const f32 = new Float32Array([1 + 2 ** -11, 1 + 3 * 2 ** -11, 70000, 1e-8]);
    const h = tensorToHalf(new Uint8Array(f32.buffer), 'F32');
    expect([...h].map((x) => x.toString(16))).toEqual(['3c00', '3c02', '7c00', '0']);
  });
});

describe('the shipped dummy-weight cards (configs/models)', async () => {
  const { readModelCard } = await import('../../runners/node/load-model.js');
  const { readHfConfig } = await import('../../runners/node/hf-folder.js');
  const root = new URL('../../configs/models/', import.meta.url).pathname;
  // parameters (classifier untied) and fp16 KV bytes per token, as the models' own cards give them
  const expected: Record<string, { params: number; kvPerToken: number; kvHeads: number; vocab: number; window: number | null }> = {
    'llama-2-7b': { params: 6_738_415_616, kvPerToken: 524_288, kvHeads: 32, vocab: 32000, window: null },
    'llama-3-8b': { params: 8_030_261_248, kvPerToken: 131_072, kvHeads: 8, vocab: 128256, window: null },
    'mistral-7b': { params: 7_241_732_096, kvPerToken: 131_072, kvHeads: 8, vocab: 32000, window: 4096 },
  };
  for (const [dir, want] of Object.entries(expected)) {
    it(`${dir}: dummy weights in the real model's shapes, no tokenizer file`, () => {
      const card = readModelCard(`${root}${dir}`);
      expect(card).toMatchObject({ format: 'hf', weights: 'dummy', seed: 0, tokenizerFormat: 'bytes', name: `${dir}-dummy`, kvHeads: want.kvHeads, vocabSize: want.vocab });
      const c = readHfConfig(`${root}${dir}`).config;
      const params = hfTensorPlan(c).reduce((a, t) => a + t.shape.reduce((x, y) => x * y, 1), 0);
      expect(params).toBe(want.params);
      expect(2 * c.layers * c.kvHeads * c.headDim * 2).toBe(want.kvPerToken);
      expect(c.slidingWindow).toBe(want.window);
    });
  }
});
