/**
 * How sure a timed figure is. Serving cells record every timed repeat (metrics.repeats); a ratio
 * to FP16 is the ratio of the medians, with the range from the slowest of ours over the fastest
 * of FP16's to the fastest over the slowest. That range is wide on purpose: on a shared machine
 * the load changes within seconds, so even repeats run in the same round (interleaved) cannot be
 * paired, and npm start run twice gave per-round ratios of 0.45–0.79 and 0.84–1.0 for one cell.
 * A figure from one repeat, or whose range is wider than the difference it shows, is flagged
 * wherever it is printed or drawn.
 */
import type { OkRecord } from '../results/record.js';
import { median } from '../gate/metric-catalog.js';

export interface Spread {
  /** The figure: the median of the repeats, or the ratio of the two medians. */
  value: number;
  lo: number;
  hi: number;
  /** Repeats behind it (the fewer of the two sides for a ratio). */
  n: number;
  /** Both sides' repeats ran in rounds, the methods taking turns (metrics.interleavedRounds). */
  interleaved: boolean;
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
  return { value: median(xs), lo: Math.min(...xs), hi: Math.max(...xs), n: xs.length, interleaved: Number(r.metrics.interleavedRounds) > 1 };
}

/** ours ÷ reference for one figure (decode tokens/s, peak RSS): ratio of medians, slowest-over-fastest to fastest-over-slowest. */
export function ratioSpread(ours: OkRecord, ref: OkRecord, name: string): Spread | undefined {
  const a = perRepeat(ours, name);
  const b = perRepeat(ref, name);
  if (a.length === 0 || b.length === 0 || b.some((x) => !(x > 0))) return undefined;
  const interleaved = Number(ours.metrics.interleavedRounds) > 1 && ours.metrics.interleavedRounds === ref.metrics.interleavedRounds;
  return { value: median(a) / median(b), lo: Math.min(...a) / Math.max(...b), hi: Math.max(...a) / Math.min(...b), n: Math.min(a.length, b.length), interleaved };
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
