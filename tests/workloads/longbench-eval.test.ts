import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadJiebaSegmenter } from '../../runners/node/jieba-segmenter.js';
import { LONGBENCH_TASKS, longBenchTask } from '../../src/workloads/longbench/config.js';
import { evaluatePredictions, resultJson, type PredictionFile } from '../../src/workloads/longbench/eval.js';
import { scoreByLength, scoreItem, taskScore } from '../../src/workloads/longbench/score.js';
import { numpyMean, numpyPairwiseSum, numpyRound } from '../../src/workloads/numpy-float.js';
import { pyFloatRepr } from '../../src/workloads/py-format.js';
import { pyRound } from '../../src/workloads/py-round.js';

interface NumpyGolden {
  means: { scores: number[]; sum: number; mean: number | null; score: number | null }[];
  /** [x, round(np.float64(x), 2), Python round(x, 2)] */
  rounds: [number, number, number][];
}
// Made by numpy itself (tests/fixtures/longbench/make-numpy-golden.py).
const numpy = JSON.parse(readFileSync(new URL('../fixtures/longbench/numpy-golden.json', import.meta.url), 'utf8')) as NumpyGolden;
const segment = loadJiebaSegmenter();

const line = (pred: string, answers: string[], length = 100, allClasses: string[] | null = null) => JSON.stringify({ pred, answers, all_classes: allClasses, length });
const file = (name: string, ...lines: string[]): PredictionFile => ({ name, text: `${lines.join('\n')}\n` });

describe('numpy arithmetic of LongBench-E (np.mean, round of an np.float64)', () => {
  it('sums pairwise and rounds as numpy, including where Python would round the other way', () => {
    for (const m of numpy.means) {
      expect(numpyPairwiseSum(m.scores)).toBe(m.sum);
      if (m.mean === null) expect(numpyMean(m.scores)).toBeNaN();
      else {
        expect(numpyMean(m.scores)).toBe(m.mean);
        expect(numpyRound(100 * numpyMean(m.scores), 2)).toBe(m.score);
      }
    }
    const differ = numpy.rounds.filter(([, np, py]) => np !== py);
    expect(differ.length).toBeGreaterThan(0);
    for (const [x, np] of numpy.rounds) expect(numpyRound(x, 2), String(x)).toBe(np);
  });

  it('LongBench-E bucket scores of the workload use it (a sequential sum with Python rounding differs on some)', () => {
    const sequential = (xs: number[]) => pyRound((100 * xs.reduce((a, b) => a + b, 0)) / xs.length, 2);
    const full = numpy.means.filter((m) => m.score !== null);
    expect(full.some((m) => sequential(m.scores) !== m.score)).toBe(true);
    for (const m of full) expect(scoreByLength(m.scores, m.scores.map(() => 10))['0-4k']).toEqual({ score: m.score, n: m.scores.length });
  });
});

describe("Python float repr (json.dump's numbers)", () => {
  it('lays out digits as Python does', () => {
    const cases: [number, string][] = [[40, '40.0'], [12.34, '12.34'], [0, '0.0'], [100, '100.0'], [0.01, '0.01'], [0.0001, '0.0001'], [0.00001, '1e-05'],
      [1.5e-7, '1.5e-07'], [1e16, '1e+16'], [1234567890123456, '1234567890123456.0'], [-2.5, '-2.5'], [NaN, 'NaN'], [123.456, '123.456']];
    for (const [x, s] of cases) expect(pyFloatRepr(x)).toBe(s);
  });
});

describe("eval.py over a prediction folder", () => {
  it('scores every file as eval.py: best over answers, first line for trec, the last line\'s all_classes for every item', () => {
    const results = evaluatePredictions([
      file('hotpotqa.jsonl', line('Paris', ['Paris', 'London']), line('the city of London', ['London'])),
      file('trec.jsonl', line('\nNumber\nLocation', ['Number'], 100, ['X']), line('Location', ['Location'], 100, ['Number', 'Location'])),
      file('dureader.jsonl', line('价格在400-820元之间', ['价格为400元'])),
      file('notes.txt', 'ignored'),
    ], { segment });
    expect(results.map((r) => r.task)).toEqual(['dureader', 'hotpotqa', 'trec']);
    const hot = longBenchTask('hotpotqa');
    expect(results[1]).toEqual({ task: 'hotpotqa', file: 'hotpotqa.jsonl', n: 2, score: taskScore([scoreItem(hot, 'Paris', { answers: ['Paris', 'London'] }), scoreItem(hot, 'the city of London', { answers: ['London'] })]) });
    // trec: "\nNumber\nLocation" → "Number"; both items scored with the last line's classes → 100.
    expect(results[2]).toMatchObject({ score: 100 });
    expect(results[0]).toMatchObject({ score: taskScore([scoreItem(longBenchTask('dureader'), '价格在400-820元之间', { answers: ['价格为400元'] }, { segment })]) });
  });

  it('writes result.json as json.dump(indent=4): Python floats, NaN for an empty LongBench-E bucket, no newline at the end', () => {
    const plain = evaluatePredictions([file('passage_count.jsonl', line('3', ['3']), line('4', ['3'])), file('lcc.jsonl', line('x = 1', ['x = 1']))]);
    expect(resultJson(plain)).toBe('{\n    "lcc": 100.0,\n    "passage_count": 50.0\n}');
    const e = evaluatePredictions([file('passage_count.jsonl', line('3', ['3'], 100), line('4', ['3'], 9000), line('3', ['3'], 12000))], { e: true });
    expect(resultJson(e)).toBe('{\n    "passage_count": {\n        "0-4k": 100.0,\n        "4-8k": NaN,\n        "8k+": 50.0\n    }\n}');
  });

  it('covers all 21 tasks of LongBench v1', () => {
    const gold = (t: string) => ({ passage_retrieval_zh: '段落1', passage_count: '1' })[t] ?? 'Paragraph 1';
    const files = LONGBENCH_TASKS.map((t) => file(`${t}.jsonl`, line(gold(t), [gold(t)], 100, [gold(t)])));
    const r = evaluatePredictions(files, { segment });
    expect(r.map((x) => x.task).sort()).toEqual([...LONGBENCH_TASKS].sort());
    expect(r.length).toBe(21);
    for (const x of r) expect('score' in x && x.score, x.task).toBe(100);
  });

  it('lists every problem at once, with file, line and field', () => {
    const problemsOf = (files: PredictionFile[], e = false) => {
      try {
        evaluatePredictions(files, { e });
      } catch (err) {
        return (err as Error).message;
      }
      return '';
    };
    const msg = problemsOf([
      file('hotpotqa.jsonl', line('a', ['a']), '{not json', JSON.stringify({ pred: 1, answers: 'x', all_classes: null })),
      file('nosuchtask.jsonl', line('a', ['a'])),
      file('lcc.jsonl', JSON.stringify({ pred: 'a', answers: ['a'], all_classes: null })),
    ], true);
    expect(msg).toMatch(/^6 problems/);
    expect(msg).toContain('hotpotqa.jsonl:2: not valid JSON');
    expect(msg).toContain('hotpotqa.jsonl:3 pred: expected a string');
    expect(msg).toContain('hotpotqa.jsonl:3 answers: expected an array of strings');
    expect(msg).toContain('hotpotqa.jsonl:3 length: expected a number');
    expect(msg).toContain('nosuchtask.jsonl: "nosuchtask" is not a LongBench task');
    expect(msg).toContain('lcc.jsonl:1 length: expected a number');
    // What eval.py would crash on while scoring is named by file and line too.
    expect(problemsOf([file('passage_retrieval_en.jsonl', line('a', ['Paragraph 2']), line('a', ['no number']))])).toMatch(/^1 problem in the predictions:\n {2}passage_retrieval_en\.jsonl:2: retrieval: gold answer "no number" has no Paragraph/);
  });
});
