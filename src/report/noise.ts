/**
 * How sure a timed figure is. Serving cells record every timed repeat (metrics.repeats); a ratio
 * to FP16 gets the range of its repeats, paired round by round when the run interleaved the
 * methods (combineRepeats: repeat i of each method ran in the same round, so a machine that
 * slowed down for a while slows both sides of the ratio). A figure from one repeat, or whose range
 * is wider than the difference it shows, is flagged wherever it is printed or drawn.
 */
import type { OkRecord } from '../results/record.js';
import { median } from '../gate/metric-catalog.js';

export interface Spread {
  /** The figure: median of the paired ratios, or of the repeats. */
  value: number;
  lo: number;
  hi: number;
  /** Repeats behind it (the fewer of the two sides for a ratio). */
  n: number;
  /** Paired round by round (interleaved repeats), rather than slowest-over-fastest bounds. */
  paired: boolean;
}

export type NoiseFlag = 'one repeat' | 'within noise';

/** What a flag means, for captions and footnotes. */
export const FLAG_TEXT: Record<NoiseFlag, string> = {
  'one repeat': 'from one timed repeat: no spread measured',
  'within noise': 'its spread over the repeats is wider than its difference from the reference',
};

function perRepeat(r: OkRecord, name: string): number[] {
  const reps = r.metrics.repeats?.[name];
  if (reps && reps.length) return reps;
  const v = r.metrics[name];
  return typeof v === 'number' && Number.isFinite(v) ? [v] : [];
}

/** The repeats of one figure: median and min–max. */
export function repeatSpread(r: OkRecord, name: string): Spread | undefined {
  const xs = perRepeat(r, name);
  if (xs.length === 0) return undefined;
  return { value: median(xs), lo: Math.min(...xs), hi: Math.max(...xs), n: xs.length, paired: false };
}

/**
 * ours ÷ reference for one figure (decode tokens/s, peak RSS). With interleaved rounds the ratios
 * of each round: their median and range. Otherwise the ratio of medians, bounded by the slowest
 * over the fastest repeat and the fastest over the slowest.
 */
export function ratioSpread(ours: OkRecord, ref: OkRecord, name: string): Spread | undefined {
  const a = perRepeat(ours, name);
  const b = perRepeat(ref, name);
  if (a.length === 0 || b.length === 0 || b.some((x) => !(x > 0))) return undefined;
  const rounds = ours.metrics.interleavedRounds;
  if (typeof rounds === 'number' && rounds > 1 && ref.metrics.interleavedRounds === rounds && a.length === b.length) {
    const r = a.map((x, i) => x / b[i]!);
    return { value: median(r), lo: Math.min(...r), hi: Math.max(...r), n: r.length, paired: true };
  }
  return { value: median(a) / median(b), lo: Math.min(...a) / Math.max(...b), hi: Math.max(...a) / Math.min(...b), n: Math.min(a.length, b.length), paired: false };
}

/** The flag of a ratio whose "no difference" is `neutral` (1 for a speed-up). */
export function ratioFlag(s: Spread, neutral = 1): NoiseFlag | undefined {
  if (s.n < 2) return 'one repeat';
  if (s.hi - s.lo > Math.abs(s.value - neutral)) return 'within noise';
  return undefined;
}

/** The flag of a figure shown on its own (no reference): only a single repeat is flagged. */
export function repeatFlag(s: Spread): NoiseFlag | undefined {
  return s.n < 2 ? 'one repeat' : undefined;
}

/** "0.81× [0.77–0.84]" (or "0.81×" for one repeat), digits as the tables print. */
export function fmtSpread(s: Spread, fmt: (x: number) => string, unit = ''): string {
  return s.n < 2 ? `${fmt(s.value)}${unit}` : `${fmt(s.value)}${unit} [${fmt(s.lo)}–${fmt(s.hi)}]`;
}

/** The mark the Markdown and HTML tables put beside a flagged figure. */
export function flagMark(flag: NoiseFlag | undefined): string {
  return flag === 'one repeat' ? ' ¹' : flag === 'within noise' ? ' ≈' : '';
}

/** The legend of the marks, for a table caption or footnote. */
export const FLAG_LEGEND = `¹ ${FLAG_TEXT['one repeat']}; ≈ ${FLAG_TEXT['within noise']}.`;
