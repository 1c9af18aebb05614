import { describe, expect, it } from 'vitest';
import { agreementPerItem, lcsLength, meanAgreement, rougeLTokens, tokenMatchRate } from '../../src/workloads/agreement.js';
import { createPrng } from '../../src/measure/prng.js';
import { mean } from '../../src/measure/stats.js';
import { drawShareGptLengths, passesShareGptFilter } from '../../src/workloads/sharegpt/lengths.js';
import { fixedLengthRequests, syntheticRequests } from '../../src/workloads/sharegpt/synthetic.js';
import { buildTaskScore } from '../../src/workloads/task-score.js';
import { BOS, charTokenizer } from './helpers/char-tokenizer.js';

describe('agreement with FP16', () => {
  it('token match is positionwise over the longer output', () => {
    expect(tokenMatchRate([1, 2, 3, 4], [1, 2, 9, 4])).toBe(0.75);
    expect(tokenMatchRate([1, 2], [1, 2, 3, 4])).toBe(0.5); // stopping early costs the missing positions
    expect(tokenMatchRate([2, 3, 4], [1, 2, 3])).toBe(0); // a shift is a full mismatch positionwise…
    expect(tokenMatchRate([], [])).toBe(1);
  });

  it('ROUGE-L over tokens forgives the shift: 2·LCS/(|a|+|b|)', () => {
    expect(lcsLength([2, 3, 4], [1, 2, 3])).toBe(2);
    expect(rougeLTokens([2, 3, 4], [1, 2, 3])).toBeCloseTo(4 / 6, 15); // …but shares the subsequence 2 3
    expect(rougeLTokens([1, 2], [1, 2, 3, 4])).toBeCloseTo(4 / 6, 15);
    expect(rougeLTokens([], [1])).toBe(0);
    expect(rougeLTokens([], [])).toBe(1);
  });

  it('per item and mean', () => {
    const items = agreementPerItem([[1, 2], [5]], [[1, 2], [6]]);
    expect(items).toEqual([{ tokenMatch: 1, rougeL: 1 }, { tokenMatch: 0, rougeL: 0 }]);
    expect(meanAgreement(items)).toEqual({ tokenMatch: 0.5, rougeL: 0.5 });
  });

  it('buildTaskScore carries the score, buckets, agreement and the paired delta in points', () => {
    const ts = buildTaskScore({
      task: 't',
      metric: 'qa_f1',
      items: [1, 0.5, 0],
      lengths: [100, 5000, 9000],
      baselineItems: [1, 1, 0],
      outputs: [[1], [2], [3]],
      baselineOutputs: [[1], [9], [3]],
      bootstrap: { seed: 1, resamples: 500 },
    });
    expect(ts.score).toBe(50);
    expect(ts.byLength).toEqual({ '0-4k': { score: 100, n: 1 }, '4-8k': { score: 50, n: 1 }, '8k+': { score: 0, n: 1 } });
    expect(ts.agreement!.tokenMatch).toBeCloseTo(2 / 3, 15);
    expect(ts.deltaVsFp16!.mean).toBeCloseTo(-50 / 3, 12);
    expect(ts.deltaVsFp16!.lo).toBeGreaterThanOrEqual(-50);
    expect(ts.deltaVsFp16!.hi).toBeLessThanOrEqual(0);
  });
});

describe('embedded ShareGPT-style requests', () => {
  const texts = [
    'The river ran fast under the old stone bridge, and the miller counted the sacks twice before dusk. ',
    'In the second year of the drought the village dug a new well, deeper than any their grandparents had known. ',
  ];

  it('length draws pass the vLLM filter and have ShareGPT-like means (≈161 in / ≈338 out)', () => {
    const rng = createPrng('means');
    const draws = Array.from({ length: 40000 }, () => drawShareGptLengths(rng));
    expect(draws.every((d) => passesShareGptFilter(d.promptLen, d.outputLen))).toBe(true);
    expect(Math.abs(mean(draws.map((d) => d.promptLen)) - 161)).toBeLessThan(5);
    expect(Math.abs(mean(draws.map((d) => d.outputLen)) - 338)).toBeLessThan(8);
  });

  it('a batch of 128 is deterministic from the seed, with exact prompt token counts cut from the text', () => {
    const a = syntheticRequests({ numRequests: 128, seed: 11, tokenizer: charTokenizer, texts });
    const b = syntheticRequests({ numRequests: 128, seed: 11, tokenizer: charTokenizer, texts });
    expect(a).toEqual(b);
    expect(a).toHaveLength(128);
    const joined = texts.join('').repeat(40);
    for (const r of a) {
      expect(r.promptIds).toHaveLength(r.promptLen);
      expect(r.promptIds![0]).toBe(BOS);
      expect(charTokenizer.decode(r.promptIds!, { skipSpecial: true })).toBe(r.prompt);
      expect(joined.includes(r.prompt)).toBe(true); // consecutive held-out text, wrapping across texts
      expect(passesShareGptFilter(r.promptLen, r.outputLen)).toBe(true);
      expect(r.ignoreEos).toBe(true);
    }
    expect(syntheticRequests({ numRequests: 128, seed: 12, tokenizer: charTokenizer, texts })).not.toEqual(a);
  });

  it('fixed-length mode is the KIVI protocol: 160 in, 338 out, EOS ignored', () => {
    const reqs = fixedLengthRequests({ numRequests: 4, seed: 0, tokenizer: charTokenizer, texts });
    expect(reqs.map((r) => [r.promptLen, r.outputLen, r.ignoreEos, r.promptIds!.length])).toEqual(Array(4).fill([160, 338, true, 160]));
  });

  it('no held-out text is an error', () => {
    expect(() => syntheticRequests({ numRequests: 1, seed: 0, tokenizer: charTokenizer, texts: [''] })).toThrow(/held-out text/);
  });
});
