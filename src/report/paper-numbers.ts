/**
 * The MiniCache paper's published numbers (docs: minicache-spec.md §4), shown beside ours and
 * always labelled with the paper's model and setting, never mixed into our data.
 */

/** Our method names → the paper's row names. Only methods the paper reports appear here. */
export const PAPER_METHOD_NAMES: Readonly<Record<string, string>> = {
  fp16: 'Baseline',
  rtn: 'RTN',
  kivi2: 'KIVI-2',
  // The paper's "MiniCache" LongBench rows are 4-bit MiniCache (merging on top of KIVI-4).
  'minicache+kivi4': 'MiniCache',
};

/** LongBench task ids (as our workload names tasks) → the paper's column names. */
export const PAPER_LONGBENCH_TASKS: Readonly<Record<string, string>> = {
  lcc: 'LCC',
  'repobench-p': 'RepoBench-P',
  passage_retrieval_en: 'PR-en',
  trec: 'TREC',
  '2wikimqa': '2wikimqa',
  gov_report: 'GovReport',
  multifieldqa_zh: 'MQA-zh',
};

const TASK_ORDER = Object.keys(PAPER_LONGBENCH_TASKS);

type Row = [method: string, scores: number[], avg: number, cr: number];

/** Paper Table (LongBench), scores per task in TASK_ORDER; "Avg" as printed (not the mean of the 7). */
const LONGBENCH_ROWS: Record<string, Row[]> = {
  'Llama-2-7B-Chat': [
    ['Baseline', [58.16, 52.19, 10.12, 64.0, 31.12, 27.09, 10.12], 36.41, 1],
    ['RTN', [15.44, 8.76, 0.79, 4.0, 0.3, 1.93, 0.07], 4.9, 3.21],
    ['SmoothQuant', [35.31, 32.18, 0.79, 28.75, 7.45, 11.83, 1.68], 16.28, 2.15],
    ['KIVI-2', [49.32, 43.71, 4.5, 63.0, 24.07, 24.73, 10.24], 31.51, 3.95],
    ['MiniCache', [58.03, 52.01, 9.0, 64.0, 30.58, 25.32, 10.13], 35.44, 5.02],
  ],
  'Llama-2-13B-Chat': [
    ['Baseline', [48.06, 50.08, 14.25, 68.5, 13.09, 27.76, 7.23], 32.71, 1],
    ['RTN', [20.89, 18.62, 0.33, 0.0, 0.52, 1.68, 0.16], 6.03, 3.21],
    ['SmoothQuant', [32.17, 33.86, 2.65, 48.0, 3.53, 12.47, 0.47], 19.16, 2.15],
    ['KIVI-2', [48.6, 48.81, 13.5, 68.0, 14.32, 25.7, 7.01], 32.42, 3.95],
    ['MiniCache', [48.75, 48.59, 13.0, 68.0, 14.36, 26.57, 7.99], 32.61, 5.02],
  ],
  'Mistral-7B': [
    ['Baseline', [68.06, 60.46, 17.71, 68.0, 10.87, 20.09, 17.1], 37.33, 1],
    ['RTN', [27.98, 26.18, 3.34, 13.0, 1.11, 2.49, 0.45], 10.51, 3.21],
    ['SmoothQuant', [40.63, 35.14, 3.4, 30.5, 6.03, 5.0, 4.12], 17.55, 2.15],
    ['KIVI-2', [65.16, 58.33, 12.43, 65.0, 11.03, 13.22, 13.87], 33.43, 3.95],
    ['MiniCache', [68.89, 60.98, 13.92, 67.0, 10.5, 18.06, 7.88], 35.75, 5.02],
  ],
  'Mistral-7B-Instruct': [
    ['Baseline', [55.51, 48.96, 60.0, 71.0, 27.33, 32.85, 42.74], 48.32, 1],
    ['RTN', [32.36, 33.23, 0.67, 1.0, 2.25, 10.03, 2.3], 11.55, 3.21],
    ['SmoothQuant', [43.84, 38.63, 4.79, 39.5, 10.34, 23.61, 8.33], 24.43, 2.15],
    ['KIVI-2', [53.13, 48.6, 47.5, 69.0, 20.68, 29.37, 33.88], 43.74, 3.95],
    ['MiniCache', [54.79, 51.02, 64.14, 71.0, 24.97, 31.46, 27.54], 46.99, 5.02],
  ],
};

export const PAPER_LONGBENCH_MODELS = Object.keys(LONGBENCH_ROWS);
/** The paper model our numbers are compared with unless a report asks for another. */
export const DEFAULT_PAPER_MODEL = 'Llama-2-7B-Chat';

export interface PaperTaskScore {
  paperModel: string;
  paperMethod: string;
  /** Our task id (e.g. passage_retrieval_en). */
  task: string;
  score: number;
}

export function paperLongBench(paperModel = DEFAULT_PAPER_MODEL): PaperTaskScore[] {
  const rows = LONGBENCH_ROWS[paperModel] ?? [];
  return rows.flatMap(([paperMethod, scores]) => scores.map((score, i) => ({ paperModel, paperMethod, task: TASK_ORDER[i]!, score })));
}

export function paperLongBenchAverage(paperModel: string, paperMethod: string): number | undefined {
  return LONGBENCH_ROWS[paperModel]?.find((r) => r[0] === paperMethod)?.[2];
}

/** Compression ratios the paper reports, by our method name, with where they come from. */
export const PAPER_COMPRESSION: Readonly<Record<string, { ratio: number; source: string }>> = {
  fp16: { ratio: 1, source: 'LongBench table, LLaMA-2-7B-Chat' },
  rtn: { ratio: 3.21, source: 'LongBench table, LLaMA-2-7B-Chat' },
  kivi2: { ratio: 3.95, source: 'LongBench table, LLaMA-2-7B-Chat' },
  minicache: { ratio: 1.53, source: 'abstract: cross-layer merging alone, LLaMA-2-7B' },
  'minicache+kivi4': { ratio: 5.02, source: 'LongBench table / abstract: 4-bit MiniCache, LLaMA-2-7B' },
};

/** Fig. 5 headline (LLaMA-2-7B, one A100-80GB, ShareGPT, 4-bit MiniCache vs FP16). */
export const PAPER_SERVING = {
  model: 'LLaMA-2-7B',
  setting: 'A100-80GB, ShareGPT batch serving',
  method: 'minicache+kivi4',
  throughputSpeedup: 5,
  memoryReduction: 0.41,
} as const;

/** Fig. 1a, digitised: cosine similarity of adjacent layers' KV, LLaMA-3-70B (80 layers), x = layer index / 2. */
export const PAPER_FIG1A = {
  model: 'LLaMA-3-70B',
  layers: 80,
  series: {
    COQA: [[0, 0.32], [2, 0.65], [8, 0.78], [15, 0.78], [17, 0.8], [24, 0.86], [32, 0.86], [40, 0.88]],
    GSM8K: [[0, 0.22], [1, 0.3], [5, 0.35], [9, 0.55], [13, 0.55], [16, 0.8], [18, 0.84], [24, 0.88], [32, 0.83], [40, 0.86]],
    TruthfulQA: [[0, 0.24], [2, 0.5], [8, 0.62], [13, 0.62], [16, 0.8], [20, 0.87], [22, 0.87], [24, 0.76], [25, 0.76], [32, 0.85], [40, 0.88]],
  } as Record<string, [number, number][]>,
};

/** Fig. 1b, digitised: GSM8K EM vs number of layers merged, LLaMA-3-70B; SLERP (MiniCache) vs mean merging. */
export const PAPER_FIG1B = {
  model: 'LLaMA-3-70B',
  task: 'GSM8K (EM)',
  baseline: 0.805,
  layersMerged: [5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55, 60, 65, 70, 75, 80],
  slerp: [0.8, 0.801, 0.792, 0.815, 0.801, 0.812, 0.799, 0.81, 0.79, 0.725, 0.639, 0.639, 0.625, 0.635, 0.623, 0.615],
  mean: [0.73, 0.641, 0.579, 0.545, 0.56, 0.545, 0.555, 0.557, 0.551, 0.539, 0.541, 0.501, 0.497, 0.511, 0.498, 0.493],
};
