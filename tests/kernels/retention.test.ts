import { describe, expect, it } from 'vitest';
import { retainsDecode, selectRetained, type RetentionRule } from '../../src/kernels/retention.js';

// d of the spec §2.6 rows; the last one (antiparallel) is forced.
const d = Float32Array.from([0.5, 0.308612, 0.012481, 0.999682]);
const forced = Uint8Array.from([0, 0, 0, 1]);

function select(rule: Partial<RetentionRule>, dd = d, ff = forced): { idx: number[]; tau: number } {
  const out = new Int32Array(dd.length);
  const r = selectRetained(dd, 0, dd.length, ff, 0, { mode: 'distinctBand', gamma: 0.05, ratio: 0.05, ...rule }, out);
  return { idx: [...out.subarray(0, r.count)], tau: r.tau };
}

describe('selectRetained', () => {
  it('distinctBand keeps the top γ band of the distance range (here only the antiparallel row)', () => {
    const { idx, tau } = select({ mode: 'distinctBand' });
    expect(idx).toEqual([3]);
    expect(tau).toBeCloseTo(0.999682 - 0.05 * (0.999682 - 0.012481), 6);
  });

  it('literalLow keeps the most similar band, plus forced rows', () => {
    const { idx, tau } = select({ mode: 'literalLow' });
    expect(idx).toEqual([2, 3]);
    expect(tau).toBeCloseTo(0.012481 + 0.05 * (0.999682 - 0.012481), 6);
  });

  it('topRatio keeps ceil(ρ·n) most distant, ascending indices', () => {
    expect(select({ mode: 'topRatio', ratio: 0.5 }).idx).toEqual([0, 3]);
    expect(select({ mode: 'topRatio', ratio: 0.26 }).idx).toEqual([0, 3]);
    expect(select({ mode: 'topRatio', ratio: 0.25 }).idx).toEqual([3]);
    expect(select({ mode: 'topRatio', ratio: 0 }).idx).toEqual([3]);
  });

  it('topRatio breaks ties by index and keeps exactly k', () => {
    const dd = Float32Array.from([0.2, 0.4, 0.4, 0.4, 0.1]);
    const { idx, tau } = select({ mode: 'topRatio', ratio: 0.4 }, dd, new Uint8Array(5));
    expect(idx).toEqual([1, 2]);
    expect(tau).toBeCloseTo(0.4, 6);
  });

  it('γ = 1 keeps every defined token, γ = 0 only the extreme ones', () => {
    const free = new Uint8Array(4);
    expect(select({ gamma: 1 }, d, free).idx).toEqual([0, 1, 2, 3]);
    expect(select({ gamma: 0 }, d, free).idx).toEqual([3]);
    expect(select({ gamma: 0, mode: 'literalLow' }, d, free).idx).toEqual([2]);
  });

  it('equal distances (or one token) retain nothing unless forced; tau = d_min', () => {
    const dd = Float32Array.from([0.3, 0.3, 0.3]);
    const r = select({}, dd, new Uint8Array(3));
    expect(r.idx).toEqual([]);
    expect(r.tau).toBeCloseTo(0.3, 6);
    expect(select({}, dd, Uint8Array.from([0, 1, 0])).idx).toEqual([1]);
  });

  it('undefined angles (NaN) never count in the range and are kept only when forced', () => {
    const dd = Float32Array.from([NaN, 0.1, 0.9, NaN]);
    const r = select({}, dd, Uint8Array.from([0, 0, 0, 1]));
    expect(r.idx).toEqual([2, 3]);
    expect(r.tau).toBeCloseTo(0.9 - 0.05 * 0.8, 6);
    const none = select({}, Float32Array.from([NaN, NaN]), new Uint8Array(2));
    expect(none.idx).toEqual([]);
    expect(Number.isNaN(none.tau)).toBe(true);
  });

  it('works on a scope inside larger arrays (offsets)', () => {
    const dd = Float32Array.from([9, 9, 0.1, 0.5, 0.2, 9]);
    const ff = Uint8Array.from([1, 1, 0, 0, 0, 1]);
    const out = new Int32Array(3);
    const r = selectRetained(dd, 2, 3, ff, 2, { mode: 'distinctBand', gamma: 0.05, ratio: 0 }, out);
    expect([...out.subarray(0, r.count)]).toEqual([1]);
  });

  it('decode rule: distinct modes retain d above tau, literalLow below; NaN tau never', () => {
    expect(retainsDecode('distinctBand', 0.5, 0.6)).toBe(true);
    expect(retainsDecode('distinctBand', 0.5, 0.5)).toBe(false);
    expect(retainsDecode('topRatio', 0.5, 0.7)).toBe(true);
    expect(retainsDecode('literalLow', 0.5, 0.4)).toBe(true);
    expect(retainsDecode('literalLow', 0.5, 0.6)).toBe(false);
    expect(retainsDecode('distinctBand', NaN, 0.9)).toBe(false);
  });
});
