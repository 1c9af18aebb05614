import type { Tokenizer } from '../engine/backend.js';
import { seededRandom } from '../engine/sampler.js';

/** Texts of a jsonl file whose lines carry a "text" field (the model's held-out split). */
export function textsFromJsonl(content: string | undefined): string[] {
  if (!content) return [];
  return content
    .split('\n')
    .filter((l) => l.trim())
    // Held-out text is {text}; a LongBench-format record ({context}) gives its document.
    .map((l) => {
      const r = JSON.parse(l) as { text?: unknown; context?: unknown };
      return r.text ?? r.context;
    })
    .filter((t): t is string => typeof t === 'string' && t.length > 0);
}

/**
 * `count` prompts of exactly `len` tokens (BOS included), cut from held-out text at seeded
 * offsets; with no text, seeded random non-special token ids (still a valid workload for
 * throughput, never for accuracy).
 */
export function fixedLengthPrompts(tok: Tokenizer, texts: string[], count: number, len: number, seed: number, bos: number): number[][] {
  const rand = seededRandom(seed ^ 0x5eed);
  const pool: number[] = [];
  for (const t of texts) {
    if (pool.length > count * len * 4 + 100_000) break;
    pool.push(...tok.encode(t));
  }
  const out: number[][] = [];
  for (let i = 0; i < count; i++) {
    const body: number[] = [];
    if (pool.length > len) {
      const start = Math.floor(rand() * (pool.length - len));
      body.push(...pool.slice(start, start + len - 1));
    } else {
      for (let j = 0; j < len - 1; j++) body.push(3 + Math.floor(rand() * (tok.vocabSize - 3)));
    }
    out.push([bos, ...body]);
  }
  return out;
}
