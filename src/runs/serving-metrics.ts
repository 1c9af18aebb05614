import type { GenerateResult } from '../engine/generate.js';
import type { LatencyStats } from '../results/record.js';

/** Percentile p in [0, 100] with linear interpolation (numpy's default, as vLLM's benchmarks report); NaN for no values. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const h = ((s.length - 1) * p) / 100;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, s.length - 1);
  return s[lo]! + (h - lo) * (s[hi]! - s[lo]!);
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const h = s.length >> 1;
  return s.length % 2 ? s[h]! : (s[h - 1]! + s[h]!) / 2;
}

export function latencyStats(values: readonly number[]): LatencyStats {
  const mean = values.reduce((a, b) => a + b, 0) / Math.max(1, values.length);
  return { mean, median: median(values), p90: percentile(values, 90), p99: percentile(values, 99) };
}

/**
 * vLLM's definitions, per request of a static batch (all requests arrive at t = 0):
 * TTFT = time to its first token; E2E = time to its last; TPOT = (E2E − TTFT)/(tokens − 1);
 * ITL = every gap between consecutive tokens of a request. Throughputs over the batch's duration
 * (first request in to last token out): requests/s, output tokens/s, and total (prompt + output)
 * tokens/s as benchmark_throughput reports; decode tokens/s counts tokens after the first over
 * the decode steps' time only, prefill tokens/s the prompt tokens over the prefill.
 */
export function servingMetrics(r: GenerateResult) {
  const ttft: number[] = [];
  const e2e: number[] = [];
  const tpot: number[] = [];
  const itl: number[] = [];
  let decodeTokens = 0;
  let promptTokens = 0;
  r.tokenTimesMs.forEach((times, b) => {
    promptTokens += r.promptTokens[b]!;
    if (times.length === 0) return;
    ttft.push(times[0]!);
    e2e.push(times[times.length - 1]!);
    if (times.length > 1) tpot.push((times[times.length - 1]! - times[0]!) / (times.length - 1));
    for (let i = 1; i < times.length; i++) itl.push(times[i]! - times[i - 1]!);
    decodeTokens += Math.max(0, times.length - 1);
  });
  const decodeMs = r.stepMs.reduce((a, b) => a + b, 0);
  const totalMs = Math.max(...e2e, r.prefillMs);
  return {
    ttft: latencyStats(ttft),
    e2e: latencyStats(e2e),
    tpot: latencyStats(tpot),
    itl: latencyStats(itl),
    decodeTokensPerSecond: decodeMs > 0 ? (decodeTokens / decodeMs) * 1000 : 0,
    prefillTokensPerSecond: r.prefillMs > 0 ? (promptTokens / r.prefillMs) * 1000 : 0,
    requestsPerSecond: totalMs > 0 ? (r.tokenTimesMs.length / totalMs) * 1000 : 0,
    outputTokensPerSecond: totalMs > 0 ? ((decodeTokens + ttft.length) / totalMs) * 1000 : 0,
    totalTokensPerSecond: totalMs > 0 ? ((promptTokens + decodeTokens + ttft.length) / totalMs) * 1000 : 0,
    cacheOpMsPerStep: median(r.cacheMs.slice(1)),
    modelMsPerStep: median(r.modelMs),
  };
}
