import { describe, expect, it } from 'vitest';
import { generate, type GenerateResult } from '../../src/engine/generate.js';
import { createMethod, getMethod, methodNames } from '../../src/methods/registry.js';
import { totalBytes, type MethodParams } from '../../src/methods/types.js';
import { loadModel } from '../../runners/node/load-model.js';
import { STORIES_CARD } from '../model/stories-fixture.js';

/**
 * Spec §2.7 / decision 6: prefill is exact, so every method's first generated token equals the
 * fp16 baseline's; later tokens may differ, and compressed methods must hold fewer bytes.
 */
const EMBEDDED_CARD = new URL('../../models/minillama-12l/', import.meta.url).pathname;

/**
 * Quantizer parameters for a short test: groups that fit the head dim (stories260K has D = 8)
 * and the shortest residual window, so quantization applies within the prompt.
 */
function paramsFor(name: string, headDim: number): MethodParams {
  const defaults = getMethod(name)!.defaults;
  if (!('groupSize' in defaults)) return {};
  const G = headDim % 32 === 0 ? 32 : headDim;
  return 'residual' in defaults ? { groupSize: G, residual: G } : { groupSize: G };
}

async function firstTokens(card: string, prompts: string[]): Promise<void> {
  const { backend, tokenizer } = await loadModel(card);
  try {
    const ids = prompts.map((t) => tokenizer.encode(t, { bos: true }));
    // Long enough that every quantizer has quantized part of the prompt.
    expect(Math.min(...ids.map((p) => p.length))).toBeGreaterThan(64);
    const results = new Map<string, GenerateResult>();
    for (const name of methodNames()) {
      const params = paramsFor(name, backend.model.headDim);
      results.set(name, await generate(backend, ids, { createMethod: (g) => createMethod(name, g, params), maxNewTokens: 6, ignoreEos: true }));
    }
    const base = results.get('fp16')!;
    for (const [name, r] of results) {
      expect(r.tokens.map((t) => t[0]), `${name}: first tokens`).toEqual(base.tokens.map((t) => t[0]));
      expect(r.seqLen).toBe(base.seqLen);
      if (name !== 'fp16') expect(totalBytes(r.bytes), `${name}: bytes below fp16`).toBeLessThan(r.kvBytesBaseline);
    }
  } finally {
    await backend.dispose();
  }
}

const PROMPTS = [
  'Once upon a time, there was a little girl named Lily who loved to play in the garden with her mother. One day she found a small box under a big tree. She opened the box and saw a shiny red ball. Lily was very happy and ran to show her mother what she had found.',
  'The dog ran to the park and saw a big red ball under the old tree. He wanted to play with it, but a cat was sitting next to the ball. The dog barked and the cat ran away. Then the dog took the ball and ran home to his friend Tom, who was waiting at the door.',
];

describe('first generated token equals fp16 for every method (exact prefill)', () => {
  it('stories260K', async () => {
    await firstTokens(STORIES_CARD, PROMPTS);
  });

  it('embedded model minillama-12l', async () => {
    await firstTokens(EMBEDDED_CARD, PROMPTS);
  });
});
