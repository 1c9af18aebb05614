import type { Prng } from '../../../measure/prng.js';
import type { LongBenchRecord } from '../../longbench/record.js';
import type { HeldoutDoc } from '../heldout.js';
import { longBenchRecord } from '../record-builder.js';

export interface LongDocumentOptions {
  items: number;
  /** Window length in characters, drawn per item (≈ 3.5–4 characters per token for English BPE). */
  minChars?: number;
  maxChars?: number;
}

/** Index of the boundary nearest after `i`: a line start within `reach` characters, else a word start. */
function boundaryAfter(text: string, i: number, reach = 500): number {
  if (i <= 0) return 0;
  if (i >= text.length) return text.length;
  const nl = text.indexOf('\n', i - 1);
  if (nl >= 0 && nl - i < reach) return nl + 1;
  const m = /\s/u.exec(text.slice(i, i + reach));
  return m ? i + m.index + 1 : i;
}

/**
 * Long held-out documents for perplexity: a window of one document, a few thousand tokens long,
 * starting and ending at line starts (or word starts in documents with few line breaks). Context = the window; no question, no answers. One window per
 * document at most, documents drawn without replacement (long enough ones only).
 */
export function makeLongDocuments(docs: readonly (HeldoutDoc & { kind: 'prose' | 'code' })[], rng: Prng, ids: Prng, opts: LongDocumentOptions, dataset = 'longdoc_ppl_heldout'): LongBenchRecord[] {
  const minChars = opts.minChars ?? 8000;
  const maxChars = opts.maxChars ?? 12000;
  const eligible = docs.filter((d) => d.text.length >= minChars);
  if (eligible.length < opts.items) throw new Error(`${dataset}: only ${eligible.length} held-out documents have ${minChars}+ characters, ${opts.items} needed`);
  rng.shuffle(eligible);
  return eligible.slice(0, opts.items).map((d) => {
    const target = Math.min(d.text.length, minChars + rng.int(maxChars - minChars + 1));
    const start = boundaryAfter(d.text, rng.int(d.text.length - target + 1));
    const end = boundaryAfter(d.text, start + target);
    return longBenchRecord({ dataset, input: '', context: d.text.slice(start, end), answers: [], language: d.kind === 'code' ? 'python' : 'en' }, ids);
  });
}
