import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { InferenceBackend } from '../../src/engine/backend.js';
import { HarnessError, HarnessErrors } from '../../src/errors.js';
import { buildLlamaOnnx, type LogitsMode } from '../../src/model/build-llama-onnx.js';
import { parseLlama2c } from '../../src/model/llama2c.js';
import { parseModelCard } from '../../src/model/model-card.js';
import { loadModel } from '../../runners/node/load-model.js';
import { GOLDEN_40, STORIES_TOKENIZER, STORIES_WEIGHTS, readStories } from './stories-fixture.js';


const tmp = mkdtempSync(join(tmpdir(), 'minicache-model-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Greedy decode through the backend (batch 1), feeding present back as past. */
async function greedy(backend: InferenceBackend, prompt: number[], steps: number): Promise<number[]> {
  const { layers, kvHeads, headDim, vocabSize: V } = backend.model;
  const i64 = (xs: number[]) => BigInt64Array.from(xs, (x) => BigInt(x));
  let past = Array.from({ length: layers }, () => ({ k: new Float32Array(0), v: new Float32Array(0), tokens: 0 }));
  let ids = prompt;
  const out: number[] = [];
  for (let s = 0; s < steps; s++) {
    const P = past[0]!.tokens;
    const r = await backend.forward({ batch: 1, tokens: ids.length, inputIds: i64(ids), attentionMask: i64(Array(P + ids.length).fill(1)), positionIds: i64(ids.map((_, i) => P + i)), past });
    let best = 0;
    for (let v = 1; v < V; v++) if (r.logits[v]! > r.logits[best]!) best = v;
    out.push(best);
    past = past.map((blk, l) => {
      const add = r.present[l]!;
      const cat = (a: Float32Array, b: Float32Array) => {
        const T = blk.tokens + add.tokens;
        const o = new Float32Array(kvHeads * T * headDim);
        for (let h = 0; h < kvHeads; h++) {
          o.set(a.subarray(h * blk.tokens * headDim, (h + 1) * blk.tokens * headDim), h * T * headDim);
          o.set(b.subarray(h * add.tokens * headDim, (h + 1) * add.tokens * headDim), (h * T + blk.tokens) * headDim);
        }
        return o;
      };
      return { k: cat(blk.k, add.k), v: cat(blk.v, add.v), tokens: blk.tokens + add.tokens };
    });
    ids = [best];
  }
  return out;
}

function cardError(text: string): HarnessError {
  try {
    parseModelCard(text, 'cards/bad.yaml');
  } catch (e) {
    if (e instanceof HarnessError) return e;
    throw e;
  }
  throw new Error('expected the card to be rejected');
}

describe('model cards', () => {
  const good = 'name: m\nformat: onnx\npath: model.onnx\ntokenizer: tokenizer.json\nlayers: 2\nkvHeads: 2\nheadDim: 8\nvocabSize: 100\nmaxContext: 64\nbos: 1\neos: [2, 3]\n';

  it('parses a valid ONNX card, inferring the tokenizer format from the file name', () => {
    expect(parseModelCard(good, 'x.yaml')).toMatchObject({ name: 'm', format: 'onnx', path: 'model.onnx', tokenizerFormat: 'hf', layers: 2, eos: [2, 3] });
    expect(parseModelCard(JSON.stringify({ format: 'llama2c', weights: 'w/stories.bin', tokenizer: 'tok.bin' }), 'x.json')).toMatchObject({
      name: 'stories',
      tokenizerFormat: 'llama2c',
      bos: 1,
      eos: [2],
    });
  });

  it('names file, line and field of a misspelt field, with a suggestion, and what it leaves missing', () => {
    const e = cardError(good.replace('layers: 2', 'layer: 2'));
    // Every problem at once: the misspelt field and the required field it leaves out.
    expect(e.format()).toMatch(/^2 problems:\n- cards\/bad\.yaml:5:1 layer: unknown field "layer"\n {4}hint: did you mean "layers"\?\n- cards\/bad\.yaml:1:1 layers: missing required field "layers"/);
    expect(e.hint).toMatch(/did you mean "layers"/);
    const three = cardError(good.replace('kvHeads: 2', 'kvHeads: two').replace('format: onnx', 'format: ONNX').replace('headDim: 8', 'headdim: 8'));
    expect((three as HarnessErrors).errors.map((x) => x.location?.field)).toEqual(['headdim', 'format', 'kvHeads']);
    expect(three.format()).toContain('did you mean "onnx"? (names are case-sensitive)');
    expect(three.format()).toContain('did you mean "headDim"? (names are case-sensitive)');
  });

  it('rejects a wrong type and a missing required field', () => {
    const wrong = cardError(good.replace('kvHeads: 2', 'kvHeads: two'));
    expect(wrong.location).toMatchObject({ file: 'cards/bad.yaml', line: 6, field: 'kvHeads' });
    expect(wrong.message).toMatch(/must be an integer/);
    expect(cardError(good.replace('headDim: 8\n', '')).message).toMatch(/missing required field "headDim"/);
    expect(cardError(good.replace('format: onnx', 'format: gguf')).message).toMatch(/one of onnx, llama2c/);
    expect(cardError(good.replace('eos: [2, 3]', 'eos: [2, 300]')).location?.field).toBe('eos[1]');
    expect(cardError(good + 'inputNames:\n  pastKey: past.key\n').message).toMatch(/must contain \{i\}/);
  });

  it('hf cards: the folder by default, weights only "dummy" (with its seed), no tokenizer needed', () => {
    expect(parseModelCard('format: hf\nweights: dummy\nseed: 7\n', 'x.yaml')).toMatchObject({ format: 'hf', path: '.', weights: 'dummy', seed: 7, name: '', tokenizer: '', idsFromConfig: true });
    expect(parseModelCard('name: mine\nformat: hf\npath: ../llama\nbos: 1\neos: 2\n', 'x.yaml')).not.toHaveProperty('idsFromConfig');
    const bad = cardError('format: hf\nweights: model.safetensors\nropeTheta: 5\n');
    expect((bad as HarnessErrors).errors.map((x) => x.format())).toEqual([
      expect.stringMatching(/weights: "weights" of an hf card can only be "dummy"/),
      expect.stringMatching(/ropeTheta: "ropeTheta" applies to llama2c checkpoints only \(an hf folder takes them from config\.json\)/),
    ]);
    expect(cardError('format: llama2c\nweights: a.bin\ntokenizer: t.bin\nseed: 1\n').message).toMatch(/"seed" applies to dummy weights only/);
  });

  it('refuses an hf folder on onnxruntime, with the engine to use', async () => {
    const dir = join(tmp, 'hf-dummy');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ architectures: ['LlamaForCausalLM'], hidden_size: 16, intermediate_size: 24, num_hidden_layers: 1, num_attention_heads: 2, vocab_size: 300, max_position_embeddings: 64 }));
    writeFileSync(join(dir, 'model.yaml'), 'format: hf\nweights: dummy\n');
    await expect(loadModel(dir)).rejects.toThrow(/hf-dummy is a Hugging Face folder with dummy weights: it runs on the webgpu engine/);
  });

  it('reports a missing model file against the card', async () => {
    writeFileSync(join(tmp, 'model.yaml'), 'format: llama2c\nweights: nowhere.bin\ntokenizer: tok.bin\n');
    await expect(loadModel(tmp)).rejects.toMatchObject({ code: 'model-card', location: { field: 'weights' } });
    await expect(loadModel(join(tmp, 'missing-folder'))).rejects.toThrow(/no model card or folder/);
  });
});

describe('loadModel on stories260K', () => {
  it('loads a bare llama2.c pair (card object) and generates the story from a tokenized prompt', async () => {
    const { backend, tokenizer, card } = await loadModel({ format: 'llama2c', weights: STORIES_WEIGHTS, tokenizer: STORIES_TOKENIZER, tokenizerFormat: 'llama2c', bos: 1, eos: [2] });
    try {
      expect(card.name).toBe('stories260K');
      expect(backend.model).toMatchObject({ name: 'stories260K', layers: 5, vocabSize: 512, bos: 1, eos: [2] });
      const prompt = tokenizer.encode('Once upon a time', { bos: true });
      expect(prompt).toEqual([1, ...GOLDEN_40.slice(0, 4)]);
      const next = await greedy(backend, prompt, 10);
      expect(next).toEqual(GOLDEN_40.slice(4, 14));
      expect(tokenizer.decode([...prompt, ...next])).toMatch(/^Once upon a time, there was a little girl/);
    } finally {
      await backend.dispose();
    }
  });

  it('loads a YAML card whose paths are relative to its folder', async () => {
    const dir = join(tmp, 'card-rel');
    mkdirSync(dir);
    writeFileSync(join(dir, 'model.yaml'), `name: tiny-stories\nformat: llama2c\nweights: ${relative(dir, STORIES_WEIGHTS)}\ntokenizer: ${relative(dir, STORIES_TOKENIZER)}\nlayers: 5\n`);
    const { backend, card } = await loadModel(dir);
    try {
      expect(card.path).toBe(STORIES_WEIGHTS);
      expect(await greedy(backend, [1], 5)).toEqual(GOLDEN_40.slice(0, 5));
    } finally {
      await backend.dispose();
    }
  });

  it('checks card geometry against the checkpoint header', async () => {
    await expect(loadModel({ format: 'llama2c', weights: STORIES_WEIGHTS, tokenizer: STORIES_TOKENIZER, kvHeads: 8 })).rejects.toThrow(/"kvHeads" is 8 but the checkpoint says 4/);
  });

  for (const mode of ['last', 'all'] as LogitsMode[]) {
    it(`runs a user ONNX model with HF naming (${mode} logits) from a card`, async () => {
      const dir = join(tmp, `onnx-${mode}`);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'decoder.onnx'), buildLlamaOnnx(parseLlama2c(readStories().weights), { logits: mode }));
      writeFileSync(
        join(dir, 'model.json'),
        JSON.stringify({ name: 'stories-onnx', format: 'onnx', path: 'decoder.onnx', tokenizer: STORIES_TOKENIZER, tokenizerFormat: 'llama2c', layers: 5, heads: 8, kvHeads: 4, headDim: 8, vocabSize: 512, maxContext: 512, bos: 1, eos: [2] }),
      );
      const { backend } = await loadModel(dir);
      try {
        expect(backend.model.weightBytes).toBeGreaterThan(260032 * 4);
        expect(await greedy(backend, [1], 20)).toEqual(GOLDEN_40.slice(0, 20));
        // A multi-token prompt: with 'all' logits the next token must come from the last position
        // (a one-token prompt cannot tell the last position from the first).
        expect(await greedy(backend, [1, ...GOLDEN_40.slice(0, 4)], 8)).toEqual(GOLDEN_40.slice(4, 12));
      } finally {
        await backend.dispose();
      }
    });
  }

  it('explains I/O names that the graph lacks', async () => {
    const dir = join(tmp, 'onnx-last');
    writeFileSync(
      join(dir, 'renamed.json'),
      JSON.stringify({ format: 'onnx', path: 'decoder.onnx', tokenizer: STORIES_TOKENIZER, tokenizerFormat: 'llama2c', layers: 5, kvHeads: 4, headDim: 8, vocabSize: 512, maxContext: 512, bos: 1, eos: [2], inputNames: { pastKey: 'past.{i}.k' } }),
    );
    await expect(loadModel(join(dir, 'renamed.json'))).rejects.toThrow(/lacks input past\.0\.k.*set inputNames in the model card/s);
  });
});
