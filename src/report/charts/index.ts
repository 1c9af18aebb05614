import type { CellResult } from '../../results/record.js';
import type { ChartBlock, VegaLiteSpec } from '../model.js';
import { ablationChart, mergeStrategyChart } from './ablation.js';
import { accuracyDeltaChart, accuracyVsPaperChart } from './accuracy.js';
import { compressionChart } from './compression.js';
import { memorySavingChart, memoryVsBatchChart } from './memory.js';
import { retainedChart, similarityChart, similarityVsPaperChart } from './similarity.js';
import { speedupVsBatchChart, throughputEqualMemoryChart, throughputVsBatchChart } from './throughput.js';

/** A chart: a pure function of the records, null when the records hold nothing for it. */
export interface ChartDef {
  id: string;
  title: string;
  caption: string;
  build(records: readonly CellResult[]): VegaLiteSpec | null;
}

export const CHARTS = {
  compression: {
    id: 'compression',
    title: 'Compression ratio and bytes by component',
    caption: 'Ratio = FP16 bytes ÷ bytes actually held (every overhead counted), at the longest sequence measured per method. Grey bars: the paper\'s reported ratios (LLaMA-2-7B / -Chat).',
    build: compressionChart,
  },
  throughputVsBatch: {
    id: 'throughput-vs-batch',
    title: 'Decode throughput vs batch',
    caption: 'Median of the timed repeats; vertical rules span the repeats\' min–max. ¹ marks a point from one repeat (no spread measured).',
    build: throughputVsBatchChart,
  },
  speedupVsBatch: {
    id: 'speedup-vs-batch',
    title: 'Speed-up over FP16 vs batch',
    caption: 'Decode tokens/s divided by the FP16 cell with the same model, workload and batch: the ratio of the medians, rules spanning our slowest repeat over FP16\'s fastest to our fastest over FP16\'s slowest. ¹: one repeat, no spread measured; ≈: the range is wider than the distance from 1×, so the difference is within the noise. Dashed: the paper\'s headline (different model and hardware).',
    build: speedupVsBatchChart,
  },
  throughputEqualMemory: {
    id: 'throughput-equal-memory',
    title: 'Throughput at equal memory',
    caption: 'Cells run with workloadParams.mode = memory-budget: each method runs the largest batch that fits the budget (label above each bar).',
    build: throughputEqualMemoryChart,
  },
  memoryVsBatch: {
    id: 'memory-vs-batch',
    title: 'Memory vs batch',
    caption: 'KV bytes held by the cache and the process\'s peak RSS (which includes model weights and transient restored caches). Cells that share a process (the default) carry earlier cells\' memory in their RSS; compare methods\' RSS from a run with --isolate.',
    build: memoryVsBatchChart,
  },
  memorySaving: {
    id: 'memory-saving',
    title: 'Memory saved vs FP16',
    caption: '1 − ours ÷ FP16 at the same batch. Dashed: the paper\'s −41% (different model and hardware). The RSS line compares like with like only in a run with --isolate (one process per cell).',
    build: memorySavingChart,
  },
  accuracyDelta: {
    id: 'accuracy-vs-fp16',
    title: 'Accuracy vs FP16 per task',
    caption: 'Paired per-item difference to FP16 on the same items, with its 95% confidence interval, oriented so that right of 0 is better for every metric (perplexity: FP16 − ours); one panel per metric. Tasks FP16 scores 1 or less on are left out: beyond this model (see the accuracy table).',
    build: accuracyDeltaChart,
  },
  accuracyVsPaper: {
    id: 'accuracy-vs-paper',
    title: 'Accuracy relative to FP16: ours vs the paper',
    caption: 'Score ÷ FP16 score per task, so different models compare; the paper\'s from its LongBench table.',
    build: (r) => accuracyVsPaperChart(r),
  },
  similarity: {
    id: 'layer-similarity',
    title: 'Cross-layer similarity per layer pair',
    caption: 'Mean cosine similarity between the pair\'s key (and value) vectors, over tokens, heads and sequences.',
    build: similarityChart,
  },
  similarityVsPaper: {
    id: 'similarity-vs-paper',
    title: 'Similarity by relative depth vs the paper\'s Fig. 1a',
    caption: 'x = layer ÷ layer count. Paper curves digitised from Fig. 1a (LLaMA-3-70B).',
    build: similarityVsPaperChart,
  },
  retained: {
    id: 'retained-fraction',
    title: 'Retained fraction per layer pair',
    caption: 'Fraction of vectors kept unmerged (stored in fp16 with their indices).',
    build: retainedChart,
  },
  ablation: {
    id: 'ablations',
    title: 'Ablations over t, γ and S',
    caption: 'Cells labelled ablation:<param>=<value>. Every measure is 1 for FP16 (dashed), and every axis starts at 0, so small changes look small.',
    build: ablationChart,
  },
  mergeStrategy: {
    id: 'merge-strategy',
    title: 'Mean merging vs SLERP',
    caption: 'Cells labelled merge:<strategy>, or methods mean-merge (mean) and minicache (SLERP).',
    build: mergeStrategyChart,
  },
} satisfies Record<string, ChartDef>;

/** The chart as a report block, or nothing when it has no data. */
export function chartBlock(def: ChartDef, records: readonly CellResult[]): ChartBlock[] {
  const spec = def.build(records);
  return spec ? [{ kind: 'chart', id: def.id, title: def.title, caption: def.caption, spec }] : [];
}
