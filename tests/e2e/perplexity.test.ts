import { join } from 'node:path';
import { expect, it } from 'vitest';
import { cliAsync, readResults, ROOT, tempDir, writeSuite } from './cli-helpers.js';
import { describeWith, PARTS } from '../support/parts.js';

const suite = (text: string) => `name: ppl
seed: 0
repeats: 1
warmup: 0
models:
  - card: ${join(ROOT, 'models/minillama-12l')}
methods: [fp16, kivi2, minicache]
workloads:
  - name: perplexity
    batch: 2
    params: { text: ${text}, documents: 3, prefixLen: 64, scoredLen: 48 }
`;

type Rec = {
  cell: { method: string };
  metrics: { perplexity: number; perplexityDocumentMean: number; scoredTokens: number };
  tasks: { task: string; score: number; items: number[]; deltaVsFp16?: { mean: number; lo: number; hi: number } }[];
};

describeWith([PARTS.cli], 'perplexity cells', () => {
  it('report the corpus perplexity (token-weighted) as the headline, the per-document mean beside it, and a paired difference to FP16 with a CI', async () => {
    const dir = tempDir();
    const r = await cliAsync(['run', writeSuite(dir, suite('model:heldout/prose.jsonl')), '--out', join(dir, 'out'), '-q']);
    expect(r.code, r.stderr).toBe(0);
    const recs = readResults<Rec>(join(dir, 'out'));
    const by = (m: string) => recs.find((x) => x.cell.method === m)!;
    for (const x of recs) {
      const t = x.tasks[0]!;
      expect(t.score).toBe(Math.round(x.metrics.perplexity * 100) / 100);
      expect(x.metrics.scoredTokens).toBe(3 * 48);
      // Equal token counts per document: the corpus value is the geometric mean of the documents'.
      const geo = Math.exp(t.items.reduce((a, p) => a + Math.log(p), 0) / t.items.length);
      expect(x.metrics.perplexity).toBeCloseTo(geo, 9);
      expect(x.metrics.perplexityDocumentMean).toBeCloseTo(t.items.reduce((a, b) => a + b, 0) / 3, 9);
      expect(x.metrics.perplexity).toBeLessThan(x.metrics.perplexityDocumentMean);
    }
    expect(by('fp16').tasks[0]!.deltaVsFp16).toBeUndefined();
    for (const m of ['kivi2', 'minicache']) {
      const d = by(m).tasks[0]!.deltaVsFp16!;
      expect(d.mean).toBeCloseTo(by(m).metrics.perplexity - by('fp16').metrics.perplexity, 9);
      expect(d.lo).toBeLessThanOrEqual(d.mean);
      expect(d.hi).toBeGreaterThanOrEqual(d.mean);
    }
  }, 180_000);

  it("runs the embedded set's long-document task (LongBench-format {context} records)", async () => {
    const dir = tempDir();
    const r = await cliAsync(['run', writeSuite(dir, suite('project:data/embedded-longbench/longdoc_ppl_heldout.jsonl')), '--out', join(dir, 'out'), '-q']);
    expect(r.code, r.stderr).toBe(0);
    const recs = readResults<Rec>(join(dir, 'out'));
    expect(recs.map((x) => x.tasks[0]!.items.length)).toEqual([3, 3, 3]);
    expect(recs.every((x) => Number.isFinite(x.metrics.perplexity) && x.metrics.perplexity > 1)).toBe(true);
  }, 180_000);
});
