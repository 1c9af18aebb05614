import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SequenceMatcher, sequenceRatio } from '../../src/workloads/metrics/sequence-matcher.js';
import { codeSimScore, firstCodeLine, fuzzRatio } from '../../src/workloads/metrics/code-sim.js';

describe('SequenceMatcher (difflib)', () => {
  it("ratio('abcd', 'bcde') = 2·3/8 = 0.75", () => {
    expect(sequenceRatio('abcd', 'bcde')).toBe(0.75);
  });

  it('finds the earliest longest block and recurses on both sides', () => {
    // 'ab' + 'xyz' + 'cd' vs 'ab' + 'cd': blocks ab (0,0,2) then cd (5,2,2)
    const m = new SequenceMatcher(Array.from('abxyzcd'), Array.from('abcd'));
    expect(m.getMatchingBlocks()).toEqual([
      { a: 0, b: 0, size: 2 },
      { a: 5, b: 2, size: 2 },
      { a: 7, b: 4, size: 0 },
    ]);
    expect(m.ratio()).toBe(8 / 11);
  });

  it('autojunk drops popular elements of a 200+ item b from the index', () => {
    // b = 199 × 'a' + 'b': 'a' occurs 199 > 200//100 + 1 = 3 times, so it is never an anchor.
    // The only anchor left is 'b' (a[0], b[199]); nothing extends it, so M = 1: ratio 2/211.
    // Without autojunk the 10 a's match: 20/211.
    const a = 'b' + 'a'.repeat(10);
    const b = 'a'.repeat(199) + 'b';
    expect(sequenceRatio(a, b)).toBe(2 / 211);
    expect(sequenceRatio(a, b, false)).toBe(20 / 211);
    expect([...new SequenceMatcher(Array.from(a), Array.from(b)).popular]).toEqual(['a']);
  });

  it('extension loops still match purged popular elements next to an anchor', () => {
    // 'a' is popular in b (n = 200) but the block grows over it from the anchor 'b'.
    const b = 'b' + 'a'.repeat(199);
    expect(sequenceRatio('baaa', b)).toBe((2 * 4) / 204);
  });

  it('both empty → 1.0 (difflib), and code points, not UTF-16 units', () => {
    expect(sequenceRatio('', '')).toBe(1);
    expect(sequenceRatio('😀a', '😀b')).toBe(0.5); // T = 4 code points, M = 1
  });

  it('matches CPython 3.11 difflib on golden cases (random, edited copies, 200+ items, astral)', () => {
    const golden = JSON.parse(readFileSync(new URL('../fixtures/longbench/difflib-golden.json', import.meta.url), 'utf8')) as {
      cases: { a: string; b: string; ratio: number; ratioNoAutojunk: number; blocks: number[][]; fuzz: number }[];
    };
    expect(golden.cases.length).toBeGreaterThan(100);
    for (const c of golden.cases) {
      const m = new SequenceMatcher(Array.from(c.a), Array.from(c.b));
      expect(m.getMatchingBlocks().map((x) => [x.a, x.b, x.size])).toEqual(c.blocks);
      expect(m.ratio()).toBe(c.ratio);
      expect(sequenceRatio(c.a, c.b, false)).toBe(c.ratioNoAutojunk);
      if (c.a !== c.b && c.a && c.b) expect(fuzzRatio(c.a, c.b)).toBe(c.fuzz);
    }
  });
});

describe('fuzz.ratio and code_sim', () => {
  it("rounds ties to even like Python's round: 12.5 → 12, 37.5 → 38", () => {
    // one matching character out of 16 → 100·2/16 = 12.5
    expect(fuzzRatio('abcdefgh', 'hijklmno')).toBe(12);
    // three out of 16 ('abc' vs 'abc' + 5 other chars each side) → 37.5
    expect(fuzzRatio('abcdefgh', 'abcijklm')).toBe(38);
  });

  it('equal strings give 100 before the empty check; one empty gives 0', () => {
    expect(fuzzRatio('', '')).toBe(100);
    expect(fuzzRatio('', 'x')).toBe(0);
  });

  it('levenshtein backend is the indel ratio 2·LCS/T', () => {
    // 'abcd' vs 'acbd': difflib M = 3 (a, c|b, d) → 75; LCS = 3 too → 75
    expect(fuzzRatio('abcd', 'acbd', 'levenshtein')).toBe(75);
    // 'ab' + 'x'*3 vs 'x'*3 + 'ab': difflib takes 'xxx' (3) then nothing → 60; LCS = 3 → 60
    expect(fuzzRatio('abxxx', 'xxxab', 'levenshtein')).toBe(60);
    // Where the backends differ: difflib anchors on the first longest block 'a' (a[0], b[2]) and
    // finds nothing either side of it, M = 1 → 2/6 → 33; the LCS is 'ca' (2) → 4/6 → 67.
    expect(fuzzRatio('aca', 'cba')).toBe(33);
    expect(fuzzRatio('aca', 'cba', 'levenshtein')).toBe(67);
  });

  it('uses the first line without ` # or // after leading newlines', () => {
    const pred = '\n\n# set up\n```python\nx = compute(a) // 2\nreturn x + 1\nmore';
    expect(firstCodeLine(pred)).toBe('return x + 1');
    expect(codeSimScore(pred, 'return x + 1')).toBe(1);
    expect(firstCodeLine('# only a comment')).toBe('');
    expect(codeSimScore('# only a comment', 'return x')).toBe(0);
  });

  it('a leading blank line that is not a newline counts as the first line', () => {
    // lstrip('\n') keeps '  \n…', and '  ' has none of the markers: it is the line compared,
    // matching one space of 'return x': 2·1/(2 + 8) = 0.2.
    expect(firstCodeLine('  \nreturn x')).toBe('  ');
    expect(codeSimScore('  \nreturn x', 'return x')).toBe(0.2);
  });
});
