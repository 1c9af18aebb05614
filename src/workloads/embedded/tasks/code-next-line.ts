import type { Prng } from '../../../measure/prng.js';
import type { LongBenchRecord } from '../../longbench/record.js';
import type { HeldoutDoc } from '../heldout.js';
import { longBenchRecord } from '../record-builder.js';
import { isCodeSimLine } from '../text-units.js';

export interface CodeNextLineOptions {
  items: number;
  /** Context before the line, in characters (drawn uniformly per item). */
  minContextChars?: number;
  maxContextChars?: number;
  /** Shortest answer line (non-blank characters). */
  minLineChars?: number;
}

/**
 * lcc-style items: the code before a line of a held-out source file is the context, the line is
 * the answer (indentation kept, trailing whitespace dropped). Answer lines are ones code_sim would
 * accept as a prediction (no ` # //), at least a few characters long; at most a few per file and
 * never two within 20 lines of each other.
 */
export function makeCodeNextLine(code: readonly HeldoutDoc[], rng: Prng, ids: Prng, opts: CodeNextLineOptions, dataset = 'lcc_heldout'): LongBenchRecord[] {
  const minCtx = opts.minContextChars ?? 1200;
  const maxCtx = opts.maxContextChars ?? 4500;
  const minLine = opts.minLineChars ?? 6;
  const files = code.map((d) => d.text.replace(/\r\n?/g, '\n').split('\n'));
  const candidates: [number, number][] = [];
  files.forEach((lines, f) => {
    let before = 0;
    lines.forEach((line, i) => {
      if (before >= minCtx && isCodeSimLine(line) && line.trim().length >= minLine) candidates.push([f, i]);
      before += line.length + 1;
    });
  });
  rng.shuffle(candidates);
  const perFileCap = Math.max(1, Math.ceil((2 * opts.items) / Math.max(1, files.length)));
  const taken = new Map<number, number[]>();
  const out: LongBenchRecord[] = [];
  for (const [f, i] of candidates) {
    if (out.length === opts.items) break;
    const used = taken.get(f) ?? [];
    if (used.length >= perFileCap || used.some((j) => Math.abs(j - i) < 20)) continue;
    const lines = files[f]!;
    const target = minCtx + rng.int(maxCtx - minCtx + 1);
    let start = i;
    let chars = 0;
    while (start > 0 && chars + lines[start - 1]!.length + 1 <= target) chars += lines[--start]!.length + 1;
    if (chars < minCtx) continue; // a single very long line before: skip rather than exceed the budget
    used.push(i);
    taken.set(f, used);
    out.push(
      longBenchRecord({ dataset, input: '', context: lines.slice(start, i).join('\n') + '\n', answers: [lines[i]!.trimEnd()], language: 'python' }, ids),
    );
  }
  if (out.length < opts.items) throw new Error(`${dataset}: only ${out.length} of ${opts.items} items could be made from the held-out code`);
  return out;
}
