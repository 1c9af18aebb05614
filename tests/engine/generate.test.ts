import { describe, expect, it } from 'vitest';
import { generate } from '../../src/engine/generate.js';
import { createMethod } from '../../src/methods/registry.js';
import { loadModel } from '../../runners/node/load-model.js';
import { GOLDEN_40, STORIES_CARD as CARD } from '../model/stories-fixture.js';

const fp16 = (g: Parameters<typeof createMethod>[1]) => createMethod('fp16', g);

describe('decode engine on stories260K', () => {
  it('greedy from BOS gives the 40 golden tokens through the fp16 cache', async () => {
    const { backend } = await loadModel(CARD);
    const r = await generate(backend, [[1]], { createMethod: fp16, maxNewTokens: 40, ignoreEos: true });
    expect(r.tokens[0]).toEqual(GOLDEN_40);
    expect(r.seqLen).toBe(40); // 1 prompt + 39 fed-back tokens
    expect(r.bytes.data).toBe(2 * 5 * 4 * 40 * 8 * 2);
    await backend.dispose();
  });

  it('a batch of 8 prompts of different lengths: every row equals its own single-sequence decode', async () => {
    const { backend, tokenizer } = await loadModel(CARD);
    const texts = ['Once', 'Once upon a time', 'The cat', 'Lily was a little girl who', 'He', 'One day, a big dog', 'Tom and Sue went to the park to', 'Sam'];
    const prompts = texts.map((t) => tokenizer.encode(t, { bos: true }));
    expect(new Set(prompts.map((p) => p.length)).size).toBeGreaterThan(4);
    const batch = await generate(backend, prompts, { createMethod: fp16, maxNewTokens: 24, ignoreEos: true });
    for (const [i, p] of prompts.entries()) {
      const single = await generate(backend, [p], { createMethod: fp16, maxNewTokens: 24, ignoreEos: true });
      expect(batch.tokens[i], `row ${i} "${texts[i]}"`).toEqual(single.tokens[0]);
    }
    // The golden row as a member of a padded batch.
    const withGolden = await generate(backend, [[1], ...prompts.slice(0, 7)], { createMethod: fp16, maxNewTokens: 40, ignoreEos: true });
    expect(withGolden.tokens[0]).toEqual(GOLDEN_40);
    await backend.dispose();
  });

  it('stops at stop tokens or the token budget, and seeded sampling repeats', async () => {
    const { backend } = await loadModel(CARD);
    // 261 is the third golden token: generation ends before it (stop tokens are not emitted).
    const stopped = await generate(backend, [[1], [1]], { createMethod: fp16, maxNewTokens: 40, stopTokens: [261] });
    expect(stopped.tokens).toEqual([GOLDEN_40.slice(0, 2), GOLDEN_40.slice(0, 2)]);
    expect(stopped.stepMs.length).toBe(2);
    const ignoring = await generate(backend, [[1]], { createMethod: fp16, maxNewTokens: 5, ignoreEos: true });
    expect(ignoring.tokens[0]).toEqual(GOLDEN_40.slice(0, 5));
    const s = { kind: 'sample', temperature: 1 } as const;
    const a = await generate(backend, [[1], [1]], { createMethod: fp16, maxNewTokens: 20, sampling: s, seed: 7, ignoreEos: true });
    const b = await generate(backend, [[1], [1]], { createMethod: fp16, maxNewTokens: 20, sampling: s, seed: 7, ignoreEos: true });
    const c = await generate(backend, [[1], [1]], { createMethod: fp16, maxNewTokens: 20, sampling: s, seed: 8, ignoreEos: true });
    expect(a.tokens).toEqual(b.tokens);
    expect(a.tokens).not.toEqual(c.tokens);
    await backend.dispose();
  });
});
