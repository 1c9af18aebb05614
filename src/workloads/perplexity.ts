/**
 * Perplexity from the engine's teacher-forced negative log-likelihoods ({sum, count} per document,
 * natural log). The task value is token-weighted over documents, exp(Σ sum / Σ count), so long
 * documents count by their tokens; per-document values are kept for paired comparisons.
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
