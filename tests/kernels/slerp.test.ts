import { describe, expect, it } from 'vitest';
import { restoreRows } from '../../src/kernels/restore.js';
import { allocMergeRows, slerpMergeRows, type MergeRows } from '../../src/kernels/slerp.js';

const opts = { t: 0.6, antiparallelEps: 0.01 };

function merge1(a: number[], b: number[], t = 0.6): MergeRows {
  const out = allocMergeRows(1, a.length);
  slerpMergeRows(Float32Array.from(a), Float32Array.from(b), 1, a.length, { ...opts, t }, out);
  return out;
}

function restore1(m: MergeRows, width: number): { prev: Float32Array; cur: Float32Array } {
  const prev = new Float32Array(width);
  const cur = new Float32Array(width);
  restoreRows(m.dir, m.magPrev, m.magCur, 1, width, prev, cur);
  return { prev, cur };
}

function expectClose(actual: ArrayLike<number>, expected: number[], tol = 2e-6): void {
  expect(actual.length).toBe(expected.length);
  expected.forEach((e, i) => expect(Math.abs(actual[i]! - e), `element ${i}: ${actual[i]} vs ${e}`).toBeLessThan(tol));
}

function allFinite(m: MergeRows, width: number): boolean {
  return [...m.dir.subarray(0, width), m.magPrev[0]!, m.magCur[0]!].every(Number.isFinite);
}

describe('slerpMergeRows: spec §2.6 test vectors (t = 0.6)', () => {
  it('orthogonal unit vectors: Ω = π/2, e = (sin 0.3π, sin 0.6π·…)', () => {
    const m = merge1([1, 0], [0, 1]);
    expect(m.d[0]).toBeCloseTo(0.5, 6);
    expectClose(m.dir.subarray(0, 2), [0.587785, 0.809017]);
    const r = restore1(m, 2);
    expectClose(r.prev, [0.587785, 0.809017]);
    expectClose(r.cur, [0.587785, 0.809017]);
    expect(m.forced[0]).toBe(0);
  });

  it('(3,0,0,4) with (0,2,0,2)', () => {
    const m = merge1([3, 0, 0, 4], [0, 2, 0, 2]);
    expect(Math.acos(m.cos[0]!)).toBeCloseTo(0.969532, 5);
    expect(m.d[0]).toBeCloseTo(0.308612, 6);
    expectClose(m.dir.subarray(0, 4), [0.275155, 0.471159, 0, 0.838033]);
    const r = restore1(m, 4);
    expectClose(r.prev, [1.375776, 2.355796, 0, 4.190163], 5e-6);
    expectClose(r.cur, [0.778256, 1.332639, 0, 2.370314], 5e-6);
  });

  it('a near-parallel pair still uses SLERP (cos 0.99923 < 0.9995)', () => {
    const m = merge1([1, 2, 3, 4], [1.1, 2.1, 2.9, 4.2]);
    expect(m.d[0]).toBeCloseTo(0.012481, 5);
    expectClose(m.dir.subarray(0, 4), [0.190344, 0.370024, 0.528377, 0.740047]);
    const r = restore1(m, 4);
    expectClose(r.prev, [1.042554, 2.026703, 2.894039, 4.053406], 5e-6);
    expectClose(r.cur, [1.071179, 2.082349, 2.973499, 4.164697], 5e-6);
  });

  it('antiparallel (2,0) with (−1,0.001) is forced into retention and stays finite', () => {
    const m = merge1([2, 0], [-1, 0.001]);
    expect(m.d[0]).toBeCloseTo(0.999682, 6);
    expect(m.forced[0]).toBe(1);
    expect(allFinite(m, 2)).toBe(true);
  });
});

describe('slerpMergeRows: endpoints and degenerate rows', () => {
  const a = [0.3, -1.2, 2.5, 0.7, -0.1];
  const b = [1.1, 0.4, -0.6, 2.2, 0.9];
  const unit = (v: number[]): number[] => {
    const n = Math.hypot(...v);
    return v.map((x) => x / n);
  };

  it('t = 0 gives the shallower layer direction, t = 1 the deeper one', () => {
    expectClose(merge1(a, b, 0).dir.subarray(0, 5), unit(a));
    expectClose(merge1(a, b, 1).dir.subarray(0, 5), unit(b));
  });

  it('t = 0 and t = 1 restore their own layer exactly (to float32)', () => {
    expectClose(restore1(merge1(a, b, 0), 5).prev, a, 5e-6);
    expectClose(restore1(merge1(a, b, 1), 5).cur, b, 5e-6);
  });

  it('a zero vector restores to zero and leaves the other layer exact', () => {
    for (const [x, y] of [[[0, 0, 0, 0, 0], b], [a, [0, 0, 0, 0, 0]]] as const) {
      const m = merge1([...x], [...y]);
      expect(allFinite(m, 5)).toBe(true);
      expect(m.forced[0]).toBe(0);
      expect(Number.isNaN(m.d[0])).toBe(true);
      const r = restore1(m, 5);
      expectClose(r.prev, [...x], 5e-6);
      expectClose(r.cur, [...y], 5e-6);
    }
  });

  it('two zero vectors give a zero direction and zero restores', () => {
    const m = merge1([0, 0, 0], [0, 0, 0]);
    expect(allFinite(m, 3)).toBe(true);
    const r = restore1(m, 3);
    expect([...r.prev, ...r.cur].every((x) => x === 0)).toBe(true);
  });

  it('parallel vectors merge to their common direction, no NaN', () => {
    const m = merge1([1, 2, 3], [2, 4, 6]);
    expect(allFinite(m, 3)).toBe(true);
    expect(m.d[0]).toBeLessThan(1e-3);
    expectClose(m.dir.subarray(0, 3), unit([1, 2, 3]));
    expect(m.forced[0]).toBe(0);
  });

  it('exactly antiparallel vectors at t = 0.5 (e cancels) stay finite and are forced', () => {
    const out = allocMergeRows(1, 3);
    slerpMergeRows(Float32Array.from([1, 2, 3]), Float32Array.from([-1, -2, -3]), 1, 3, { t: 0.5, antiparallelEps: 0.01 }, out);
    expect(allFinite(out, 3)).toBe(true);
    expect(out.forced[0]).toBe(1);
    expect(out.d[0]).toBeCloseTo(1, 6);
  });

  it('non-finite input is forced and leaves finite outputs', () => {
    for (const bad of [NaN, Infinity, -Infinity]) {
      const m = merge1([1, bad, 2], [1, 1, 1]);
      expect(m.forced[0]).toBe(1);
      expect(allFinite(m, 3)).toBe(true);
    }
  });

  it('a magnitude fp16 cannot hold forces retention', () => {
    const m = merge1([70000, 0], [1, 1]);
    expect(m.forced[0]).toBe(1);
  });

  it('processes many rows independently', () => {
    const rows = 3;
    // Orthogonal, at about 72°, and parallel: three different angles.
    const prev = Float32Array.from([1, 0, 3, 1, 0, 4]);
    const cur = Float32Array.from([0, 1, 0, 2, 0, 2]);
    const out = allocMergeRows(rows, 2);
    slerpMergeRows(prev, cur, rows, 2, opts, out);
    for (let r = 0; r < rows; r++) {
      const single = merge1([...prev.subarray(2 * r, 2 * r + 2)], [...cur.subarray(2 * r, 2 * r + 2)]);
      expect([...out.dir.subarray(2 * r, 2 * r + 2)]).toEqual([...single.dir.subarray(0, 2)]);
      expect(out.magPrev[r]).toBe(single.magPrev[0]);
      expect(out.magCur[r]).toBe(single.magCur[0]);
      expect(out.d[r]).toBe(single.d[0]);
      expect(out.cos[r]).toBe(single.cos[0]);
      expect(out.forced[r]).toBe(single.forced[0]);
    }
    // The rows really differ (so equal per-row outputs are not one row's values repeated).
    expect(new Set(out.d).size).toBe(rows);
  });
});
