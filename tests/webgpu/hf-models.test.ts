/**
 * Hugging Face folders on the engine: the embedded model converted to a LlamaForCausalLM folder
 * (rows of wq/wk permuted to the half-split RoPE layout, as Hugging Face's converters do) gives
 * the llama2.c checkpoint's greedy tokens; F32, BF16 and F16 files of the same values, single or
 * sharded, load to the same fp16 weights; a folder the engine cannot run is refused before the
 * device is touched, naming the file and field.
 */
import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWith, PARTS } from '../support/parts.js';
import { HarnessError } from '../../src/errors.js';
import { generateOnEngine } from '../../src/webgpu/generate-engine.js';
import type { GpuContext } from '../../src/webgpu/gpu-context.js';
import { loadEngine, type LoadedEngine } from '../../runners/node/load-engine.js';
import { EMBEDDED_DIR, embeddedModel, gpu, gpuErrors } from './gpu-fixture.js';
import { bf16Values, embeddedAsHf, llamaConfig, writeHfFolder, type Dtype, type Tensor } from './hf-writer.js';

/** Rounds down to bf16's grid, so a value is the same in F32, BF16 and F16 files. */
function onBf16Grid(a: Float32Array): Float32Array {
  const bits = new Uint32Array(a.buffer, a.byteOffset, a.length);
  for (let i = 0; i < bits.length; i++) bits[i] = bits[i]! & 0xffff0000;
  return a;
}

const TINY_TOKENIZER = new URL('../model/fixtures/tiny-llama-tokenizer.json', import.meta.url).pathname;
let ctx: GpuContext;
let dir: string;
const loaded: LoadedEngine[] = [];
beforeAll(async () => {
  ctx = await gpu();
  dir = mkdtempSync(join(tmpdir(), 'hf-models-'));
});
afterAll(async () => {
  for (const l of loaded) await l.backend.dispose();
  rmSync(dir, { recursive: true, force: true });
  expect(gpuErrors).toEqual([]);
});

async function load(path: string): Promise<LoadedEngine> {
  const l = await loadEngine(path);
  loaded.push(l);
  return l;
}

async function refusal(path: string): Promise<string> {
  try {
    await loadEngine(path);
  } catch (e) {
    expect(e).toBeInstanceOf(HarnessError);
    return (e as HarnessError).format();
  }
  throw new Error(`${path} loaded, but should have been refused`);
}

describeWith([PARTS.webgpu], 'the embedded model as a Hugging Face folder', () => {
  it('gives the llama2.c checkpoint greedy tokens (half-split RoPE, 2 shards with an index)', async () => {
    const folder = embeddedAsHf(embeddedModel(), join(dir, 'minillama-hf'), { tokenizer: join(EMBEDDED_DIR, 'tokenizer.json'), shards: 2 });
    const hf = await load(folder);
    const ref = await load(EMBEDDED_DIR);
    expect(hf.engine.config.ropeLayout).toBe('half');
    expect(hf.engine.config.name).toBe('minillama-hf');
    expect(hf.engine.weights.params).toBe(ref.engine.weights.params);
    const texts = ['Once upon a time, there was a little girl named Lily.', 'def fibonacci(n):\n    if n < 2:', 'The'];
    const prompts = texts.map((t) => ref.tokenizer.encode(t, { bos: true }));
    expect(texts.map((t) => hf.tokenizer.encode(t, { bos: true }))).toEqual(prompts);
    const a = await generateOnEngine(hf.engine, prompts, { maxNewTokens: 24 });
    const b = await generateOnEngine(ref.engine, prompts, { maxNewTokens: 24 });
    expect(a.tokens).toEqual(b.tokens);
  });
});

describeWith([PARTS.webgpu], 'dtypes and shards', () => {
  const shape = { dim: 64, hidden: 172, layers: 2, heads: 4, kvHeads: 2, vocab: 384, maxContext: 256, tied: false };
  const tensors = (): [string, Tensor][] => {
    const kv = shape.kvHeads * 16;
    let seed = 1;
    const t = (s: number[], scale = 0.1): Tensor => ({ shape: s, values: bf16Values(s.reduce((a, b) => a * b, 1), seed++, scale) });
    const out: [string, Tensor][] = [['model.embed_tokens.weight', t([shape.vocab, shape.dim], 1)]];
    for (let l = 0; l < shape.layers; l++) {
      const p = `model.layers.${l}.`;
      out.push(
        [`${p}input_layernorm.weight`, { shape: [shape.dim], values: onBf16Grid(bf16Values(shape.dim, seed++, 0.5).map((x) => 1 + x)) }],
        [`${p}self_attn.q_proj.weight`, t([shape.dim, shape.dim])],
        [`${p}self_attn.k_proj.weight`, t([kv, shape.dim])],
        [`${p}self_attn.v_proj.weight`, t([kv, shape.dim])],
        [`${p}self_attn.o_proj.weight`, t([shape.dim, shape.dim])],
        [`${p}post_attention_layernorm.weight`, { shape: [shape.dim], values: onBf16Grid(bf16Values(shape.dim, seed++, 0.5).map((x) => 1 + x)) }],
        [`${p}mlp.gate_proj.weight`, t([shape.hidden, shape.dim])],
        [`${p}mlp.down_proj.weight`, t([shape.dim, shape.hidden])],
        [`${p}mlp.up_proj.weight`, t([shape.hidden, shape.dim])],
      );
    }
    out.push(['model.norm.weight', { shape: [shape.dim], values: new Float32Array(shape.dim).fill(1) }], ['lm_head.weight', t([shape.vocab, shape.dim])]);
    return out;
  };
  const folder = (name: string, dtype: Dtype, shards?: number, config: Record<string, unknown> = {}) =>
    writeHfFolder(join(dir, name), { config: llamaConfig(shape, config), tensors: tensors(), dtype, tokenizer: TINY_TOKENIZER, ...(shards ? { shards } : {}) });

  it('F32, BF16 and F16 files (single or sharded) load to the same fp16 weights: equal logits', async () => {
    const ids = [1, 40, 41, 42, 43, 300];
    const logits: Float32Array[] = [];
    for (const [name, dtype, shards] of [['f16', 'F16', 0], ['bf16', 'BF16', 3], ['f32', 'F32', 0]] as const) {
      const l = await load(folder(name, dtype, shards || undefined));
      expect(l.engine.config.tiedClassifier).toBe(false);
      const T = ids.length;
      const out = await l.backend.forward({
        batch: 1,
        tokens: T,
        inputIds: BigInt64Array.from(ids, BigInt),
        attentionMask: new BigInt64Array(T).fill(1n),
        positionIds: BigInt64Array.from({ length: T }, (_, i) => BigInt(i)),
        past: Array.from({ length: shape.layers }, () => ({ k: new Float32Array(0), v: new Float32Array(0), tokens: 0 })),
      });
      expect(out.logits.every(Number.isFinite)).toBe(true);
      logits.push(out.logits);
    }
    expect(logits[1]).toEqual(logits[0]);
    expect(logits[2]).toEqual(logits[0]);
  });

  it('refuses, before loading, a folder the engine cannot run: naming the file and field', async () => {
    const f = folder('bad-arch', 'F16', 0, { architectures: ['GPT2LMHeadModel'], rope_scaling: { rope_type: 'yarn', factor: 4 } });
    const arch = await refusal(f);
    expect(arch).toContain(join(f, 'config.json'));
    expect(arch).toMatch(/architectures: architecture GPT2LMHeadModel is not one the engine runs/);
    expect(arch).toMatch(/rope_scaling\.rope_type: RoPE scaling "yarn" is not supported/);

    const shapeBad = folder('bad-shape', 'F16', 0, { intermediate_size: 176 });
    const msg = await refusal(shapeBad);
    expect(msg).toMatch(/model\.safetensors model\.layers\.0\.mlp\.gate_proj\.weight: tensor model\.layers\.0\.mlp\.gate_proj\.weight has shape \[172, 64\], config\.json's sizes need \[176, 64\]/);

    const untied = folder('missing-head', 'F16', 2);
    writeHfFolder(untied, { config: llamaConfig(shape), tensors: tensors().filter(([n]) => n !== 'lm_head.weight'), shards: 2 });
    expect(await refusal(untied)).toMatch(/model\.safetensors\.index\.json: 1 tensor missing: lm_head\.weight \(config\.json says tie_word_embeddings: false/);

    const shard = folder('missing-shard', 'F16', 2);
    unlinkSync(join(shard, 'model-00002-of-00002.safetensors'));
    expect(await refusal(shard)).toMatch(/model\.safetensors\.index\.json weight_map: 1 shard named in weight_map missing: model-00002-of-00002\.safetensors/);

    const truncated = folder('truncated', 'F16');
    writeFileSync(join(truncated, 'model.safetensors'), Buffer.from([8, 0, 0, 0, 0, 0, 0, 0, 123, 125]));
    expect(await refusal(truncated)).toMatch(/model\.safetensors: header length 8 does not fit the file \(10 bytes\)/);

    const noTok = folder('no-tokenizer', 'F16');
    unlinkSync(join(noTok, 'tokenizer.json'));
    expect(await refusal(noTok)).toMatch(/config\.json tokenizer: the model folder has no tokenizer\.json/);
  });
});
