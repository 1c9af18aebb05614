import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadJiebaSegmenter } from '../../runners/node/jieba-segmenter.js';
import { jiebaFromData, parseJiebaDict } from '../../src/workloads/jieba/model.js';

interface Golden {
  generator: string;
  cases: { text: string; tokens: string[] }[];
}
// Made by Python jieba 0.42.1 itself (tests/fixtures/longbench/make-jieba-golden.py).
const golden = JSON.parse(readFileSync(new URL('../fixtures/longbench/jieba-golden.json', import.meta.url), 'utf8')) as Golden;

describe('Chinese segmentation as Python jieba 0.42.1', () => {
  it('segments every fixture string exactly as Python did', () => {
    expect(golden.generator).toMatch(/jieba 0\.42\.1/);
    expect(golden.cases.length).toBeGreaterThan(400);
    const seg = loadJiebaSegmenter();
    const wrong = golden.cases.filter((c) => JSON.stringify(seg(c.text)) !== JSON.stringify(c.tokens));
    expect(wrong.map((c) => ({ text: c.text, ours: seg(c.text), python: c.tokens }))).toEqual([]);
  });

  it('splits alphanumeric runs on hyphens and plus signs as finalseg does (escaped dot), where jieba-rs keeps them whole', () => {
    const seg = loadJiebaSegmenter();
    expect(seg('价格在400-820元之间')).toEqual(['价格', '在', '400', '-', '820', '元', '之间']);
    expect(seg('COVID-19疫情')).toEqual(['COVID', '-', '19', '疫情']);
    expect(seg('按Ctrl+3切换')).toEqual(['按', 'Ctrl', '+', '3', '切换']);
    expect(seg('比例为1-1.5倍')).toEqual(['比例', '为', '1', '-', '1.5', '倍']);
  });

  it('keeps astral and unusual whitespace characters whole, one token each', () => {
    const seg = loadJiebaSegmenter();
    expect(seg('生僻字𠀀😀')).toEqual(['生僻字', '𠀀', '😀']);
    expect(seg('甲\r\n乙\u3000丙')).toEqual(['甲', '\r\n', '乙', '\u3000', '丙']);
  });

  it('refuses dictionary and model files that do not belong together, naming the file and line', () => {
    expect(() => parseJiebaDict('好 3 a\nbad-line\n')).toThrow(expect.objectContaining({ location: expect.objectContaining({ file: 'data/jieba/dict.txt.gz', line: 2 }) }));
    const model = JSON.stringify({ total: 4, logTotal: 1, logFreq: [[1, 0]], minFloat: -1, start: {}, trans: {}, emit: {} });
    expect(() => jiebaFromData('好 3\n', model)).toThrow(/total 4 does not match/);
    expect(() => jiebaFromData('好 4\n', model)).toThrow(/no logarithm for frequency 4/);
  });
});
