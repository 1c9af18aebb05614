import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readEmbeddedTask, readHeldoutFile } from '../../runners/node/workload-files.js';
import { buildEmbeddedTaskSet } from '../../src/workloads/embedded/build.js';
import { EMBEDDED_TASKS, embeddedTask, isPerplexityTask } from '../../src/workloads/embedded/specs.js';
import { isCodeSimLine, passagesOf } from '../../src/workloads/embedded/text-units.js';
import { parseLongBenchRecord } from '../../src/workloads/longbench/record.js';
import { buildPrompt } from '../../src/workloads/longbench/prompt.js';
import { scoreTask } from '../../src/workloads/longbench/score.js';
import { corpusPerplexity, pairedCorpusPerplexityDiff, perplexity } from '../../src/workloads/perplexity.js';

const fx = (name: string) => new URL(`../fixtures/longbench/heldout/${name}`, import.meta.url).pathname;
const prose = readHeldoutFile(fx('prose.jsonl'));
const code = readHeldoutFile(fx('code.jsonl'));
const labels = { tales: 'tale', reports: 'report' };
const build = (seed: number) => buildEmbeddedTaskSet(prose, code, { seed, items: 6, documents: 2, labels });

describe('embedded LongBench-format task set', () => {
  const set = build(0);

  it('is deterministic from the seed', () => {
    expect(build(0)).toEqual(set);
    expect(build(1)).not.toEqual(set);
  });

  it('makes every configured task, in the official record shape', () => {
    expect(Object.keys(set).sort()).toEqual([...EMBEDDED_TASKS].sort());
    for (const [task, records] of Object.entries(set)) {
      const spec = embeddedTask(task);
      expect(records).toHaveLength(isPerplexityTask(spec) ? 2 : 6);
      for (const r of records) {
        expect(parseLongBenchRecord(JSON.parse(JSON.stringify(r)), { file: task }, { expectDataset: task, allowNoAnswers: isPerplexityTask(spec) })).toEqual(r);
        expect(Object.keys(r).sort()).toEqual(['_id', 'all_classes', 'answers', 'context', 'dataset', 'input', 'language', 'length']);
        expect(buildPrompt(spec, r)).toContain(r.context);
      }
    }
  });

  it('lcc: the answer is the source line right after the context, a line code_sim would accept', () => {
    for (const r of set.lcc_heldout!) {
      const [gold] = r.answers;
      expect(isCodeSimLine(gold!)).toBe(true);
      expect(code.some((d) => d.text.includes(r.context + gold))).toBe(true);
      expect(r.context.endsWith('\n')).toBe(true);
      expect(r.context.length).toBeGreaterThanOrEqual(1200);
    }
  });

  it('passage retrieval: the excerpt is in the answer paragraph and in no other', () => {
    for (const r of set.passage_retrieval_heldout!) {
      const paras = r.context.split('\n\n');
      expect(paras).toHaveLength(8);
      paras.forEach((p, i) => expect(p.startsWith(`Paragraph ${i + 1}: `)).toBe(true));
      const n = Number(/^Paragraph (\d)$/.exec(r.answers[0]!)![1]);
      paras.forEach((p, i) => expect(p.includes(r.input)).toBe(i === n - 1));
    }
  });

  it('passage count: the answer is the number of distinct paragraphs', () => {
    for (const r of set.passage_count_heldout!) {
      const texts = r.context.split('\n\n').map((p) => p.replace(/^Paragraph \d+: /, ''));
      expect(r.answers).toEqual([String(new Set(texts).size)]);
      expect(texts.length).toBeGreaterThan(new Set(texts).size); // at least one duplicate
    }
  });

  it('source classification: labelled examples, a query to complete, the gold among all_classes', () => {
    for (const r of set.source_classification_heldout!) {
      expect(r.all_classes).toEqual(['report', 'tale']);
      expect(r.all_classes).toContain(r.answers[0]);
      expect(r.input).toMatch(/^Passage: .*\nSource:$/s);
      expect(r.context.match(/\nSource: (tale|report)\n/g)).toHaveLength(12);
    }
  });

  it('long documents: a window of one held-out document, thousands of characters', () => {
    for (const r of set.longdoc_ppl_heldout!) {
      expect(r.answers).toEqual([]);
      expect(r.context.length).toBeGreaterThanOrEqual(8000);
      expect([...prose, ...code].some((d) => d.text.includes(r.context))).toBe(true);
    }
  });

  it('scores with the LongBench metrics: gold predictions score 100, empty ones 0', () => {
    for (const task of EMBEDDED_TASKS) {
      const spec = embeddedTask(task);
      if (isPerplexityTask(spec)) continue;
      const recs = set[task]!;
      expect(scoreTask(spec, recs.map((r) => r.answers[0]!), recs).score).toBe(100);
      expect(scoreTask(spec, recs.map(() => ''), recs).score).toBe(0);
    }
  });

  it('passages come from sentences even without blank lines', () => {
    const ps = passagesOf([{ source: 's', text: 'One two three four five. Six seven eight nine ten. Eleven twelve thirteen fourteen.' }], { minWords: 4, maxWords: 10 });
    expect(ps.map((p) => p.text)).toEqual(['One two three four five. Six seven eight nine ten.', 'Eleven twelve thirteen fourteen.']);
  });
});

describe('perplexity', () => {
  it('is exp of the mean NLL, token-weighted over documents', () => {
    expect(perplexity({ sum: 2 * Math.log(4), count: 2 })).toBeCloseTo(4, 12);
    // docs with NLL/token ln 2 (10 tokens) and ln 8 (30 tokens): exp((10 ln2 + 30 ln8)/40) = 2^2.5
    expect(corpusPerplexity([{ sum: 10 * Math.log(2), count: 10 }, { sum: 30 * Math.log(8), count: 30 }])).toBeCloseTo(2 ** 2.5, 10);
    expect(() => perplexity({ sum: 0, count: 0 })).toThrow(/no scored tokens/);
  });

  it('paired difference to FP16: corpus perplexities of the same resampled documents, so identical runs differ by exactly 0', () => {
    const fp16 = [{ sum: 20, count: 10 }, { sum: 60, count: 30 }, { sum: 5, count: 10 }, { sum: 40, count: 10 }];
    const worse = fp16.map((d) => ({ sum: d.sum + 0.1 * d.count, count: d.count }));
    expect(pairedCorpusPerplexityDiff(fp16, fp16, { seed: 1, resamples: 500 })).toMatchObject({ estimate: 0, lo: 0, hi: 0 });
    const d = pairedCorpusPerplexityDiff(worse, fp16, { seed: 1, resamples: 500 });
    expect(d.estimate).toBeCloseTo(corpusPerplexity(worse) - corpusPerplexity(fp16), 12);
    expect(d.lo).toBeGreaterThan(0); // every resample is worse by e^0.1 per token
    expect(() => pairedCorpusPerplexityDiff(worse, fp16.slice(1), { seed: 1 })).toThrow(/4 documents but 3/);
  });
});

describe('committed embedded data (data/embedded-longbench)', () => {
  const dir = new URL('../../data/embedded-longbench', import.meta.url).pathname;
  const heldout = new URL('../../models/minillama-12l/heldout', import.meta.url).pathname;
  const manifestFile = `${dir}/manifest.json`;

  it('every task file reads and validates', () => {
    for (const task of EMBEDDED_TASKS) expect(readEmbeddedTask(dir, task).records.length).toBeGreaterThan(0);
  });

  it('regenerates byte for byte from the held-out split (else: rerun ci/make-embedded-tasks)', () => {
    const m = JSON.parse(readFileSync(manifestFile, 'utf8'));
    const set = buildEmbeddedTaskSet(readHeldoutFile(`${heldout}/prose.jsonl`), readHeldoutFile(`${heldout}/code.jsonl`), { seed: m.seed, items: m.items, documents: m.documents });
    for (const [task, records] of Object.entries(set)) {
      expect(records.map((r) => JSON.stringify(r)).join('\n') + '\n', task).toBe(readFileSync(`${dir}/${task}.jsonl`, 'utf8'));
    }
  });
});
