import { accuracyVsPaperChart } from '../charts/accuracy.js';
import { chartBlock, CHARTS } from '../charts/index.js';
import type { ReportBlock, ReportSection } from '../model.js';
import { DEFAULT_PAPER_MODEL } from '../paper-numbers.js';
import { accuracyTable, cellsTable, failuresTable, methodSummaryTable } from '../tables/results-tables.js';
import { headlineTable } from '../tables/headline.js';
import { longBenchComparisonTable, paperFig1bTable } from '../tables/paper-tables.js';
import { provenanceBlocks } from '../tables/provenance.js';
import type { Layout } from './types.js';

const present = <T>(xs: (T | null)[]): T[] => xs.filter((x): x is T => x !== null);

/**
 * The paper-reproduction report: the answer first (each claim, ours beside it, verdict and why),
 * then one section per result of the paper, each with its charts and tables, then every cell and
 * provenance. Cells are recognised by method and label (src/report/labels.ts):
 *   Table 1     unlabelled cells with LongBench tasks (lcc, repobench-p, …)
 *   Fig. 5      unlabelled serving cells (decodeTokensPerSecond) over batch; memory-budget mode for equal memory
 *   Fig. 1a     diagnostics.pairs (the similarity workload, or MiniCache's merged pairs)
 *   Ablations   label ablation:<t|gamma|S>=<value>
 *   Merging     label merge:<mean|slerp>, else methods mean-merge and minicache
 */
export const paperLayout: Layout = ({ records, manifest, paperModel = DEFAULT_PAPER_MODEL }) => {
  const section = (id: string, title: string, intro: string, blocks: ReportBlock[]): ReportSection[] => (blocks.length ? [{ id, title, intro, blocks }] : []);
  // Embedded tasks (lcc_heldout, …) copy LongBench's shapes but are other tasks: no paper numbers then.
  const vsPaper = longBenchComparisonTable(records, paperModel) !== null;
  const table1Intro = vsPaper
    ? `Task scores against FP16 and against the paper's ${paperModel} numbers (relative to each one's FP16, since the models differ).`
    : 'Task scores against FP16. None of these tasks is one of the paper\'s LongBench tasks (lcc, repobench-p, passage_retrieval_en, …), so no paper numbers are shown beside them.';
  const headline = headlineTable(records, paperModel);
  return [
    ...(headline ? [{ id: 'headline', title: 'The answer: the paper\'s claims and what this run measured', blocks: [headline] }] : []),
    ...section('table1', 'Table 1 — LongBench', table1Intro, [
      ...chartBlock({ ...CHARTS.accuracyVsPaper, build: (r) => accuracyVsPaperChart(r, paperModel) }, records),
      ...chartBlock(CHARTS.accuracyDelta, records),
      ...present([longBenchComparisonTable(records, paperModel), accuracyTable(records)]),
    ]),
    ...section('fig5', 'Fig. 5 — throughput and memory vs batch', `Batch serving on fixed-length requests; the paper reports ≈5× throughput and −41% memory for 4-bit MiniCache on LLaMA-2-7B (A100).${records.some((r) => r.provenance?.weights === 'dummy') ? ' Models marked "(dummy weights)" ran seeded values in the real model\'s shapes: their throughput and memory are the shapes\' (weights do not change them), their text means nothing.' : ''}`, [
      ...chartBlock(CHARTS.throughputVsBatch, records),
      ...chartBlock(CHARTS.speedupVsBatch, records),
      ...chartBlock(CHARTS.memoryVsBatch, records),
      ...chartBlock(CHARTS.memorySaving, records),
      ...chartBlock(CHARTS.throughputEqualMemory, records),
      ...chartBlock(CHARTS.compression, records),
      ...present([methodSummaryTable(records)]),
    ]),
    ...section('fig1a', 'Fig. 1a — cross-layer similarity', 'Cosine similarity of adjacent layers\' keys and values; high similarity in the deeper half is what makes merging work.', [
      ...chartBlock(CHARTS.similarityVsPaper, records),
      ...chartBlock(CHARTS.similarity, records),
      ...chartBlock(CHARTS.retained, records),
    ]),
    ...section('ablations', 'Ablations over t, γ and S', 'Cells labelled ablation:<param>=<value> (e.g. ablation:t=0.4, ablation:gamma=0.1, ablation:S=12).', [...chartBlock(CHARTS.ablation, records)]),
    ...section('merge-strategy', 'Mean merging vs SLERP', 'Cells labelled merge:mean / merge:slerp, or methods mean-merge and minicache. The paper\'s Fig. 1b for reference.', [
      ...chartBlock(CHARTS.mergeStrategy, records),
      ...(CHARTS.mergeStrategy.build(records) ? [paperFig1bTable()] : []),
    ]),
    ...section('cells', 'All cells', '', present([failuresTable(records, manifest), cellsTable(records)])),
    { id: 'provenance', title: 'Provenance', blocks: provenanceBlocks(records, manifest) },
  ];
};
