import { describe, expect, it } from 'vitest';
import { classificationScore } from '../../src/workloads/metrics/classification.js';
import { normalizeAnswer, normalizeZhAnswer, qaF1Score, qaF1ZhScore } from '../../src/workloads/metrics/qa-f1.js';
import { countScore, retrievalScore, retrievalZhScore } from '../../src/workloads/metrics/retrieval.js';
import { rougeScore, rougeSentences, rougeZhScore } from '../../src/workloads/metrics/rouge.js';
import { LONGBENCH_METRICS } from '../../src/workloads/metrics/index.js';
import { loadJiebaSegmenter } from '../../runners/node/jieba-segmenter.js';

const charSegmenter = (s: string) => Array.from(s);

describe('classification', () => {
  const classes = ['Location', 'Description', 'Entity', 'Human being'];

  it('exact class in the prediction scores 1; two matched classes share the credit', () => {
    expect(classificationScore('Location', 'Location', classes)).toBe(1);
    expect(classificationScore('Location or Entity', 'Location', classes)).toBe(0.5);
  });

  it('dead fuzzy fallback: no class in the prediction scores 0, however close it is', () => {
    // The original's unreachable SequenceMatcher fallback would have picked "Location" here.
    expect(classificationScore('locaton', 'Location', classes)).toBe(0);
    expect(classificationScore('', 'Location', classes)).toBe(0);
  });

  it('removes gold-substring matches while iterating, skipping the element after each removal', () => {
    // matches = [a, ab, abc, b]; i=0 removes 'a' → [ab, abc, b]; i=1 is 'abc' (kept: equals gold);
    // i=2 removes 'b' → [ab, abc]. 'ab' was skipped, so the score is 1/2, not 1.
    expect(classificationScore('abc', 'abc', ['a', 'ab', 'abc', 'b'])).toBe(0.5);
  });

  it('a gold label absent from the matches scores 0 even with other matches', () => {
    expect(classificationScore('Entity', 'Location', classes)).toBe(0);
  });
});

describe('retrieval and count', () => {
  it('scores the fraction of integers in the prediction equal to the gold paragraph id', () => {
    expect(retrievalScore('Paragraph 3', 'Paragraph 3')).toBe(1);
    expect(retrievalScore('Paragraph 3, or maybe Paragraph 12', 'Paragraph 3')).toBe(0.5);
    expect(retrievalScore('Paragraph 30 and 3 and 3', 'Paragraph 3')).toBeCloseTo(2 / 3, 15);
    expect(retrievalScore('no idea', 'Paragraph 3')).toBe(0);
  });

  it('counts every Unicode decimal run, as Python\'s \\d does', () => {
    // full-width ３ is a number (so it dilutes) but is not equal to '3'
    expect(retrievalScore('3 or ３', 'Paragraph 3')).toBe(0.5);
  });

  it('retrieval_zh takes the id from 段落N', () => {
    expect(retrievalZhScore('答案是段落7', '段落7')).toBe(1);
    expect(retrievalZhScore('段落7和段落8', '段落7')).toBe(0.5);
  });

  it('a gold answer without the pattern is a clear error', () => {
    expect(() => retrievalScore('1', 'Para 1')).toThrow(/Paragraph/);
  });

  it('count compares with the gold number itself', () => {
    expect(countScore('There are 5 unique paragraphs out of 12', '5')).toBe(0.5);
    expect(countScore('5', 5)).toBe(1);
    expect(countScore('five', '5')).toBe(0);
  });
});

describe('qa_f1', () => {
  it('normalises: lowercase, ASCII punctuation, articles, whitespace', () => {
    expect(normalizeAnswer('The  Eiffel-Tower!')).toBe('eiffeltower');
    expect(normalizeAnswer('An apple, a pear;\tthe end')).toBe('apple pear end');
  });

  it('article boundaries are Unicode-aware like Python re (é is a word character)', () => {
    expect(normalizeAnswer('éa 2a a2 a')).toBe('éa 2a a2');
    expect(normalizeAnswer('théâtre anthem the\u00a0a')).toBe('théâtre anthem');
  });

  it('multiset F1', () => {
    expect(qaF1Score('The Eiffel Tower!', 'eiffel tower')).toBe(1);
    // [apple, and, banana] vs [banana]: P = 1/3, R = 1, F1 = 2·(1/3)/(4/3) = 0.5
    expect(qaF1Score('an apple and a banana', 'Banana')).toBe(0.5);
    // [paris, paris] vs [paris]: overlap min(2,1) = 1, P = 1/2, R = 1 → 2/3
    expect(qaF1Score('Paris paris', 'Paris')).toBeCloseTo(2 / 3, 15);
    expect(qaF1Score('London', 'Paris')).toBe(0);
    expect(qaF1Score('', 'Paris')).toBe(0);
  });

  it('qa_f1_zh normalises each segment and drops the empty ones', () => {
    expect(normalizeZhAnswer('北京，  ABC。')).toBe('北京abc');
    expect(qaF1ZhScore('北京。', '北京', charSegmenter)).toBe(1);
    // chars [上, 海] vs [北, 京] → no overlap
    expect(qaF1ZhScore('上海', '北京', charSegmenter)).toBe(0);
  });

  it('zh metrics without a segmenter fail with a message saying what to pass', () => {
    expect(() => LONGBENCH_METRICS.qa_f1_zh('a', 'b', {})).toThrow(/segmenter/);
  });
});

describe('rouge (pltrdy ROUGE-L summary level)', () => {
  it("splits sentences on '.', collapsing whitespace, dropping zero-length pieces only", () => {
    expect(rougeSentences('the cat sat. the  dog ran.')).toEqual(['the cat sat', 'the dog ran']);
    expect(rougeSentences('a. .b')).toEqual(['a', '', 'b']);
    expect(rougeSentences('...')).toEqual([]);
  });

  it('union LCS over sentences with distinct-word counts', () => {
    // hyp sentences [the cat sat], [the dog ran]; ref [the cat ran].
    // m = |{the,cat,ran}| = 3, n = |{the,cat,sat,dog,ran}| = 5.
    // LCS(ref, hyp1) = the cat; LCS(ref, hyp2) = the ran; union = {the, cat, ran} = 3.
    // R = 1, P = 3/5 → F = 2·(0.6·1)/(1.6 + 1e-8).
    expect(rougeScore('the cat sat. the dog ran', 'the cat ran')).toBe(2.0 * ((0.6 * 1) / (0.6 + 1 + 1e-8)));
  });

  it('set semantics: repeated words count once', () => {
    // m = n = 1, overlap 1 → F = 2·1/(2 + 1e-8), not the 2/3 a multiset count would give.
    expect(rougeScore('a a a a', 'a a')).toBe(2.0 * (1 / (2 + 1e-8)));
  });

  it('no case folding', () => {
    expect(rougeScore('The Cat', 'the cat')).toBe(0);
  });

  it('empty or all-dot predictions raise in pltrdy and score 0', () => {
    expect(rougeScore('', 'the cat')).toBe(0);
    expect(rougeScore('...', 'the cat')).toBe(0);
    expect(rougeScore('the cat', '')).toBe(0);
  });

  it("CPython's recursion limit: a reconstruction path over ~990 steps scores 0", () => {
    const w = Array.from({ length: 600 }, (_, i) => `w${i}`);
    const v = Array.from({ length: 500 }, (_, i) => `v${i}`);
    const ref = w.join(' ');
    // path from (600, 1100): 500 steps left over the v's, then 600 diagonal = 1100 > 989
    const longPath = [...w, ...v].join(' ');
    expect(rougeScore(longPath, ref)).toBe(0);
    const p = 600 / 1100;
    expect(rougeScore(longPath, ref, { maxRecursionDepth: null })).toBe(2.0 * ((p * 1) / (p + 1 + 1e-8)));
    // the same words with the v's first: 600 diagonal steps reach i = 0, within the limit
    const shortPath = [...v, ...w].join(' ');
    expect(rougeScore(shortPath, ref)).toBe(2.0 * ((p * 1) / (p + 1 + 1e-8)));
  });

  it('rouge_zh segments, joins with spaces, then scores', () => {
    // chars: hyp [今,天,好], ref [今,天]; m = 2, n = 3, overlap 2 → P = 2/3, R = 1
    const p = 2 / 3;
    expect(rougeZhScore('今天好', '今天', charSegmenter)).toBe(2.0 * ((p * 1) / (p + 1 + 1e-8)));
  });
});

describe('jieba segmenter', () => {
  it('segments like jieba.cut with HMM, and qa_f1_zh scores over its tokens', () => {
    const seg = loadJiebaSegmenter();
    expect(seg('我们去公园')).toEqual(['我们', '去', '公园']);
    expect(qaF1ZhScore('我们去公园。', '我们去公园', seg)).toBe(1);
    // Python splits "400-820" into 400 / - / 820 ("-" normalises away): P = 1, R = 1/2.
    expect(qaF1ZhScore('400', '400-820', seg)).toBeCloseTo(2 / 3, 12);
  });
});
