import { createPrng } from '../../measure/prng.js';
import type { LongBenchRecord } from '../longbench/record.js';
import type { HeldoutDoc } from './heldout.js';
import { SOURCE_LABELS } from './specs.js';
import { makeCodeNextLine } from './tasks/code-next-line.js';
import { makeLongDocuments } from './tasks/long-documents.js';
import { makePassageCount } from './tasks/passage-count.js';
import { makePassageRetrieval } from './tasks/passage-retrieval.js';
import { makeSourceClassification } from './tasks/source-classification.js';
import { passagesOf } from './text-units.js';

export interface EmbeddedTaskSetOptions {
  seed: number | string;
  /** Items per generation task (default 50) and long documents (default 20). */
  items?: number;
  documents?: number;
  labels?: Readonly<Record<string, string>>;
}

/**
 * The embedded LongBench-format task set, made from held-out prose and code only:
 * 1. cut prose into passages (sentence groups) at three sizes;
 * 2. make each task from its own PRNG stream (seed/task), so adding a task leaves the others unchanged;
 * 3. return records per task name, in the official LongBench record shape.
 */
export function buildEmbeddedTaskSet(prose: readonly HeldoutDoc[], code: readonly HeldoutDoc[], opts: EmbeddedTaskSetOptions): Record<string, LongBenchRecord[]> {
  const items = opts.items ?? 50;
  const root = createPrng(opts.seed);
  const streams = (task: string) => [root.fork(task), root.fork(`${task}/ids`)] as const;
  const retrievalPassages = passagesOf(prose, { minWords: 30, maxWords: 70 });
  const countPassages = passagesOf(prose, { minWords: 20, maxWords: 50 });
  const shortPassages = passagesOf(prose, { minWords: 15, maxWords: 45 });
  const docs = [...prose.map((d) => ({ ...d, kind: 'prose' as const })), ...code.map((d) => ({ ...d, kind: 'code' as const }))];
  return {
    lcc_heldout: makeCodeNextLine(code, ...streams('lcc_heldout'), { items }),
    passage_retrieval_heldout: makePassageRetrieval(retrievalPassages, ...streams('passage_retrieval_heldout'), { items }),
    passage_count_heldout: makePassageCount(countPassages, ...streams('passage_count_heldout'), { items }),
    source_classification_heldout: makeSourceClassification(shortPassages, ...streams('source_classification_heldout'), { items, labels: opts.labels ?? SOURCE_LABELS }),
    longdoc_ppl_heldout: makeLongDocuments(docs, ...streams('longdoc_ppl_heldout'), { items: opts.documents ?? 20 }),
  };
}
