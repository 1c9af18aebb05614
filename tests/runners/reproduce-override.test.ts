import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { getWorkload, workloadCatalogue } from '../../src/runs/catalogue.js';
import { loadSuite } from '../../src/suite/load-suite.js';
import { planCells } from '../../src/suite/plan.js';
import { reproduceOverride } from '../../runners/node/reproduce-command.js';
import { nodeSuiteFiles } from '../../runners/node/suite-files.js';

const ROOT = join(import.meta.dirname, '../..');
const DATA = join(ROOT, 'tests/fixtures/longbench/v1');
const PAPER_TASKS = ['lcc', 'repobench-p', 'passage_retrieval_en', 'trec', '2wikimqa', 'gov_report', 'multifieldqa_zh'];

describe('reproduce --longbench', () => {
  for (const file of ['paper.yaml', 'paper-quick.yaml']) {
    it(`${file}: the embedded task set becomes the official data's seven paper tasks, with the suite's limits`, () => {
      const suite = loadSuite(join(ROOT, 'suites', file), nodeSuiteFiles, workloadCatalogue());
      const embedded = suite.workloads.find((w) => w.name === 'longbench-embedded')!;
      const s = reproduceOverride({ longbench: DATA })(suite);
      expect(s.workloads.some((w) => w.name === 'longbench-embedded')).toBe(false);
      const lb = s.workloads.find((w) => w.name === 'longbench')!;
      expect(lb.params.tasks).toEqual(PAPER_TASKS);
      expect(lb.params.dataDir).toBe(DATA);
      expect(lb.params.maxItems).toBe(embedded.params.maxItems);
      expect(lb.params.maxLength).toBe(embedded.params.maxLength);
      // What a run then reads: the official <task>.jsonl files, not the embedded set's.
      expect(getWorkload('longbench')!.dataFiles(lb.params)).toEqual(PAPER_TASKS.map((t) => join(DATA, `${t}.jsonl`)));
      // The Table-1 rows still run on it, and only those.
      const methods = new Set(planCells(s).filter((c) => c.spec.workload === 'longbench').map((c) => c.spec.method));
      expect([...methods].sort()).toEqual(['fp16', 'kivi2', 'minicache+kivi4', 'rtn']);
      // Other workloads are untouched.
      expect(s.workloads.filter((w) => w.name !== 'longbench')).toEqual(suite.workloads.filter((w) => w.name !== 'longbench-embedded'));
    });
  }

  it('refuses a folder that does not exist', () => {
    const suite = loadSuite(join(ROOT, 'suites', 'paper-quick.yaml'), nodeSuiteFiles, workloadCatalogue());
    expect(() => reproduceOverride({ longbench: join(DATA, 'nope') })(suite)).toThrow(/--longbench: no folder/);
  });
});
