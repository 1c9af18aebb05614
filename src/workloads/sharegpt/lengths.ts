import type { Prng } from '../../measure/prng.js';

/** Lognormal: exp(mu + sigma·Z). */
export interface Lognormal {
  mu: number;
  sigma: number;
}

/**
 * ShareGPT-like request lengths (tokens, BOS included in the prompt). The real file cannot be
 * read here, so these are not fitted to it: sigma is chosen for a realistic spread (most prompts
 * short with a long tail of pasted text; completions broader around a few hundred tokens) and mu
 * is then solved (Monte Carlo, 400k draws of this generator) so that the means *after vLLM's
 * filter* are ≈161 in / ≈338 out, the figures the vLLM paper reports for ShareGPT with the LLaMA
 * tokenizer. Medians come out ≈91 in / ≈240 out.
 */
export const SHAREGPT_LENGTHS: { prompt: Lognormal; output: Lognormal } = {
  prompt: { mu: 4.5592, sigma: 1.3 },
  output: { mu: 5.495, sigma: 0.9 },
};

/** vLLM's ShareGPT filter on (prompt, output) lengths. */
export function passesShareGptFilter(promptLen: number, outputLen: number): boolean {
  return promptLen >= 4 && outputLen >= 4 && promptLen <= 1024 && promptLen + outputLen <= 2048;
}

/** One (prompt, output) length pair, redrawn until it passes vLLM's filter. */
export function drawShareGptLengths(rng: Prng, dist = SHAREGPT_LENGTHS): { promptLen: number; outputLen: number } {
  for (;;) {
    const promptLen = Math.round(Math.exp(dist.prompt.mu + dist.prompt.sigma * rng.normal()));
    const outputLen = Math.round(Math.exp(dist.output.mu + dist.output.sigma * rng.normal()));
    if (passesShareGptFilter(promptLen, outputLen)) return { promptLen, outputLen };
  }
}
