import { describe, expect, it } from 'vitest';
import { statSync } from 'node:fs';
import { indexShareGptFile } from '../../runners/node/sharegpt-file.js';
import { readShareGptFile } from '../../runners/node/workload-files.js';
import { parseShareGpt } from '../../src/workloads/sharegpt/parse.js';
import { sampleShareGpt } from '../../src/workloads/sharegpt/sample.js';
import { HarnessError } from '../../src/errors.js';
import { charTokenizer } from './helpers/char-tokenizer.js';

const fixture = (name: string) => new URL(`../fixtures/sharegpt/${name}`, import.meta.url).pathname;

describe('ShareGPT file loading', () => {
  it('takes the first two turns of every record and counts what it skips', () => {
    const r = readShareGptFile(fixture('sharegpt-mini.json'));
    expect(r.total).toBe(19);
    expect(r.skipped).toEqual({ 'not-an-object': 2, 'no-conversations': 1, 'too-few-turns': 2, 'bad-turn': 2, 'invalid-json': 0 });
    expect(r.pairs).toHaveLength(12);
    // taken regardless of who speaks first; the third turn is ignored
    const gptFirst = r.pairs.find((p) => p.id === 'gpt-first')!;
    expect([gptFirst.prompt, gptFirst.completion]).toEqual(['I am ready to help.', 'Summarise this text for me.']);
    // a record without an id is named by its index
    expect(r.pairs.map((p) => p.id)).toContain('#15');
  });

  it('parses the same pairs from an in-memory array', () => {
    const fromFile = readShareGptFile(fixture('sharegpt-mini.json'));
    const mem = parseShareGpt([{ id: 'a', conversations: [{ from: 'human', value: 'p' }, { from: 'gpt', value: 'c' }] }, 7], 'mem');
    expect(mem.pairs).toEqual([{ id: 'a', index: 0, prompt: 'p', completion: 'c' }]);
    expect(mem.skipped['not-an-object']).toBe(1);
    expect(fromFile.pairs[0]).toMatchObject({ id: 'good-0', index: 0 });
  });

  it('skips an element that is not valid JSON, keeps the rest (braces and quotes inside strings)', () => {
    const r = readShareGptFile(fixture('sharegpt-broken-element.json'));
    expect(r.total).toBe(3);
    expect(r.skipped['invalid-json']).toBe(1);
    expect(r.pairs.map((p) => p.id)).toEqual(['ok-1', 'ok-2']);
    expect(r.pairs[1]!.prompt).toBe('Braces {[ in a string ]} and "quotes".');
  });

  it('a file that is not a JSON array is a clear error naming the file', () => {
    expect(() => readShareGptFile(fixture('sharegpt-not-array.json'))).toThrow(HarnessError);
    try {
      readShareGptFile(fixture('sharegpt-not-array.json'));
    } catch (e) {
      expect((e as HarnessError).format()).toMatch(/sharegpt-not-array\.json:1: expected a JSON array .*got an object/);
    }
    expect(() => parseShareGpt({ conversations: [] }, 'x.json')).toThrow(/expected a JSON array/);
  });

  it('a truncated file is an error with the line of the unfinished record', () => {
    expect(() => readShareGptFile(fixture('sharegpt-truncated.json'))).toThrow(/unexpected end of file/);
  });

  it('a missing file says so', () => {
    expect(() => readShareGptFile(fixture('nope.json'))).toThrow(/cannot read/);
  });
});

describe('vLLM ShareGPT sampling', () => {
  const { pairs } = readShareGptFile(fixture('sharegpt-mini.json'));
  // Expected values computed with CPython 3.11: random.seed(seed); random.shuffle(pairs), then
  // vLLM's filter with lengths = characters + 1 (BOS), as this test's tokenizer counts.
  // Shuffled order for seed 0: good-1, good-3, #15, long-total, good-4, short-prompt,
  // short-output, good-2, long-prompt, good-0, good-5, gpt-first.

  it('seed 0, 5 requests: shuffle like Python, drop too long totals, stop at 5', () => {
    const s = sampleShareGpt(pairs, { numRequests: 5, seed: 0, tokenizer: charTokenizer });
    expect(s.requests.map((r) => [r.id, r.promptLen, r.outputLen])).toEqual([
      ['good-1', 27, 54],
      ['good-3', 19, 12],
      ['#15', 31, 19],
      ['good-4', 27, 6],
      ['good-2', 28, 83],
    ]);
    // long-total (1001 + 1101 > 2048), short-prompt ('Hi': 3 < 4), short-output ('No': 3 < 4)
    expect(s.rejected).toEqual({ promptTooShort: 1, outputTooShort: 1, promptTooLong: 0, totalTooLong: 1 });
    expect(s.considered).toBe(8);
    expect(s.exhausted).toBe(false);
    expect(s.requests.every((r) => r.ignoreEos)).toBe(true);
  });

  it('asking for more than there are returns all that pass, flagged exhausted', () => {
    const s = sampleShareGpt(pairs, { numRequests: 100, seed: 0, tokenizer: charTokenizer });
    expect(s.requests.map((r) => r.id)).toEqual(['good-1', 'good-3', '#15', 'good-4', 'good-2', 'good-0', 'good-5', 'gpt-first']);
    expect(s.rejected).toEqual({ promptTooShort: 1, outputTooShort: 1, promptTooLong: 1, totalTooLong: 1 });
    expect(s.exhausted).toBe(true);
  });

  it('another seed gives CPython\'s other order', () => {
    const s = sampleShareGpt(pairs, { numRequests: 4, seed: 3, tokenizer: charTokenizer });
    expect(s.requests.map((r) => r.id)).toEqual(['good-1', 'good-2', 'good-4', 'good-0']);
  });

  it('fixed output length: no output minimum, the total check uses the fixed length', () => {
    const s = sampleShareGpt(pairs, { numRequests: 100, seed: 0, tokenizer: charTokenizer, fixedOutputLen: 338 });
    expect(s.requests.map((r) => [r.id, r.promptLen])).toEqual([
      ['good-1', 27],
      ['good-3', 19],
      ['#15', 31],
      ['long-total', 1001], // 1001 + 338 ≤ 2048 now
      ['good-4', 27],
      ['short-output', 23], // output minimum not checked
      ['good-2', 28],
      ['good-0', 31],
      ['good-5', 27],
      ['gpt-first', 20],
    ]);
    expect(s.requests.every((r) => r.outputLen === 338)).toBe(true);
    expect(() => sampleShareGpt(pairs, { numRequests: 1, tokenizer: charTokenizer, fixedOutputLen: 3 })).toThrow(/too small/);
  });

  it("the project's PRNG shuffle is deterministic and a permutation of the same pass set", () => {
    const a = sampleShareGpt(pairs, { numRequests: 100, seed: 0, tokenizer: charTokenizer, shuffle: 'prng' });
    const b = sampleShareGpt(pairs, { numRequests: 100, seed: 0, tokenizer: charTokenizer, shuffle: 'prng' });
    expect(a.requests).toEqual(b.requests);
    expect(a.requests.map((r) => r.id).sort()).toEqual(['#15', 'good-0', 'good-1', 'good-2', 'good-3', 'good-4', 'good-5', 'gpt-first']);
  });
});

describe('ShareGPT file streamed with bounded memory (indexShareGptFile)', () => {
  it('finds the same records in chunks of any size (1, 7 and 64 bytes), and samples exactly as the whole file parsed at once', async () => {
    const whole = readShareGptFile(fixture('sharegpt-mini.json'));
    for (const chunkBytes of [1, 7, 64]) {
      const source = await indexShareGptFile(fixture('sharegpt-mini.json'), { chunkBytes });
      expect([source.total, source.skipped, source.length]).toEqual([whole.total, whole.skipped, whole.pairs.length]);
      expect(Array.from({ length: source.length }, (_, i) => source.get(i))).toEqual(whole.pairs);
    }
    const source = await indexShareGptFile(fixture('sharegpt-mini.json'), { chunkBytes: 7 });
    for (const seed of [0, 3, 11]) {
      for (const numRequests of [1, 5, 100]) {
        expect(sampleShareGpt(source, { numRequests, seed, tokenizer: charTokenizer })).toEqual(sampleShareGpt(whole.pairs, { numRequests, seed, tokenizer: charTokenizer }));
      }
    }
  });

  it('reads back only the pairs the sampler reaches, and reports its progress in bytes', async () => {
    const seen: number[] = [];
    const source = await indexShareGptFile(fixture('sharegpt-mini.json'), { chunkBytes: 1000, onProgress: (done) => seen.push(done) });
    expect(seen.at(-1)).toBe(statSync(fixture('sharegpt-mini.json')).size);
    expect(seen.length).toBeGreaterThan(3);
    const reads: number[] = [];
    const counted = { ...source, get: (i: number) => (reads.push(i), source.get(i)) };
    const s = sampleShareGpt(counted, { numRequests: 2, seed: 0, tokenizer: charTokenizer });
    expect(s.requests).toHaveLength(2);
    expect(reads).toHaveLength(s.considered);
  });

  it('broken, truncated and non-array files behave as readShareGptFile', async () => {
    const broken = await indexShareGptFile(fixture('sharegpt-broken-element.json'), { chunkBytes: 5 });
    expect([broken.total, broken.skipped['invalid-json'], broken.get(1).prompt]).toEqual([3, 1, 'Braces {[ in a string ]} and "quotes".']);
    await expect(indexShareGptFile(fixture('sharegpt-truncated.json'))).rejects.toThrow(/unexpected end of file/);
    await expect(indexShareGptFile(fixture('sharegpt-not-array.json'))).rejects.toThrow(/expected a JSON array .*got an object/);
    await expect(indexShareGptFile(fixture('nope.json'))).rejects.toThrow(/cannot read/);
  });
});
