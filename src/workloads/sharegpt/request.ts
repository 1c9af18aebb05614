/** One serving request: what to feed and how many tokens to generate. */
export interface ServingRequest {
  id: string;
  prompt: string;
  /** Prompt tokens as vLLM counts them (BOS included). */
  promptLen: number;
  outputLen: number;
  /** Generate exactly outputLen tokens, ignoring EOS (vLLM throughput, KIVI protocol). */
  ignoreEos: boolean;
  /** Exact prompt ids to feed (BOS included), where the generator chose tokens rather than text. */
  promptIds?: number[];
}
