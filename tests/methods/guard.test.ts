import { describe, expect, it } from 'vitest';
import type { ForwardRequest, InferenceBackend } from '../../src/engine/backend.js';
import { allocBlock, type CacheGeometry, type KVBlock } from '../../src/engine/kv-block.js';
import { guardMethod, NonFiniteKvError, type NonFiniteStats } from '../../src/methods/guard.js';
import { createMethod, methodNames } from '../../src/methods/registry.js';
import type { Provenance } from '../../src/results/record.js';
import { getWorkload } from '../../src/runs/catalogue.js';
import { runCell } from '../../src/runs/run-cell.js';
import { charTokenizer } from '../workloads/helpers/char-tokenizer.js';
import { sliceLayers } from './helpers/cache.js';
import { correlatedLayers } from './helpers/random.js';

const g: CacheGeometry = { layers: 4, batch: 2, kvHeads: 2, headDim: 32 };
const PROMPT = 40;
const all = correlatedLayers(g, PROMPT + 4, 3);
const prompt = () => sliceLayers(g, all, 0, PROMPT);

/** Index of (sequence b, head h, token t, channel d) in a [B, H, T, D] block. */
const at = (b: number, h: number, t: number, d: number, T: number) => ((b * g.kvHeads + h) * T + t) * g.headDim + d;

describe.each(methodNames())('method %s', (name) => {
  const guarded = (opts = {}) => guardMethod(createMethod(name, g), opts);
  it('NaN or Infinity handed to it ends with the layer, head and token named, at prefill and at append', () => {
    const pre = prompt();
    pre[2]!.v[at(1, 1, 17, 5, PROMPT)] = NaN;
    expect(() => guarded().prefill(pre)).toThrow(new RegExp(`NaN in layer 2, head 1, token 17 \\(sequence 1, values\\) at prefill`));
    const m = guarded();
    m.prefill(prompt());
    const step = sliceLayers(g, all, PROMPT, PROMPT + 1);
    step[0]!.k[at(0, 1, 0, 0, 1)] = -Infinity;
    let err: unknown;
    try {
      m.append(step);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(NonFiniteKvError);
    expect((err as Error).message).toMatch(new RegExp(`-Infinity in layer 0, head 1, token ${PROMPT} \\(sequence 0, keys\\) at append`));
  });

  it('with nonFinite: count, counts them and goes on', () => {
    const stats: NonFiniteStats = { values: 0 };
    const m = guarded({ nonFinite: 'count', stats });
    const pre = prompt();
    pre[1]!.k[at(0, 0, 3, 1, PROMPT)] = Infinity;
    pre[1]!.k[at(0, 0, 3, 2, PROMPT)] = NaN;
    m.prefill(pre);
    m.append(sliceLayers(g, all, PROMPT, PROMPT + 1));
    expect(stats).toEqual({ values: 2, first: { stage: 'prefill', layer: 1, role: 'key', sequence: 0, head: 0, token: 3, value: 'Infinity' } });
    expect(m.length).toBe(PROMPT + 1);
  });

  it('itself refuses the wrong number of layer blocks, a block of the wrong shape and a second prefill', () => {
    expect(() => createMethod(name, g).prefill(prompt().slice(0, 3))).toThrow(/expected 4 (prefill|input) blocks \(one per layer\), got 3/);
    const m = createMethod(name, g);
    m.prefill(prompt());
    expect(() => m.append(sliceLayers(g, all, PROMPT, PROMPT + 1).slice(1))).toThrow(/expected 4 (append|input) blocks/);
    expect(() => m.prefill(prompt())).toThrow(/prefill called on a cache that already holds 40 tokens/);
    const wrong: KVBlock[] = Array.from({ length: g.layers }, () => ({ ...allocBlock(g, 1), tokens: 2 }));
    expect(() => m.append(wrong)).toThrow(/block of layer 0 must hold \[2, 2, 2, 32\]/);
    expect(m.length).toBe(PROMPT);
  });
});

describe('KIVI parameter errors name the parameter to change', () => {
  it('group size and residual problems name groupSize and residual, not bits', () => {
    expect(() => createMethod('kivi', g, { groupSize: 0 })).toThrow(/^kivi: groupSize: group size must be a positive integer, got 0/);
    expect(() => createMethod('kivi2', g, { groupSize: 48 })).toThrow(/^kivi2: residual: residual must be a positive multiple of the group size 48/);
    expect(() => createMethod('kivi', g, { residual: 100 })).toThrow(/^kivi: residual: /);
    expect(() => createMethod('kivi', { ...g, headDim: 48 }, { groupSize: 32 })).toThrow(/^kivi: groupSize: head dim 48 is not a multiple/);
    expect(() => createMethod('kivi', g, { bits: 3 })).toThrow(/^kivi: bits: bits must be 2, 4 or 8/);
    expect(() => createMethod('kivi', g, { valueBits: 3 })).toThrow(/^kivi: valueBits: /);
  });
});

/** A model whose K/V of layer 1, head 0, prompt token 2 of sequence 0 is NaN. */
function nanBackend(): InferenceBackend {
  const model = { name: 'nan', layers: 2, heads: 2, kvHeads: 2, headDim: 32, vocabSize: 300, maxContext: 64, bos: 1, eos: [2], weightBytes: 0 };
  return {
    model,
    executionProvider: 'cpu',
    async forward(req: ForwardRequest) {
      const geo = { layers: 2, batch: req.batch, kvHeads: 2, headDim: 32 };
      const present = Array.from({ length: 2 }, () => allocBlock(geo, req.tokens));
      if (req.tokens > 2) present[1]!.k[2 * 32] = NaN; // sequence 0, head 0, token 2
      const logits = new Float32Array(req.batch * model.vocabSize);
      for (let b = 0; b < req.batch; b++) logits[b * model.vocabSize + 100] = 1;
      return { logits, present };
    },
    async dispose() {},
  };
}

describe('a cell whose model produces NaN K/V', () => {
  const cell = (method: string) => ({
    model: 'nan', method, methodParams: {}, workload: 'generate', batch: 1, seed: 0, runner: 'node' as const, ep: 'cpu',
    workloadParams: { ...getWorkload('generate')!.defaults, prompts: ['abcdef'], maxNewTokens: 3, ignoreEos: true },
  });
  const env = { backend: nanBackend(), tokenizer: charTokenizer, data: new Map(), provenance: {} as Provenance, suite: 's', repeats: 1, warmup: 0 };

  it('ends errored naming layer, head and token by default, for every method', async () => {
    for (const method of ['fp16', 'kivi2', 'minicache']) {
      const { record } = await runCell('x', cell(method), env);
      expect(record.status, method).toBe('errored');
      expect(record.status === 'errored' && record.error.message).toMatch(/NaN in layer 1, head 0, token 2 \(sequence 0, keys\) at prefill/);
    }
  });

  it("under the suite's nonFinite: count, is ok and reports the count on the cell", async () => {
    const { record } = await runCell('x', cell('kivi2'), { ...env, nonFinite: 'count' });
    expect(record.status).toBe('ok');
    expect(record.status === 'ok' && record.metrics.nonFiniteKv).toEqual({ values: 1, first: { stage: 'prefill', layer: 1, role: 'key', sequence: 0, head: 0, token: 2, value: 'NaN' } });
  });
});
