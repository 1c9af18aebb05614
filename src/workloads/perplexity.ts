import { bootstrapCi, type BootstrapOptions, type Interval } from '../measure/bootstrap.js';

/**
 * Perplexity from the engine's teacher-forced negative log-likelihoods ({sum, count} per document,
 * natural log). The headline is token-weighted over the corpus, exp(Σ sum / Σ count), as
 * lm-evaluation-harness and Hugging Face report it, so long documents count by their tokens; the
 * mean of per-document perplexities is kept as a secondary figure.
 */
export interface Nll {
  sum: number;
  count: number;
}

export function perplexity(nll: Nll): number {
  if (nll.count <= 0) throw new Error('perplexity of no scored tokens');
  return Math.exp(nll.sum / nll.count);
}

export function corpusPerplexity(docs: readonly Nll[]): number {
  let sum = 0;
  let count = 0;
  for (const d of docs) {
    sum += d.sum;
    count += d.count;
  }
  return perplexity({ sum, count });
}

/**
 * Paired bootstrap of corpusPerplexity(method) − corpusPerplexity(baseline) over documents: the
 * same documents are drawn for both, so document difficulty cancels.
 */
export function pairedCorpusPerplexityDiff(method: readonly Nll[], baseline: readonly Nll[], opts: BootstrapOptions): Interval {
  if (method.length !== baseline.length) throw new Error(`paired bootstrap: ${method.length} documents but ${baseline.length} baseline documents`);
  const index = method.map((_, i) => i);
  return bootstrapCi(index, (idx) => corpusPerplexity(idx.map((i) => method[i]!)) - corpusPerplexity(idx.map((i) => baseline[i]!)), opts);
}
